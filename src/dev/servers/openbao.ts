// OpenBao in dev mode: in-memory storage, unsealed, KV v2 at secret/.
import { request } from "undici";
import { freePort } from "../../util/net.ts";
import { startDaemon, type TrackedProcess } from "../processes.ts";
import { waitHealthy } from "../wait.ts";

export interface OpenBaoInfo {
  address: string;
  process: TrackedProcess;
}

export async function startOpenBao(
  stateDir: string,
  binary: string,
  rootToken: string,
  /** Listen on every address of the (isolated) network namespace, so Pods reach it too. */
  listenAll = false,
): Promise<OpenBaoInfo> {
  const port = await freePort();
  const address = `http://127.0.0.1:${port}`;
  const env = { ...process.env };
  // The dev server must not pick up a caller's Vault/OpenBao settings.
  for (const k of Object.keys(env)) if (k.startsWith("VAULT_") || k.startsWith("BAO_")) delete env[k];
  const proc = startDaemon(stateDir, {
    name: "openbao",
    command: binary,
    args: [
      "server",
      "-dev",
      `-dev-root-token-id=${rootToken}`,
      `-dev-listen-address=${listenAll ? "0.0.0.0" : "127.0.0.1"}:${port}`,
      "-dev-no-store-token",
    ],
    env,
  });
  await waitHealthy(
    "OpenBao",
    proc,
    async () => {
      const res = await request(`${address}/v1/sys/health`);
      await res.body.text();
      return res.statusCode === 200;
    },
    30_000,
  );
  return { address, process: proc };
}
