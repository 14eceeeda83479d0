// Switching a namespace from HashiCorp VSO (the real v1.5.0 binary, built by
// `make deps`) to vso-ts, without client-cache persistence (issue 21): the
// dynamic secret's lease is a child of VSO's Vault token, which nobody renews
// once VSO stops. An app logs in to PostgreSQL with the Secret every second
// through the switch and past that token's end: no login may fail beyond what
// a rotation takes, the target restarts at most once, and one lease is left.
// VSO's CRDs and ours share a group, so this runs on an API server of its own.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { applyCRDs } from "../../src/dev/crds.ts";
import { down, up } from "../../src/dev/environment.ts";
import { cacheDir } from "../../src/dev/paths.ts";
import { CORE, KubeClient } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { freePort } from "../../src/util/net.ts";
import { VaultHttp } from "../../src/vault/http.ts";
import { dbSetup, leaseCount, spawnOperator, vds } from "../support/db.ts";
import { eventually, pgQuery, type TestEnv } from "../support/env.ts";
import { loginProbe } from "../support/login-probe.ts";
import { decoded, getStatus, waitForSecret } from "../support/operator.ts";

const VSO_VERSION = "v1.5.0";

/** The VSO build `make deps` (scripts/build-vso.sh) left in the cache. */
function vsoBuild(): string {
  const dir = join(cacheDir(), `vso-${VSO_VERSION}`);
  if (!existsSync(join(dir, "bin", "manager")))
    throw new Error(`VSO ${VSO_VERSION} is not built in ${dir}: run \`make deps\` (scripts/build-vso.sh)`);
  return dir;
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    child.once("exit", () => r());
    child.kill("SIGTERM");
  });
}

async function generation(env: TestEnv, ns: string, name: string): Promise<number> {
  const d = (await env.kube.get(CORE.deployments, ns, name)) as { metadata: { generation?: number } };
  return d.metadata.generation ?? 0;
}

test("VSO to vso-ts without persistence: no login fails past VSO's token end, one restart at most", async (t) => {
  const vsoDir = vsoBuild();
  const dir = mkdtempSync(join(cacheDir(), "migration-"));
  t.after(() => down(dir).then(() => {}));
  const state = await up({ dir });
  const env: TestEnv = {
    state,
    kube: await KubeClient.load(state.kubeconfig),
    vault: new VaultHttp({ address: state.vault.address }),
    rootToken: state.vault.token,
  };
  await applyCRDs(env.kube, join(vsoDir, "crds"));
  const ns = "migrate";
  await env.kube.create(CORE.namespaces, undefined, { metadata: { name: ns } });
  // VSO's token lives 60 s: it ends at most a minute after VSO stops renewing it.
  const { role } = await dbSetup(env, ns, "10m", "1h", { tokenTtl: "60s" });
  await env.kube.create(CORE.deployments, ns, {
    metadata: { name: "web" },
    spec: {
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "c", image: "example.invalid/c" }] },
      },
    },
  });
  await env.kube.create(
    VSO.VaultDynamicSecret,
    ns,
    vds("db", {
      path: `creds/${role}`,
      revoke: true,
      rolloutRestartTargets: [{ kind: "Deployment", name: "web" }],
    }),
  );

  const vso = spawn(
    join(vsoDir, "bin", "manager"),
    [
      "--leader-elect=false",
      `--metrics-bind-address=127.0.0.1:${await freePort()}`,
      `--health-probe-bind-address=127.0.0.1:${await freePort()}`,
    ],
    { env: { ...process.env, KUBECONFIG: state.kubeconfig, OPERATOR_NAMESPACE: ns }, stdio: "ignore" },
  );
  t.after(() => stop(vso));
  const first = decoded(await waitForSecret(env, ns, "db", (s) => Boolean(decoded(s).username), 60_000));
  const vsoLease = await eventually("VSO's lease in status", async () =>
    String(((await getStatus(env, "VaultDynamicSecret", ns, "db")).secretLease as { id?: string })?.id ?? ""),
  );
  await sleep(3_000); // VSO settles (its first sync may restart the target, a defect of its own)

  const probe = loginProbe(env, ns, "db");

  await stop(vso);
  const restartsBefore = await generation(env, ns, "web");
  await applyCRDs(env.kube); // vso-ts's CRDs: VSO's plus optional fields of ours
  const vsots = spawnOperator(env, ns);
  t.after(() => stop(vsots));
  // Past the end of VSO's token for certain (60 s after its last renewal), with a margin.
  await sleep(80_000);
  const summary = await probe.stop();
  const longest = summary.longestOutageMs;
  const failed = summary.failures;
  const restarts = (await generation(env, ns, "web")) - restartsBefore;
  const now = decoded(await env.kube.get(CORE.secrets, ns, "db"));
  const lease = String(
    ((await getStatus(env, "VaultDynamicSecret", ns, "db")).secretLease as { id?: string })?.id,
  );
  t.diagnostic(
    `logins ${summary.attempts}, failed ${failed}, longest outage ${longest} ms, target restarts ${restarts}, ` +
      `credentials replaced ${now.username !== first.username}`,
  );
  assert.ok(longest <= 5_000, `longest login outage ${longest} ms (${failed}/${summary.attempts} failed)`);
  assert.notEqual(lease, vsoLease, "the lease under VSO's token was replaced before that token ended");
  assert.ok(restarts <= 1, `${restarts} restarts of the target`);
  assert.equal((await pgQuery(env, now.username, now.password)).ok, true);
  await eventually("one live lease", async () => (await leaseCount(env, role)) === 1, 45_000, 1_000);
});
