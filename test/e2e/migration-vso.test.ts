// Switching a namespace from HashiCorp VSO (the real v1.5.0 binary, built by
// `make deps`) to vso-ts, without client-cache persistence (issue 21): the
// dynamic secret's lease is a child of VSO's Vault token, which nobody renews
// once VSO stops. An app logs in to PostgreSQL with the Secret every second
// through the switch and past that token's end: no login may fail beyond what
// a rotation takes, the target restarts at most once, and one lease is left.
// VSO's CRDs and ours share a group, so this runs on an API server of its own.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { applyCRDs } from "../../src/dev/crds.ts";
import { CORE } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { dbSetup, leaseCount, spawnOperator, vds } from "../support/db.ts";
import { eventually, pgQuery } from "../support/env.ts";
import { loginProbe } from "../support/login-probe.ts";
import { decoded, getStatus, waitForSecret } from "../support/operator.ts";
import { generation, spawnVso, stop, vsoEnvironment } from "../support/vso.ts";

test("VSO to vso-ts without persistence: no login fails past VSO's token end, one restart at most", async (t) => {
  const ns = "migrate";
  const env = await vsoEnvironment(t, ns);
  // VSO's token lives 30 s: it ends at most that long after VSO stops renewing it.
  const { role } = await dbSetup(env, ns, "10m", "1h", { tokenTtl: "30s" });
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

  const vso = await spawnVso(env, ns);
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
  // Past the end of VSO's token for certain (30 s after its last renewal), with a margin.
  await sleep(45_000);
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
