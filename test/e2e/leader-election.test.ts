// Two operator processes with leader election: only one leads (a real Lease);
// when the leader is killed the other takes over, and the change of leader
// neither issues new credentials nor restarts workloads, while renewals go on.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { test } from "node:test";
import { CORE } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { dbSetup, leaseCount, restartStamp, spawnOperator, vds } from "../support/db.ts";
import { eventually, isolatedNamespace, testEnv } from "../support/env.ts";
import { decoded, getStatus, waitForSecret } from "../support/operator.ts";

const LEASE = "b0d477c0.hashicorp.com";

test("leader change: one leader at a time, takeover after a kill, no new credentials or restarts", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "leader");
  const { role } = await dbSetup(env, ns, "8s", "120s");
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
  const args = [
    "--leader-elect=true",
    "--leader-election-lease-duration=4s",
    "--leader-election-renew-deadline=3s",
    "--leader-election-retry-period=500ms",
  ];
  const ops: Record<string, ChildProcess> = {
    "op-a": spawnOperator(env, ns, args, { OPERATOR_POD_NAME: "op-a" }),
    "op-b": spawnOperator(env, ns, args, { OPERATOR_POD_NAME: "op-b" }),
  };
  t.after(() => {
    for (const p of Object.values(ops)) p.kill("SIGKILL");
  });
  const holder = async () =>
    ((await env.kube.getOrNull(CORE.leases, ns, LEASE)) as { spec?: { holderIdentity?: string } } | null)
      ?.spec?.holderIdentity;
  const first = await eventually("a leader", holder, 30_000);
  assert.ok(first === "op-a" || first === "op-b");

  await env.kube.create(
    VSO.VaultDynamicSecret,
    ns,
    vds("creds", {
      path: `creds/${role}`,
      renewalPercent: 50,
      revoke: true,
      rolloutRestartTargets: [{ kind: "Deployment", name: "web" }],
    }),
  );
  const issued = decoded(await waitForSecret(env, ns, "creds", () => true, 30_000));
  // The status is committed just after the Secret is written.
  const st0 = await eventually("the sync in status", async () => {
    const st = await getStatus(env, "VaultDynamicSecret", ns, "creds");
    return (st.lastRenewalTime as number) > 0 ? st : null;
  });

  ops[first].kill("SIGKILL");
  const second = await eventually(
    "the other operator to take over",
    async () => {
      const h = await holder();
      return h && h !== first ? h : null;
    },
    15_000,
    200,
  );
  assert.notEqual(second, first);
  // Renewals continue under the new leader with the same lease and credentials.
  await eventually(
    "a renewal by the new leader",
    async () =>
      ((await getStatus(env, "VaultDynamicSecret", ns, "creds")).lastRenewalTime as number) >
      (st0.lastRenewalTime as number),
    20_000,
    200,
  );
  const now = decoded(await env.kube.get(CORE.secrets, ns, "creds"));
  assert.equal(now.username, issued.username, "no new credentials after the leader change");
  assert.equal(await restartStamp(env, ns), undefined, "no workload restart after the leader change");
  assert.equal(await leaseCount(env, role), 1, "exactly one lease in Vault");
});
