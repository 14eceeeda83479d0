// VaultPKISecret against OpenBao's real PKI engine: a TLS Secret whose shape is
// checked with a real X.509 parser, renewal before expiry with the previous
// serial revoked and a workload restarted, re-issue when altNames change, and
// revocation on delete.
import assert from "node:assert/strict";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { test } from "node:test";
import { CORE } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { restartStamp } from "../support/db.ts";
import { eventually, isolatedNamespace, type TestEnv, testEnv } from "../support/env.ts";
import {
  decoded,
  defaultConnectionAndAuth,
  getStatus,
  startOperator,
  vaultRoleFor,
  waitForSecret,
} from "../support/operator.ts";

function certsOf(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map(
    (c) => new X509Certificate(c),
  );
}

async function revokedAt(env: TestEnv, serial: string): Promise<number> {
  const r = await env.vault.call<{ data: { revocation_time: number } }>("GET", `pki/cert/${serial}`, {
    token: env.rootToken,
  });
  return r.json?.data.revocation_time ?? 0;
}

test("VaultPKISecret: TLS shape, renewal before expiry, re-issue on altNames change, revoke on delete", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "pki");
  const role = await vaultRoleFor(
    env,
    ns,
    "app",
    'path "pki/issue/default" { capabilities = ["update"] }\npath "pki/revoke" { capabilities = ["update"] }',
  );
  await defaultConnectionAndAuth(env, ns, role);
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
  await startOperator(t, env, { namespaces: [ns] });
  await env.kube.create(VSO.VaultPKISecret, ns, {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultPKISecret",
    metadata: { name: "cert" },
    spec: {
      mount: "pki",
      role: "default",
      commonName: "app.example.com",
      altNames: ["a.example.com"],
      ipSans: ["127.0.0.1"],
      ttl: "10s",
      expiryOffset: "5s",
      revoke: true,
      destination: { name: "tls", create: true, type: "kubernetes.io/tls" },
      rolloutRestartTargets: [{ kind: "Deployment", name: "web" }],
    },
  });
  const s1 = await waitForSecret(env, ns, "tls");
  assert.equal(s1.type, "kubernetes.io/tls");
  const d1 = decoded(s1);
  const [leaf, ...chain] = certsOf(d1["tls.crt"]);
  assert.ok(chain.length >= 1, "tls.crt carries the chain");
  assert.match(leaf.subject, /CN=app\.example\.com/);
  assert.match(leaf.subjectAltName ?? "", /DNS:a\.example\.com/);
  assert.match(leaf.subjectAltName ?? "", /IP Address:127\.0\.0\.1/);
  assert.ok(leaf.checkPrivateKey(createPrivateKey(d1["tls.key"])), "tls.key matches the certificate");
  const ca = new X509Certificate(d1["ca.crt"]);
  assert.ok(leaf.verify(ca.publicKey), "ca.crt signed the certificate");
  const serial1 = (await getStatus(env, "VaultPKISecret", ns, "cert")).serialNumber as string;
  assert.equal(serial1, d1.serial_number);
  assert.equal(await restartStamp(env, ns), undefined, "no restart on the first issue");

  // Renewal at expiration - expiryOffset (about 5 s after issue): new serial, old one revoked, restart.
  const t0 = Date.now();
  const s2 = await waitForSecret(env, ns, "tls", (s) => decoded(s).serial_number !== serial1, 15_000);
  const serial2 = decoded(s2).serial_number;
  t.diagnostic(`renewed ${Date.now() - t0} ms after the first issue was observed (due 5 s after issue)`);
  assert.ok(Date.parse(certsOf(decoded(s2)["tls.crt"])[0].validTo) > Date.parse(leaf.validTo));
  await eventually("previous serial revoked", async () => (await revokedAt(env, serial1)) > 0, 10_000);
  await eventually("restart stamp", () => restartStamp(env, ns), 5000);

  // A spec change re-issues at once (VSO #465).
  await env.kube.patch(
    VSO.VaultPKISecret,
    ns,
    "cert",
    { spec: { altNames: ["b.example.com"], ttl: "1h", expiryOffset: "0s" } },
    "merge",
  );
  const s3 = await waitForSecret(
    env,
    ns,
    "tls",
    (s) => /DNS:b\.example\.com/.test(certsOf(decoded(s)["tls.crt"])[0].subjectAltName ?? ""),
    15_000,
  );
  const serial3 = decoded(s3).serial_number;
  assert.notEqual(serial3, serial2);

  await env.kube.delete(VSO.VaultPKISecret, ns, "cert");
  await eventually(
    "current serial revoked on delete",
    async () => (await revokedAt(env, serial3)) > 0,
    15_000,
  );
});
