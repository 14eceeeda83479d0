// VaultStaticSecret reconciles against the harness (test/harness): the real
// reconciler and sync pipeline, the real Vault client over HTTP to an
// in-process Vault (KV v2), an in-memory API server, and a fake clock.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { VaultStaticSecret, VaultStaticSecretStatus } from "../../src/api/index.ts";
import { CORE, type KubeObject } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { Harness, NS } from "../harness/operator.ts";

type VSS = VaultStaticSecret & KubeObject;
const KV = "secret/data/app/config";
const FINALIZER = "vaultstaticsecret.secrets.hashicorp.com/finalizer";

function vss(name: string, spec: Partial<VSS["spec"]> = {}): VSS {
  return {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultStaticSecret",
    metadata: { name, namespace: NS },
    spec: {
      vaultAuthRef: "default",
      mount: "secret",
      path: "app/config",
      type: "kv-v2",
      destination: { name: `${name}-config`, create: true },
      ...spec,
    },
  };
}

function resource(h: Harness, name = "web"): VSS | undefined {
  return h.kube.peek<VSS>(VSO.VaultStaticSecret, NS, name);
}

function status(h: Harness, name = "web"): VaultStaticSecretStatus {
  const s = resource(h, name)?.status;
  assert.ok(s, `${name} has a status`);
  return s;
}

function synced(st: VaultStaticSecretStatus) {
  return st.conditions?.find((c) => c.type === "SecretSynced");
}

async function started(t: Parameters<typeof Harness.start>[0], spec: Partial<VSS["spec"]> = {}) {
  const h = await Harness.start(t);
  h.vault.putKV("app/config", { user: "alice", pass: "s3cret" });
  h.apply(CORE.deployments, {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web" },
    spec: { template: { metadata: {} } },
  } as KubeObject);
  h.apply(
    VSO.VaultStaticSecret,
    vss("web", { rolloutRestartTargets: [{ kind: "Deployment", name: "web" }], ...spec }),
  );
  const first = await h.reconcile(h.process.staticSecrets, "web");
  return { h, first, rec: h.process.staticSecrets };
}

function restartedAt(h: Harness): string | undefined {
  const d = h.kube.peek<
    KubeObject & { spec: { template: { metadata: { annotations?: Record<string, string> } } } }
  >(CORE.deployments, NS, "web");
  return d?.spec.template.metadata.annotations?.["vso.secrets.hashicorp.com/restartedAt"];
}

const scenarios: { name: string; run(t: Parameters<typeof Harness.start>[0]): Promise<void> }[] = [
  {
    name: "first sync: the KV data in the Secret, the status and finalizer set, no workload restart",
    async run(t) {
      const { h, first } = await started(t);
      assert.deepEqual(
        { user: h.secretData("web-config")?.user, pass: h.secretData("web-config")?.pass },
        { user: "alice", pass: "s3cret" },
      );
      assert.ok(h.secretData("web-config")?._raw, "_raw holds the response");
      const st = status(h);
      assert.equal(st.lastGeneration, 1);
      assert.ok(st.secretMAC);
      assert.equal(synced(st)?.status, "True");
      assert.deepEqual(resource(h)?.metadata.finalizers, [FINALIZER]);
      assert.equal(h.vault.count("GET", KV), 1);
      assert.equal(h.vault.count("PUT", "auth/kubernetes/login"), 1);
      assert.equal(restartedAt(h), undefined);
      assert.ok((first?.requeueAfterMs ?? 0) > 0, "refreshed periodically (HMAC on)");
    },
  },
  {
    name: "no-op resync: Vault is read, nothing is written",
    async run(t) {
      const { h, rec } = await started(t);
      const statusWrites = h.kube.count({ plural: "vaultstaticsecrets", subresource: "status" });
      h.clock.advanceSeconds(60);
      await h.reconcile(rec, "web");
      assert.equal(h.vault.count("GET", KV), 2);
      assert.equal(h.secretWrites("web-config"), 1);
      assert.equal(h.kube.count({ plural: "vaultstaticsecrets", subresource: "status" }), statusWrites);
      assert.equal(h.kube.count({ verb: "get", plural: "secrets" }), 0, "the cache said the Secret is ours");
    },
  },
  {
    name: "a status VSO wrote (its wording, its timestamps) is accepted as it is: no write at a switch",
    async run(t) {
      const { h, rec } = await started(t);
      const vsoWording: Record<string, string> = {
        SecretSynced: "Secret synced, horizon=5.104s",
        Healthy: "VaultStaticSecretHealthy",
        Ready: "VaultStaticSecretReady",
      };
      h.kube.edit<VSS>(VSO.VaultStaticSecret, NS, "web", (o) => {
        for (const c of o.status?.conditions ?? []) {
          c.message = vsoWording[c.type] ?? c.message;
          c.lastTransitionTime = "2026-12-01T10:00:00Z";
        }
      });
      const statusWrites = h.kube.count({ plural: "vaultstaticsecrets", subresource: "status" });
      h.clock.advanceSeconds(60);
      await h.reconcile(rec, "web");
      assert.equal(h.kube.count({ plural: "vaultstaticsecrets", subresource: "status" }), statusWrites);
      assert.equal(synced(status(h))?.message, vsoWording.SecretSynced);

      // A write is news: its message replaces the wording.
      h.vault.putKV("app/config", { user: "alice", pass: "rotated" });
      await h.reconcile(rec, "web");
      assert.equal(synced(status(h))?.message, "Secret synced", "a write says so");
    },
  },
  {
    name: "data change: a new KV version is written and the workload restarted",
    async run(t) {
      const { h, rec } = await started(t);
      const mac = status(h).secretMAC;
      h.vault.putKV("app/config", { user: "alice", pass: "rotated" });
      await h.reconcile(rec, "web");
      assert.equal(h.secretData("web-config")?.pass, "rotated");
      assert.notEqual(status(h).secretMAC, mac);
      assert.ok(restartedAt(h), "rollout restart stamped");
      assert.ok(h.events("web").some((e) => e.message === "Secret synced: data changed"));
    },
  },
  {
    name: "drift: a Secret edited out of band is written back",
    async run(t) {
      const { h, rec } = await started(t);
      h.kube.edit<KubeObject & { data: Record<string, string> }>(CORE.secrets, NS, "web-config", (s) => {
        s.data.pass = Buffer.from("tampered").toString("base64");
      });
      await h.reconcile(rec, "web");
      assert.equal(h.secretData("web-config")?.pass, "s3cret");
      assert.equal(restartedAt(h), undefined, "the data did not change in Vault: no restart");
    },
  },
  {
    name: "destination deleted: it is created again",
    async run(t) {
      const { h, rec } = await started(t);
      h.kube.userDelete(CORE.secrets, NS, "web-config");
      await h.reconcile(rec, "web");
      assert.equal(h.secretData("web-config")?.user, "alice");
    },
  },
  {
    name: "rename: the new destination is written and the old one pruned",
    async run(t) {
      const { h, rec } = await started(t);
      h.kube.edit<VSS>(VSO.VaultStaticSecret, NS, "web", (o) => {
        o.spec.destination.name = "web-config-2";
      });
      await h.reconcile(rec, "web");
      assert.equal(h.secretData("web-config-2")?.user, "alice");
      assert.equal(h.secret("web-config"), undefined);
    },
  },
  ...(
    [
      { status: 404, expect: /404/ },
      { status: 500, expect: /500/ },
      { status: 403, expect: /permission denied/ },
    ] as const
  ).map(({ status: code, expect }) => ({
    name: `Vault answers ${code}: the failure is reported and the Secret left as it was`,
    async run(t: Parameters<typeof Harness.start>[0]) {
      const { h, rec } = await started(t);
      h.vault.putKV("app/config", { user: "alice", pass: "next" });
      if (code === 403) h.vault.deny(KV);
      else h.vault.fail(KV, code);
      const r = await h.reconcile(rec, "web");
      assert.ok(r?.failure, "the queue retries");
      assert.equal(h.secretData("web-config")?.pass, "s3cret");
      const st = status(h);
      assert.equal(synced(st)?.status, "False");
      assert.match(synced(st)?.message ?? "", expect);
      assert.ok(h.events("web").some((e) => e.type === "Warning"));
      if (code === 403) assert.equal(h.vault.count("PUT", "auth/kubernetes/login"), 2, "one probe login");
    },
  })),
  {
    name: "token loss: the token revoked in Vault; the next read logs in again and goes on",
    async run(t) {
      const { h, rec } = await started(t);
      const accessor = h.vault.liveTokens()[0].accessor;
      h.vault.revokeToken(accessor);
      h.vault.putKV("app/config", { user: "alice", pass: "after-loss" });
      const r = await h.reconcile(rec, "web");
      assert.equal(r?.failure, undefined);
      assert.equal(h.secretData("web-config")?.pass, "after-loss");
      assert.equal(h.vault.count("PUT", "auth/kubernetes/login"), 2);
      assert.notEqual(h.vault.liveTokens()[0].accessor, accessor);
    },
  },
  {
    name: "restart from status: a new process reads Vault and writes nothing",
    async run(t) {
      const { h } = await started(t);
      h.restart();
      await h.reconcile(h.process.staticSecrets, "web");
      assert.equal(h.secretWrites("web-config"), 1);
      assert.equal(restartedAt(h), undefined);
      assert.equal(h.vault.count("GET", KV), 2);
    },
  },
  {
    name: "deletion: the finalizer goes without a Vault request; the owned Secret is collected",
    async run(t) {
      const { h, rec } = await started(t);
      const calls = h.vault.calls.length;
      h.kube.userDelete(VSO.VaultStaticSecret, NS, "web");
      await h.reconcile(rec, "web");
      assert.equal(resource(h), undefined);
      assert.equal(h.secret("web-config"), undefined);
      assert.equal(h.vault.calls.length, calls);
    },
  },
];

for (const s of scenarios) test(s.name, (t) => s.run(t));
