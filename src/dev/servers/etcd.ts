// etcd for the local control plane, started the way envtest starts it.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { request } from "undici";
import { freePort } from "../../util/net.ts";
import { startDaemon, type TrackedProcess } from "../processes.ts";
import { waitHealthy } from "../wait.ts";

export interface EtcdInfo {
  url: string;
  process: TrackedProcess;
}

export async function startEtcd(stateDir: string, binary: string): Promise<EtcdInfo> {
  const clientPort = await freePort();
  const peerPort = await freePort();
  const dataDir = join(stateDir, "etcd");
  mkdirSync(dataDir, { recursive: true });
  const url = `http://127.0.0.1:${clientPort}`;
  const proc = startDaemon(stateDir, {
    name: "etcd",
    command: binary,
    args: [
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
      "--unsafe-no-fsync=true",
      "--log-level=warn",
    ],
  });
  await waitHealthy(
    "etcd",
    proc,
    async () => {
      const res = await request(`${url}/health`);
      const body = (await res.body.json()) as { health?: string };
      return res.statusCode === 200 && body.health === "true";
    },
    30_000,
  );
  return { url, process: proc };
}
