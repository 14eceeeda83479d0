// Two operator processes with leader election: only one leads (a real Lease);
// when the leader is killed the other takes over, and the change of leader
// neither issues new credentials nor restarts workloads, while renewals go on.
// And a SIGTERM while syncing: the operator exits 0 at once and releases the
// Lease, so a successor leads without waiting out the lease duration; with a
// reconcile stuck on a silent Vault it waits no longer than the drain cap.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { test } from "node:test";
import { CORE } from "../../src/kube/client.ts";
import { SHUTDOWN_DRAIN_MS } from "../../src/operator/manager.ts";
import { VSO } from "../../src/operator/resources.ts";
import { dbSetup, leaseCount, restartStamp, spawnOperator, vds } from "../support/db.ts";
import { eventually, isolatedNamespace, testEnv } from "../support/env.ts";
import {
  decoded,
  defaultConnectionAndAuth,
  getStatus,
  kvPut,
  vaultRoleFor,
  waitForSecret,
} from "../support/operator.ts";

const LEASE = "b0d477c0.hashicorp.com";

interface LeaseLike {
  spec?: { holderIdentity?: string; leaseTransitions?: number };
}

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

/** Sends SIGTERM and waits for the process to exit, failing if it still runs after `limitMs`. */
async function sigterm(
  proc: ChildProcess,
  limitMs: number,
): Promise<{ code: number | null; signal: string | null; tookMs: number }> {
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    proc.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const t0 = Date.now();
  proc.kill("SIGTERM");
  const { code, signal } = await Promise.race([
    exited,
    new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`the operator still runs ${limitMs / 1000} s after SIGTERM`)),
        limitMs,
      ).unref(),
    ),
  ]);
  return { code, signal, tookMs: Date.now() - t0 };
}

test("SIGTERM while syncing: exit 0 within seconds, the Lease released, a successor leads at once", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "sigterm");
  const role = await vaultRoleFor(env, ns);
  await defaultConnectionAndAuth(env, ns, role);
  await kvPut(env, `${ns}/app`, { user: "u1" });
  // Twenty secrets refreshed every second keep reconciles in flight when the signal comes.
  const names = Array.from({ length: 20 }, (_, i) => `s${i}`);
  for (const name of names) {
    await env.kube.create(VSO.VaultStaticSecret, ns, {
      apiVersion: "secrets.hashicorp.com/v1beta1",
      kind: "VaultStaticSecret",
      metadata: { name },
      spec: {
        mount: "secret",
        type: "kv-v2",
        path: `${ns}/app`,
        refreshAfter: "1s",
        destination: { name, create: true },
      },
    });
  }
  // A lease duration far above the takeover asserted below: only a released Lease allows it.
  const args = [
    "--leader-elect=true",
    "--leader-election-lease-duration=60s",
    "--leader-election-renew-deadline=40s",
    "--leader-election-retry-period=500ms",
  ];
  const a = spawnOperator(env, ns, args, { OPERATOR_POD_NAME: "op-a" });
  let b: ChildProcess | undefined;
  t.after(() => {
    a.kill("SIGKILL");
    b?.kill("SIGKILL");
  });
  const lease = async () => (await env.kube.getOrNull(CORE.leases, ns, LEASE)) as LeaseLike | null;
  await eventually("op-a leads", async () => (await lease())?.spec?.holderIdentity === "op-a", 30_000);
  for (const name of names) await waitForSecret(env, ns, name, () => true, 30_000);

  const { code, signal, tookMs } = await sigterm(a, 10_000);
  assert.equal(signal, null, "exited by itself, not killed");
  assert.equal(code, 0, "a clean shutdown exits 0");
  assert.ok(tookMs < 5_000, `exited ${tookMs} ms after SIGTERM`);
  assert.equal((await lease())?.spec?.holderIdentity, "", "the Lease has no holder after the shutdown");

  // The successor takes the released Lease at once (the 60 s duration would otherwise hold it) and syncs.
  b = spawnOperator(env, ns, args, { OPERATOR_POD_NAME: "op-b" });
  await eventually("op-b leads", async () => (await lease())?.spec?.holderIdentity === "op-b", 15_000, 200);
  await kvPut(env, `${ns}/app`, { user: "u2" });
  await waitForSecret(env, ns, "s0", (s) => decoded(s).user === "u2", 15_000);
});

test("SIGTERM with a reconcile stuck on a silent Vault: exit 0 after the 20 s drain cap, the Lease released", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "sigterm-stuck");
  const role = await vaultRoleFor(env, ns);
  // A "Vault" that accepts connections and never answers: the login request hangs (the Vault
  // client's own timeout is 30 s, longer than the cap).
  const held: Socket[] = [];
  let connected = 0;
  const silent = createServer((sock) => {
    connected++;
    held.push(sock);
  });
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    for (const s of held) s.destroy();
    silent.close();
  });
  const port = (silent.address() as AddressInfo).port;
  await env.kube.create(VSO.VaultConnection, ns, {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultConnection",
    metadata: { name: "default" },
    spec: { address: `http://127.0.0.1:${port}` },
  });
  await env.kube.create(VSO.VaultAuth, ns, {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultAuth",
    metadata: { name: "default" },
    spec: { method: "kubernetes", mount: "kubernetes", kubernetes: { role, serviceAccount: "app" } },
  });
  await env.kube.create(VSO.VaultStaticSecret, ns, {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultStaticSecret",
    metadata: { name: "stuck" },
    spec: { mount: "secret", type: "kv-v2", path: `${ns}/app`, destination: { name: "stuck", create: true } },
  });
  const a = spawnOperator(env, ns, ["--leader-elect=true", "--leader-election-retry-period=500ms"], {
    OPERATOR_POD_NAME: "op-stuck",
  });
  t.after(() => a.kill("SIGKILL"));
  await eventually("the operator's request to the silent Vault", async () => connected > 0, 30_000, 100);

  const { code, signal, tookMs } = await sigterm(a, 28_000);
  assert.equal(signal, null, "exited by itself, not killed");
  assert.equal(code, 0);
  // It waited for the stuck reconcile up to the cap (SHUTDOWN_DRAIN_MS), and not for the Vault timeout.
  assert.ok(
    tookMs >= SHUTDOWN_DRAIN_MS - 1_000,
    `exited ${tookMs} ms after SIGTERM: it did not wait for the reconcile`,
  );
  assert.ok(tookMs < SHUTDOWN_DRAIN_MS + 5_000, `exited ${tookMs} ms after SIGTERM`);
  const lease = (await env.kube.get(CORE.leases, ns, LEASE)) as LeaseLike;
  assert.equal(lease.spec?.holderIdentity, "", "the Lease has no holder after the shutdown");
});
