// VaultPKISecret reconciles against the harness (test/harness): the real
// reconciler and sync pipeline, the real Vault client over HTTP to an
// in-process Vault (PKI issue and revoke), an in-memory API server, and a
// fake clock that brings certificates to their renewal point.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { VaultPKISecret, VaultPKISecretStatus } from "../../src/api/index.ts";
import { CORE, type KubeObject } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { Harness, NS } from "../harness/operator.ts";

type PKI = VaultPKISecret & KubeObject;
const ISSUE = "pki/issue/web";
const FINALIZER = "vaultpkisecrets.secrets.hashicorp.com/finalizer";

function pki(name: string, spec: Partial<PKI["spec"]> = {}): PKI {
  return {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultPKISecret",
    metadata: { name, namespace: NS },
    spec: {
      vaultAuthRef: "default",
      mount: "pki",
      role: "web",
      commonName: "web.example.com",
      ttl: "1h",
      expiryOffset: "10m",
      destination: { name: `${name}-tls`, create: true, type: "kubernetes.io/tls" },
      ...spec,
    },
  };
}

function resource(h: Harness, name = "cert"): PKI | undefined {
  return h.kube.peek<PKI>(VSO.VaultPKISecret, NS, name);
}

function status(h: Harness, name = "cert"): VaultPKISecretStatus {
  const s = resource(h, name)?.status;
  assert.ok(s, `${name} has a status`);
  return s;
}

async function started(t: Parameters<typeof Harness.start>[0], spec: Partial<PKI["spec"]> = {}) {
  const h = await Harness.start(t);
  h.apply(VSO.VaultPKISecret, pki("cert", spec));
  const first = await h.reconcile(h.process.pkiSecrets, "cert");
  return { h, first, rec: h.process.pkiSecrets };
}

function certificate(h: Harness, serial = status(h).serialNumber ?? "") {
  const c = h.vault.certificates.get(serial);
  assert.ok(c, `certificate ${serial} exists in Vault`);
  return c;
}

/** `ms` is `expected` or up to 5 % earlier (the renewal jitter only brings it forward). */
function assertAround(ms: number | undefined, expected: number): void {
  assert.ok(
    ms !== undefined && ms <= expected && ms >= expected * 0.95,
    `${ms} ms, expected about ${expected}`,
  );
}

const scenarios: { name: string; run(t: Parameters<typeof Harness.start>[0]): Promise<void> }[] = [
  {
    name: "first sync: one certificate, the TLS Secret, the status; looked at again at the renewal point",
    async run(t) {
      const { h, first } = await started(t);
      const st = status(h);
      const cert = certificate(h);
      assert.equal(h.vault.count("PUT", ISSUE), 1);
      assert.equal(cert.commonName, "web.example.com");
      assert.equal(st.valid, true);
      assert.equal(st.expiration, h.clock.nowSeconds() + 3600);
      assert.equal(st.lastRotation, h.clock.nowSeconds());
      const data = h.secretData("cert-tls");
      assert.equal(h.secret("cert-tls")?.type, "kubernetes.io/tls");
      assert.match(data?.["tls.crt"] ?? "", /BEGIN CERTIFICATE/);
      assert.match(data?.["tls.key"] ?? "", /PRIVATE KEY/);
      assert.ok(data?.["ca.crt"]);
      assert.equal(data?.serial_number, cert.serial);
      assert.deepEqual(resource(h)?.metadata.finalizers, [FINALIZER]);
      // The renewal point, brought forward by up to 5 % jitter.
      assertAround(first?.requeueAfterMs, (3600 - 600) * 1000);
      // The destination's shape was checked by a dry run before Vault was asked.
      assert.equal(h.kube.count({ plural: "secrets", dryRun: true }), 1);
    },
  },
  {
    name: "no-op resync: no certificate issued, nothing written; the next look counts from the injected clock",
    async run(t) {
      const { h, rec } = await started(t);
      h.clock.advanceSeconds(2000);
      const r = await h.reconcile(rec, "cert");
      assert.equal(h.vault.count("PUT", ISSUE), 1);
      assert.equal(h.secretWrites("cert-tls"), 1);
      assertAround(r?.requeueAfterMs, (3600 - 600 - 2000) * 1000);
    },
  },
  {
    name: "renewal point reached (fake clock): a new certificate, the previous one revoked (revoke: true)",
    async run(t) {
      const { h, rec } = await started(t, { revoke: true });
      const old = certificate(h);
      h.clock.advanceSeconds(3600 - 600);
      await h.reconcile(rec, "cert");
      const st = status(h);
      assert.notEqual(st.serialNumber, old.serial);
      assert.equal(h.vault.count("PUT", ISSUE), 2);
      assert.equal(old.revoked, true);
      assert.equal(certificate(h).revoked, false);
      assert.equal(h.secretData("cert-tls")?.serial_number, st.serialNumber);
      assert.equal(st.lastRotation, h.clock.nowSeconds());
      assert.ok(h.events("cert").some((e) => e.reason === "SecretRotated"));
    },
  },
  {
    name: "drift: an edited destination gets a fresh certificate",
    async run(t) {
      const { h, rec } = await started(t);
      const old = status(h).serialNumber;
      h.kube.edit<KubeObject & { data: Record<string, string> }>(CORE.secrets, NS, "cert-tls", (s) => {
        s.data["tls.key"] = Buffer.from("tampered").toString("base64");
      });
      await h.reconcile(rec, "cert");
      assert.notEqual(status(h).serialNumber, old);
      assert.equal(h.secretData("cert-tls")?.serial_number, status(h).serialNumber);
    },
  },
  {
    name: "failure after issue: the Secret write fails; the certificate is revoked, the destination untouched",
    async run(t) {
      const h = await Harness.start(t);
      h.apply(VSO.VaultPKISecret, pki("cert"));
      h.kube.fail((c) => c.verb === "create" && c.plural === "secrets" && !c.dryRun, 500);
      const r = await h.reconcile(h.process.pkiSecrets, "cert");
      assert.equal(r?.failure, "transient");
      const [cert] = [...h.vault.certificates.values()];
      assert.equal(cert.revoked, true);
      assert.equal(h.secret("cert-tls"), undefined);
      const st = status(h);
      assert.equal(st.valid, false);
      assert.match(st.error ?? "", /500/);
      assert.deepEqual(st.pendingRevocations ?? [], []);
      await h.reconcile(h.process.pkiSecrets, "cert");
      assert.equal(h.vault.count("PUT", ISSUE), 2);
      assert.equal(h.secretData("cert-tls")?.serial_number, status(h).serialNumber);
    },
  },
  {
    name: "Vault fails to issue: the status says so, the destination keeps the certificate it has",
    async run(t) {
      const { h, rec } = await started(t);
      const serial = status(h).serialNumber;
      h.clock.advanceSeconds(3600 - 600);
      h.vault.fail(ISSUE, 500);
      const r = await h.reconcile(rec, "cert");
      assert.equal(r?.failure, "transient");
      assert.equal(h.secretData("cert-tls")?.serial_number, serial);
      assert.equal(status(h).valid, false);
    },
  },
  {
    name: "restart from status: a new process does not re-issue a certificate that is still good",
    async run(t) {
      const { h } = await started(t);
      h.restart();
      await h.reconcile(h.process.pkiSecrets, "cert");
      assert.equal(h.vault.count("PUT", ISSUE), 1);
      assert.equal(h.secretWrites("cert-tls"), 1);
    },
  },
  {
    name: "deletion with revoke: the finalizer revokes the certificate; the resource and its Secret go",
    async run(t) {
      const { h, rec } = await started(t, { revoke: true });
      const cert = certificate(h);
      h.kube.userDelete(VSO.VaultPKISecret, NS, "cert");
      await h.reconcile(rec, "cert");
      assert.equal(cert.revoked, true);
      assert.equal(resource(h), undefined);
      assert.equal(h.secret("cert-tls"), undefined);
    },
  },
  {
    name: "deletion with clear on a create:false destination: the Secret stays, its data is blanked",
    async run(t) {
      const h = await Harness.start(t);
      h.apply(CORE.secrets, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "shared-tls" },
        data: {},
      } as KubeObject);
      h.apply(
        VSO.VaultPKISecret,
        pki("cert", { clear: true, destination: { name: "shared-tls", create: false } }),
      );
      await h.reconcile(h.process.pkiSecrets, "cert");
      assert.ok(h.secretData("shared-tls")?.certificate);
      h.kube.userDelete(VSO.VaultPKISecret, NS, "cert");
      await h.reconcile(h.process.pkiSecrets, "cert");
      assert.equal(resource(h), undefined);
      assert.deepEqual(h.secretData("shared-tls"), {});
    },
  },
];

for (const s of scenarios) test(s.name, (t) => s.run(t));
