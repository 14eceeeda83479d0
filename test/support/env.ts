// Access to the shared end-to-end environment started by scripts/run-tests.ts
// (or by `vso dev up --dir DIR` with VSO_TEST_ENV_DIR=DIR for a manual run).
// Each test gets its own Kubernetes namespace and Vault path prefix.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { promisify } from "node:util";
import { type DevState, readState } from "../../src/dev/environment.ts";
import { CORE, KubeClient } from "../../src/kube/client.ts";
import { VaultHttp } from "../../src/vault/http.ts";

const execFileP = promisify(execFile);

export interface TestEnv {
  state: DevState;
  kube: KubeClient;
  vault: VaultHttp;
  rootToken: string;
}

let cached: Promise<TestEnv> | undefined;

export function testEnv(): Promise<TestEnv> {
  cached ??= (async () => {
    const dir = process.env.VSO_TEST_ENV_DIR;
    if (!dir) {
      throw new Error(
        "end-to-end tests need the shared environment: run them with `make test` or `node scripts/run-tests.ts FILE`, " +
          "or start one with `bin/vso dev up --dir DIR` and set VSO_TEST_ENV_DIR=DIR",
      );
    }
    const state = readState(dir);
    const kube = await KubeClient.load(state.kubeconfig);
    const vault = new VaultHttp({ address: state.vault.address });
    return { state, kube, vault, rootToken: state.vault.token };
  })();
  return cached;
}

export function uniqueName(prefix = "t"): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

/** Creates a namespace for one test and deletes it when the test ends. */
export async function isolatedNamespace(t: TestContext, env: TestEnv, prefix = "t"): Promise<string> {
  const name = uniqueName(prefix);
  await env.kube.create(CORE.namespaces, undefined, {
    metadata: { name, labels: { "vso-ts.test": "true" } },
  });
  t.after(async () => {
    await env.kube.delete(CORE.namespaces, undefined, name).catch(() => {});
  });
  return name;
}

/** Tries to log in to the environment's PostgreSQL over TCP with a password and run one query. */
export async function pgQuery(
  env: TestEnv,
  user: string,
  password: string,
  sql = "SELECT version()",
): Promise<{ ok: true; output: string } | { ok: false; error: string }> {
  try {
    const { stdout } = await execFileP(
      join(env.state.postgres.binDir, "psql"),
      ["-X", "-A", "-t", "-w", "-v", "ON_ERROR_STOP=1", "-c", sql],
      {
        env: {
          PATH: process.env.PATH,
          PGHOST: env.state.postgres.host,
          PGPORT: String(env.state.postgres.port),
          PGDATABASE: env.state.postgres.database,
          PGUSER: user,
          PGPASSWORD: password,
          PGCONNECT_TIMEOUT: "5",
        },
      },
    );
    return { ok: true, output: stdout.trim() };
  } catch (err) {
    return { ok: false, error: (err as { stderr?: string }).stderr ?? String(err) };
  }
}

export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(
    `timed out after ${timeoutMs}ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`,
  );
}
