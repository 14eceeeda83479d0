// VaultDynamicSecret reconciles against the harness (test/harness): the real
// reconciler and sync pipeline, the real Vault client over HTTP to an
// in-process Vault, an in-memory API server, and a fake clock. Each scenario
// drives reconciles and checks what really happened: the Secret's contents,
// the requests Vault served, which leases are alive in Vault, the status.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { VaultDynamicSecret, VaultDynamicSecretStatus } from "../../src/api/index.ts";
import { CORE, type KubeObject } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { Harness, NS } from "../harness/operator.ts";

type VDS = VaultDynamicSecret & KubeObject;
const CREDS = "database/creds/app";
const FINALIZER = "vaultdynamicsecret.secrets.hashicorp.com/finalizer";

function vds(name: string, spec: Partial<VDS["spec"]> = {}): VDS {
  return {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultDynamicSecret",
    metadata: { name, namespace: NS },
    spec: {
      vaultAuthRef: "default",
      mount: "database",
      path: "creds/app",
      destination: { name: `${name}-creds`, create: true },
      ...spec,
    },
  };
}

function resource(h: Harness, name = "db"): VDS | undefined {
  return h.kube.peek<VDS>(VSO.VaultDynamicSecret, NS, name);
}

function status(h: Harness, name = "db"): VaultDynamicSecretStatus {
  const s = resource(h, name)?.status;
  assert.ok(s, `${name} has a status`);
  return s;
}

function condition(st: VaultDynamicSecretStatus, type: string) {
  return st.conditions?.find((c) => c.type === type);
}

/** A harness with one VaultDynamicSecret synced once; `role` sets the database role's lease TTLs. */
async function synced(
  t: Parameters<typeof Harness.start>[0],
  spec: Partial<VDS["spec"]> = {},
  role = { ttlS: 600, maxTtlS: 3600, renewable: true },
) {
  const h = await Harness.start(t);
  h.vault.databaseRoles.set("app", role);
  h.apply(VSO.VaultDynamicSecret, vds("db", spec));
  const first = await h.reconcile(h.process.dynamicSecrets, "db");
  return { h, first, rec: h.process.dynamicSecrets };
}

function leaseOf(h: Harness) {
  const id = status(h).secretLease.id ?? "";
  const lease = h.vault.leases.get(id);
  assert.ok(lease, `lease ${id} exists in Vault`);
  return lease;
}

interface Scenario {
  name: string;
  run(t: Parameters<typeof Harness.start>[0]): Promise<void>;
}

const scenarios: Scenario[] = [
  {
    name: "first sync: one lease, its credentials in the Secret, the status records it",
    async run(t) {
      const { h, first } = await synced(t);
      const st = status(h);
      const lease = leaseOf(h);
      assert.equal(h.vault.count(undefined, CREDS), 1);
      assert.ok(h.vault.leaseAlive(lease));
      const data = h.secretData("db-creds");
      assert.equal(data?.username, lease.data.username);
      assert.equal(data?.password, lease.data.password);
      assert.equal(st.lastGeneration, 1);
      assert.equal(st.secretLease.duration, 600);
      assert.equal(st.secretLease.renewable, true);
      assert.deepEqual(st.pendingRevocations ?? [], []);
      assert.equal(st.lastRenewalTime, h.clock.nowSeconds());
      assert.equal(condition(st, "SecretSynced")?.status, "True");
      assert.match(condition(st, "SecretSynced")?.message ?? "", /InitialSync/);
      assert.deepEqual(resource(h)?.metadata.finalizers, [FINALIZER]);
      // The token the lease hangs on is recorded (VSO's id: a hash of the accessor).
      assert.equal(
        st.vaultClientMeta?.id,
        h.ctx.clients.clientForRevocation(st.vaultClientMeta?.cacheKey, undefined)?.id,
      );
      // Requeued for the renewal: 67 % of the TTL plus up to 10 % jitter.
      const after = first?.requeueAfterMs ?? 0;
      assert.ok(after >= 600_000 * 0.67 && after <= 600_000 * 0.77, `requeue ${after}`);
      assert.ok(h.events("db").some((e) => e.reason === "SecretSynced"));
    },
  },
  {
    name: "no-op resync: no Vault request for credentials, no Secret write, no status write",
    async run(t) {
      const { h, rec } = await synced(t);
      const writes = h.secretWrites("db-creds");
      const vaultCalls = h.vault.calls.length;
      const statusWrites = h.kube.count({ plural: "vaultdynamicsecrets", subresource: "status" });
      h.clock.advanceSeconds(60);
      const r = await h.reconcile(rec, "db");
      assert.equal(h.secretWrites("db-creds"), writes);
      assert.equal(h.vault.calls.length, vaultCalls, "Vault was not asked anything");
      assert.equal(h.kube.count({ plural: "vaultdynamicsecrets", subresource: "status" }), statusWrites);
      assert.ok((r?.requeueAfterMs ?? 0) > 0);
      assert.equal(h.vault.liveLeases().length, 1);
    },
  },
  {
    name: "renewal: when due (fake clock), the lease is renewed in Vault; nothing is issued or written",
    async run(t) {
      const { h, rec } = await synced(t);
      const lease = leaseOf(h);
      const writes = h.secretWrites("db-creds");
      h.clock.advanceSeconds(600 * 0.78);
      const r = await h.reconcile(rec, "db");
      assert.equal(h.vault.count("PUT", "sys/leases/renew"), 1);
      assert.equal(lease.renewals, 1);
      assert.equal(lease.expiresAtMs, h.clock.now() + 600_000, "renewed for the full TTL from now");
      assert.equal(h.vault.count(undefined, CREDS), 1, "no new credentials");
      assert.equal(h.secretWrites("db-creds"), writes);
      const st = status(h);
      assert.equal(st.lastRenewalTime, h.clock.nowSeconds());
      assert.equal(condition(st, "LeaseRenewal")?.status, "True");
      assert.ok((r?.requeueAfterMs ?? 0) >= 600_000 * 0.67);
    },
  },
  {
    name: "rotation: a renewal truncated by the max TTL gives new credentials; the old lease is revoked after its grace period",
    async run(t) {
      const { h, rec } = await synced(t, { revoke: true }, { ttlS: 600, maxTtlS: 700, renewable: true });
      h.apply(CORE.deployments, {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "api" },
        spec: { template: { metadata: {} } },
      } as KubeObject);
      h.kube.edit<VDS>(VSO.VaultDynamicSecret, NS, "db", (o) => {
        o.spec.rolloutRestartTargets = [{ kind: "Deployment", name: "api" }];
      });
      // The spec changed (generation 2): new credentials at once, then the renewal is truncated.
      await h.reconcile(rec, "db");
      const old = leaseOf(h);
      h.clock.advanceSeconds(600 * 0.78);
      await h.reconcile(rec, "db");
      const st = status(h);
      assert.notEqual(st.secretLease.id, old.id);
      assert.match(condition(st, "SecretSynced")?.message ?? "", /LeaseRenewalFailed/);
      assert.equal(h.secretData("db-creds")?.username, leaseOf(h).data.username);
      assert.deepEqual(
        st.pendingRevocations?.map((p) => [p.id, p.reason]),
        [[old.id, "Replaced"]],
      );
      assert.ok(h.vault.leaseAlive(old), "the replaced lease lives through its grace period");
      const dep = h.kube.peek<KubeObject & { spec: { template: { metadata: { annotations?: object } } } }>(
        CORE.deployments,
        NS,
        "api",
      );
      assert.ok(dep?.spec.template.metadata.annotations, "the workload was restarted");
      h.clock.advanceSeconds(31);
      await h.reconcile(rec, "db");
      assert.equal(h.vault.leaseAlive(old), false, "revoked once the grace period passed");
      assert.deepEqual(status(h).pendingRevocations ?? [], []);
      assert.equal(h.vault.liveLeases().length, 1);
    },
  },
  {
    name: "data change: a spec change issues new credentials (ResourceUpdated); without revoke the old lease is left to expire",
    async run(t) {
      const { h, rec } = await synced(t);
      const old = leaseOf(h);
      h.kube.edit<VDS>(VSO.VaultDynamicSecret, NS, "db", (o) => {
        o.spec.destination.labels = { team: "a" };
      });
      await h.reconcile(rec, "db");
      const st = status(h);
      assert.equal(st.lastGeneration, 2);
      assert.notEqual(st.secretLease.id, old.id);
      assert.match(condition(st, "SecretSynced")?.message ?? "", /ResourceUpdated/);
      assert.equal(h.secret("db-creds")?.metadata.labels?.team, "a");
      assert.equal(h.secretData("db-creds")?.password, leaseOf(h).data.password);
      assert.ok(h.vault.leaseAlive(old));
      assert.deepEqual(st.pendingRevocations ?? [], []);
    },
  },
  {
    name: "token loss: the token is revoked in Vault (its lease with it); the heartbeat notices, new credentials are issued",
    async run(t) {
      const { h, rec } = await synced(t);
      const old = leaseOf(h);
      const oldToken = status(h).vaultClientMeta?.id;
      h.vault.revokeToken(old.accessor);
      assert.equal(h.vault.leaseAlive(old), false, "Vault revoked the lease with its token");
      await h.heartbeat(status(h).vaultClientMeta?.cacheKey);
      h.clock.advanceSeconds(5);
      await h.reconcile(rec, "db");
      const st = status(h);
      assert.match(condition(st, "SecretSynced")?.message ?? "", /VaultTokenRevoked/);
      assert.notEqual(st.vaultClientMeta?.id, oldToken);
      const lease = leaseOf(h);
      assert.ok(h.vault.leaseAlive(lease));
      assert.notEqual(lease.accessor, old.accessor);
      assert.equal(h.secretData("db-creds")?.username, lease.data.username);
      assert.equal(h.vault.count("PUT", "auth/kubernetes/login"), 2);
    },
  },
  {
    name: "token loss found at renewal: the renewal meets a dead token, logs in again, the lease is gone: new credentials",
    async run(t) {
      const { h, rec } = await synced(t);
      const old = leaseOf(h);
      h.vault.revokeToken(old.accessor);
      h.clock.advanceSeconds(600 * 0.78);
      await h.reconcile(rec, "db");
      const st = status(h);
      assert.match(condition(st, "SecretSynced")?.message ?? "", /LeaseRenewalFailed/);
      assert.equal(condition(st, "LeaseRenewal")?.status, "False");
      assert.ok(h.vault.leaseAlive(leaseOf(h)));
      assert.equal(h.vault.liveLeases().length, 1);
    },
  },
  {
    name: "failure after issue: the Secret write fails after Vault issued; the lease is revoked, not leaked, and the retry issues once",
    async run(t) {
      const h = await Harness.start(t);
      h.apply(VSO.VaultDynamicSecret, vds("db"));
      h.kube.fail((c) => c.verb === "create" && c.plural === "secrets" && !c.dryRun, 500);
      const r = await h.reconcile(h.process.dynamicSecrets, "db");
      assert.equal(r?.failure, "transient");
      assert.equal(h.vault.count(undefined, CREDS), 1);
      assert.equal(h.vault.liveLeases().length, 0, "the issued lease was revoked");
      assert.equal(h.vault.count("PUT", "sys/leases/revoke"), 1);
      assert.equal(h.secret("db-creds"), undefined);
      const st = status(h);
      assert.deepEqual(st.pendingRevocations ?? [], []);
      assert.equal(condition(st, "SecretSynced")?.status, "False");
      await h.reconcile(h.process.dynamicSecrets, "db");
      assert.equal(h.vault.count(undefined, CREDS), 2);
      assert.equal(h.vault.liveLeases().length, 1);
      assert.equal(h.secretData("db-creds")?.username, leaseOf(h).data.username);
    },
  },
  {
    name: "failure after issue, refused for good (422): the lease is revoked and no new one is issued for the same inputs",
    async run(t) {
      const h = await Harness.start(t);
      h.apply(VSO.VaultDynamicSecret, vds("db"));
      h.kube.fail((c) => c.verb === "create" && c.plural === "secrets" && !c.dryRun, 422, { times: 1 });
      const first = await h.reconcile(h.process.dynamicSecrets, "db");
      assert.equal(first?.failure, "configuration");
      assert.equal(h.vault.liveLeases().length, 0);
      assert.equal(condition(status(h), "IssueHold")?.status, "True");
      const again = await h.reconcile(h.process.dynamicSecrets, "db");
      assert.equal(again?.failure, "configuration");
      assert.equal(h.vault.count(undefined, CREDS), 1, "held: no second lease for the same inputs");
      // A new process honours the hold too (it is in the status).
      h.restart();
      await h.reconcile(h.process.dynamicSecrets, "db");
      assert.equal(h.vault.count(undefined, CREDS), 1);
      // Changed inputs lift it.
      h.kube.edit<VDS>(VSO.VaultDynamicSecret, NS, "db", (o) => {
        o.spec.destination.labels = { fixed: "yes" };
      });
      await h.reconcile(h.process.dynamicSecrets, "db");
      assert.equal(h.vault.count(undefined, CREDS), 2);
      assert.equal(condition(status(h), "IssueHold"), undefined);
      assert.equal(h.vault.liveLeases().length, 1);
    },
  },
  {
    name: "failure after issue, the status cannot be written: the lease nobody recorded is revoked at once",
    async run(t) {
      const h = await Harness.start(t);
      h.apply(VSO.VaultDynamicSecret, vds("db"));
      h.kube.fail({ plural: "vaultdynamicsecrets", subresource: "status" }, 500);
      const r = await h.reconcile(h.process.dynamicSecrets, "db");
      assert.equal(r?.failure, "transient");
      assert.equal(h.vault.count(undefined, CREDS), 1);
      assert.equal(h.vault.liveLeases().length, 0);
      assert.equal(h.secret("db-creds"), undefined);
    },
  },
  {
    name: "failure after issue, the Secret changed under us (409): the lease is revoked, the next look delivers",
    async run(t) {
      const { h, rec } = await synced(t);
      h.kube.edit<VDS>(VSO.VaultDynamicSecret, NS, "db", (o) => {
        o.spec.destination.annotations = { a: "1" };
      });
      // Someone edits the destination between our read and our update: a stale resourceVersion.
      h.kube.before(
        (c) => c.verb === "update" && c.plural === "secrets" && !c.dryRun,
        () => {
          h.kube.edit(CORE.secrets, NS, "db-creds", (s) => {
            s.metadata.annotations = { other: "writer" };
          });
        },
      );
      const r = await h.reconcile(rec, "db");
      assert.equal(r?.failure, "transient");
      assert.equal(h.vault.count(undefined, CREDS), 2);
      assert.equal(h.vault.liveLeases().length, 1, "the lease of the failed write was revoked");
      assert.equal(h.vault.leaseAlive(status(h).secretLease.id), true, "the delivered one stays");
      await h.reconcile(rec, "db");
      assert.equal(h.vault.count(undefined, CREDS), 3);
      assert.equal(h.secretData("db-creds")?.username, leaseOf(h).data.username);
    },
  },
  {
    name: "restart from status, same process's token: a new reconciler neither issues nor renews",
    async run(t) {
      const { h } = await synced(t);
      const { VaultDynamicSecretReconciler } = await import("../../src/operator/kinds/dynamic/reconciler.ts");
      const fresh = new VaultDynamicSecretReconciler(h.ctx, h.clock.now);
      const calls = h.vault.calls.length;
      const writes = h.secretWrites("db-creds");
      h.clock.advanceSeconds(30);
      const r = await h.reconcile(fresh, "db");
      assert.equal(h.vault.calls.length, calls);
      assert.equal(h.secretWrites("db-creds"), writes);
      assert.ok((r?.requeueAfterMs ?? 0) > 0);
    },
  },
  {
    name: "restart from status, unknown parent token: the lease is checked alive (renewed), kept, and replaced at the planned time",
    async run(t) {
      const { h } = await synced(t, {}, { ttlS: 3600, maxTtlS: 86_400, renewable: true });
      const old = leaseOf(h);
      h.restart();
      const rec = h.process.dynamicSecrets;
      const r = await h.reconcile(rec, "db");
      assert.equal(h.vault.count(undefined, CREDS), 1, "no re-issue yet");
      assert.equal(old.renewals, 1, "checked alive by a renewal");
      // A token of the other process ends within a third of one TTL: replaced within 80 % of that.
      const window = (3_600_000 / 3) * 0.8;
      assert.ok((r?.requeueAfterMs ?? 0) <= window, `planned in ${r?.requeueAfterMs} ms`);
      h.clock.advance(window + 1);
      await h.reconcile(rec, "db");
      const st = status(h);
      assert.match(condition(st, "SecretSynced")?.message ?? "", /VaultTokenRotated/);
      assert.notEqual(st.secretLease.id, old.id);
      assert.notEqual(leaseOf(h).accessor, old.accessor, "the new lease hangs on this process's token");
      assert.equal(h.secretData("db-creds")?.username, leaseOf(h).data.username);
    },
  },
  {
    name: "restart from status, the old token revoked meanwhile: the dead lease is replaced at once",
    async run(t) {
      const { h } = await synced(t);
      const old = leaseOf(h);
      h.restart();
      h.vault.revokeToken(old.accessor);
      await h.reconcile(h.process.dynamicSecrets, "db");
      assert.equal(h.vault.count(undefined, CREDS), 2);
      assert.ok(h.vault.leaseAlive(leaseOf(h)));
      assert.equal(h.secretData("db-creds")?.username, leaseOf(h).data.username);
    },
  },
  {
    name: "cache lag: a reconcile from a stale cached status does not issue a second lease",
    async run(t) {
      const h = await Harness.start(t);
      h.apply(VSO.VaultDynamicSecret, vds("db"));
      h.process.informers.dynamicSecrets.pause();
      h.process.informers.ownedSecrets.pause();
      await h.reconcile(h.process.dynamicSecrets, "db");
      await h.reconcile(h.process.dynamicSecrets, "db");
      assert.equal(h.vault.count(undefined, CREDS), 1);
      h.process.informers.dynamicSecrets.resume();
      h.process.informers.ownedSecrets.resume();
      await h.reconcile(h.process.dynamicSecrets, "db");
      assert.equal(h.vault.count(undefined, CREDS), 1);
    },
  },
  {
    name: "deletion with revoke: the finalizer revokes the lease, then the resource and its Secret go",
    async run(t) {
      const { h, rec } = await synced(t, { revoke: true });
      const lease = leaseOf(h);
      h.kube.userDelete(VSO.VaultDynamicSecret, NS, "db");
      assert.ok(resource(h)?.metadata.deletionTimestamp, "held by the finalizer");
      await h.reconcile(rec, "db");
      assert.equal(h.vault.leaseAlive(lease), false);
      assert.equal(resource(h), undefined);
      assert.equal(h.secret("db-creds"), undefined, "the owned Secret was collected");
    },
  },
  {
    name: "deletion without revoke: the current lease is left to its TTL; the resource goes",
    async run(t) {
      const { h, rec } = await synced(t);
      const lease = leaseOf(h);
      h.kube.userDelete(VSO.VaultDynamicSecret, NS, "db");
      await h.reconcile(rec, "db");
      assert.ok(h.vault.leaseAlive(lease));
      assert.equal(h.vault.count("PUT", "sys/leases/revoke"), 0);
      assert.equal(resource(h), undefined);
    },
  },
  {
    name: "deletion while Vault fails: the finalizer stays until the lease is revoked",
    async run(t) {
      const { h, rec } = await synced(t, { revoke: true });
      const lease = leaseOf(h);
      h.vault.fail("sys/leases/revoke", 503, { times: 1 });
      h.kube.userDelete(VSO.VaultDynamicSecret, NS, "db");
      const r = await h.reconcile(rec, "db");
      assert.ok((r?.requeueAfterMs ?? 0) > 0);
      assert.ok(resource(h), "still there");
      assert.ok(h.vault.leaseAlive(lease));
      await h.reconcile(rec, "db");
      assert.equal(h.vault.leaseAlive(lease), false);
      assert.equal(resource(h), undefined);
    },
  },
];

for (const s of scenarios) test(s.name, (t) => s.run(t));
