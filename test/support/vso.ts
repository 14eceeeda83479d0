// HashiCorp VSO itself (the v1.5.0 binary `make deps` built with
// scripts/build-vso.sh), run out of cluster as a process beside an API server
// of a test's own (VSO's CRDs and ours share a group), for the switch tests.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { applyCRDs } from "../../src/dev/crds.ts";
import { down, up } from "../../src/dev/environment.ts";
import { cacheDir } from "../../src/dev/paths.ts";
import { CORE, KubeClient } from "../../src/kube/client.ts";
import { freePort } from "../../src/util/net.ts";
import { VaultHttp } from "../../src/vault/http.ts";
import type { TestEnv } from "./env.ts";

export const VSO_VERSION = "v1.5.0";

/** The VSO build `make deps` (scripts/build-vso.sh) left in the cache. */
export function vsoBuild(): string {
  const dir = join(cacheDir(), `vso-${VSO_VERSION}`);
  if (!existsSync(join(dir, "bin", "manager")))
    throw new Error(`VSO ${VSO_VERSION} is not built in ${dir}: run \`make deps\` (scripts/build-vso.sh)`);
  return dir;
}

/** An environment of the test's own (API server, OpenBao, PostgreSQL) with VSO's CRDs applied, and namespace `ns`. */
export async function vsoEnvironment(t: TestContext, ns: string): Promise<TestEnv> {
  const crds = join(vsoBuild(), "crds");
  const dir = mkdtempSync(join(cacheDir(), "migration-"));
  t.after(() => down(dir).then(() => {}));
  const state = await up({ dir });
  const env: TestEnv = {
    state,
    kube: await KubeClient.load(state.kubeconfig),
    vault: new VaultHttp({ address: state.vault.address }),
    rootToken: state.vault.token,
  };
  await applyCRDs(env.kube, crds);
  await env.kube.create(CORE.namespaces, undefined, { metadata: { name: ns } });
  return env;
}

/** VSO's CRDs, for a switch back to VSO (vso-ts's are VSO's plus optional fields of ours). */
export async function applyVsoCRDs(env: TestEnv): Promise<void> {
  await applyCRDs(env.kube, join(vsoBuild(), "crds"));
}

/** VSO's manager for operator namespace `ns`, without leader election; its log is dropped unless VSO_TEST_OPERATOR_LOG is set. */
export async function spawnVso(env: TestEnv, ns: string, extraArgs: string[] = []): Promise<ChildProcess> {
  return spawn(
    join(vsoBuild(), "bin", "manager"),
    [
      "--leader-elect=false",
      `--metrics-bind-address=127.0.0.1:${await freePort()}`,
      `--health-probe-bind-address=127.0.0.1:${await freePort()}`,
      ...extraArgs,
    ],
    {
      env: { ...process.env, KUBECONFIG: env.state.kubeconfig, OPERATOR_NAMESPACE: ns },
      stdio: process.env.VSO_TEST_OPERATOR_LOG ? ["ignore", "inherit", "inherit"] : "ignore",
    },
  );
}

/** SIGTERM, as a Pod's stop does, and wait for the exit. */
export function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    child.once("exit", () => r());
    child.kill("SIGTERM");
  });
}

/** A Deployment's generation: each rollout restart bumps it by one. */
export async function generation(env: TestEnv, ns: string, name: string): Promise<number> {
  const d = (await env.kube.get(CORE.deployments, ns, name)) as { metadata: { generation?: number } };
  return d.metadata.generation ?? 0;
}
