// VaultPKISecret against OpenBao's real PKI engine, certificates checked with
// Node's X.509 parser:
// 1. a kubernetes.io/tls Secret (CN, SANs, key matches certificate, ca.crt
//    verifies the leaf), VSO's data keys and status; renewal before expiry at
//    expiration - expiryOffset with the previous serial revoked and the
//    workload restarted (never on the first issue); re-issue on an altNames
//    change (VSO #465), on deletion of the destination and on drift of its
//    data; revocation of the current serial on delete.
// 2. on a mount of its own: issuerRef through .../issuer/<ref>/issue/<role>,
//    excludeCNFromSans, uriSans, a create:false destination that is missing
//    (no certificate is minted in vain), a label change (ForceSync), an
//    operator restart that issues nothing, an expiryOffset longer than the
//    certificate's life (renewed in time, not in a tight loop: VSO #1064), and
//    clear + revoke on delete.
import assert from "node:assert/strict";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { type TestContext, test } from "node:test";
import { CORE } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { restartStamp } from "../support/db.ts";
import { eventually, isolatedNamespace, type TestEnv, testEnv } from "../support/env.ts";
import {
  decoded,
  defaultConnectionAndAuth,
  eventsFor,
  getStatus,
  type SecretLike,
  startOperator,
  vaultRoleFor,
  waitForCondition,
  waitForSecret,
} from "../support/operator.ts";

function certsOf(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map(
    (c) => new X509Certificate(c),
  );
}

async function revokedAt(env: TestEnv, mount: string, serial: string): Promise<number> {
  const r = await env.vault.call<{ data: { revocation_time: number } }>("GET", `${mount}/cert/${serial}`, {
    token: env.rootToken,
  });
  return r.json?.data.revocation_time ?? 0;
}

async function certCount(env: TestEnv, mount: string): Promise<number> {
  const r = await env.vault.call<{ data: { keys: string[] } }>("LIST", `${mount}/certs`, {
    token: env.rootToken,
    accept: [404],
  });
  return r.json?.data?.keys?.length ?? 0;
}

async function webDeployment(env: TestEnv, ns: string) {
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
}

function vps(name: string, spec: Record<string, unknown>, labels?: Record<string, string>) {
  return {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultPKISecret",
    metadata: { name, labels },
    spec,
  };
}

const serialOf = (s: SecretLike) => decoded(s).serial_number;

async function vpsStatus(env: TestEnv, ns: string, name: string) {
  return (await getStatus(env, "VaultPKISecret", ns, name)) as Record<string, unknown> & {
    serialNumber?: string;
    expiration?: number;
    lastRotation?: number;
    lastGeneration?: number;
    secretMAC?: string;
    valid?: boolean;
    error?: string;
    conditions?: { type: string; status: string; message: string }[];
  };
}

test("VaultPKISecret: TLS shape, renewal before expiry, re-issue on altNames change and destination loss, revoke", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "pki");
  const role = await vaultRoleFor(
    env,
    ns,
    "app",
    'path "pki/issue/default" { capabilities = ["update"] }\npath "pki/revoke" { capabilities = ["update"] }',
  );
  await defaultConnectionAndAuth(env, ns, role);
  await webDeployment(env, ns);
  await startOperator(t, env, { namespaces: [ns] });
  await env.kube.create(
    VSO.VaultPKISecret,
    ns,
    vps("cert", {
      mount: "pki",
      role: "default",
      commonName: "app.example.com",
      altNames: ["a.example.com", "b.example.com"],
      ipSans: ["127.0.0.1"],
      ttl: "10s",
      expiryOffset: "5s",
      revoke: true,
      destination: { name: "tls", create: true, type: "kubernetes.io/tls" },
      rolloutRestartTargets: [{ kind: "Deployment", name: "web" }],
    }),
  );

  // Shape of the first certificate.
  const s1 = await waitForSecret(env, ns, "tls");
  const seen1 = Date.now();
  assert.equal(s1.type, "kubernetes.io/tls");
  const d1 = decoded(s1);
  for (const key of [
    "certificate",
    "private_key",
    "issuing_ca",
    "serial_number",
    "expiration",
    "private_key_type",
    "_raw",
    "tls.crt",
    "tls.key",
    "ca.crt",
  ]) {
    assert.ok(key in d1, `Secret has ${key}`);
  }
  const [leaf, ...chain] = certsOf(d1["tls.crt"]);
  assert.ok(chain.length >= 1, "tls.crt carries the chain (or the issuing CA)");
  assert.equal(leaf.serialNumber.toLowerCase(), d1.serial_number.replaceAll(":", "").toLowerCase());
  assert.match(leaf.subject, /CN=app\.example\.com/);
  const sans = leaf.subjectAltName ?? "";
  for (const want of [
    /DNS:a\.example\.com/,
    /DNS:b\.example\.com/,
    /DNS:app\.example\.com/,
    /IP Address:127\.0\.0\.1/,
  ]) {
    assert.match(sans, want);
  }
  assert.ok(leaf.checkPrivateKey(createPrivateKey(d1["tls.key"])), "tls.key matches the certificate");
  assert.equal(d1["tls.key"], d1.private_key);
  const ca = new X509Certificate(d1["ca.crt"]);
  assert.ok(leaf.verify(ca.publicKey), "ca.crt signed the certificate");
  assert.ok(leaf.checkIssued(ca), "the leaf names ca.crt as its issuer");
  assert.equal(Number(d1.expiration), Math.floor(Date.parse(leaf.validTo) / 1000));
  assert.equal(JSON.parse(d1._raw).serial_number, d1.serial_number);
  // The status is committed just after the Secret is written.
  const st1 = await eventually("status of the first certificate", async () => {
    const st = await vpsStatus(env, ns, "cert");
    return st.serialNumber === d1.serial_number ? st : null;
  });
  assert.equal(st1.expiration, Number(d1.expiration));
  assert.equal(st1.valid, true);
  assert.equal(st1.error, "");
  assert.ok(st1.secretMAC && (st1.lastRotation ?? 0) > 0 && st1.lastGeneration === 1);
  assert.equal(st1.conditions?.find((c) => c.type === "Ready")?.status, "True");
  assert.doesNotMatch(JSON.stringify(st1), /BEGIN/, "no certificate or key in the status");
  assert.equal(await restartStamp(env, ns), undefined, "no restart on the first issue");

  // Renewal at expiration - expiryOffset, before the certificate expires.
  const s2 = await waitForSecret(env, ns, "tls", (s) => serialOf(s) !== d1.serial_number, 12_000);
  const renewedAt = Date.now();
  const serial2 = serialOf(s2);
  const due = (st1.expiration ?? 0) * 1000 - 5000;
  t.diagnostic(
    `renewal seen ${renewedAt - due} ms after its due time (expiration - 5 s), ` +
      `${renewedAt - seen1} ms after the first certificate was seen; old certificate expires ${Date.parse(leaf.validTo) - renewedAt} ms later`,
  );
  assert.ok(renewedAt < Date.parse(leaf.validTo), "renewed before the old certificate expired");
  assert.ok(renewedAt >= due - 1200, "not renewed much before its due time");
  assert.ok(Date.parse(certsOf(decoded(s2)["tls.crt"])[0].validTo) > Date.parse(leaf.validTo));
  await eventually(
    "previous serial revoked",
    async () => (await revokedAt(env, "pki", d1.serial_number)) > 0,
    10_000,
  ).catch(async (err) => {
    for (const e of await eventsFor(env, ns, "cert")) t.diagnostic(`${e.reason}: ${e.message}`);
    t.diagnostic(JSON.stringify(await vpsStatus(env, ns, "cert")));
    throw err;
  });
  await eventually("restart stamp after the rotation", () => restartStamp(env, ns), 5000);

  // A spec change re-issues at once (VSO #465).
  await env.kube.patch(
    VSO.VaultPKISecret,
    ns,
    "cert",
    { spec: { altNames: ["c.example.com"], ttl: "1h", expiryOffset: "0s" } },
    "merge",
  );
  const s3 = await waitForSecret(
    env,
    ns,
    "tls",
    (s) => /DNS:c\.example\.com/.test(certsOf(decoded(s)["tls.crt"])[0].subjectAltName ?? ""),
    10_000,
  );
  const serial3 = serialOf(s3);
  assert.notEqual(serial3, serial2);
  assert.doesNotMatch(certsOf(decoded(s3)["tls.crt"])[0].subjectAltName ?? "", /a\.example\.com/);
  await eventually("status follows the new certificate", async () => {
    const st = await vpsStatus(env, ns, "cert");
    return st.serialNumber === serial3 && st.lastGeneration === 2;
  });

  // The destination is deleted: a new certificate (the old one is gone with it).
  await env.kube.delete(CORE.secrets, ns, "tls");
  const s4 = await waitForSecret(env, ns, "tls", (s) => serialOf(s) !== serial3, 10_000);
  const serial4 = serialOf(s4);
  await eventually(
    "serial revoked after the re-issue",
    async () => (await revokedAt(env, "pki", serial3)) > 0,
    10_000,
  );

  // Its data is tampered with: a new certificate.
  const tampered = { ...(s4.data ?? {}), "tls.key": Buffer.from("not a key").toString("base64") };
  await env.kube.patch(CORE.secrets, ns, "tls", { data: tampered }, "merge");
  const s5 = await waitForSecret(env, ns, "tls", (s) => serialOf(s) !== serial4, 10_000);
  const d5 = decoded(s5);
  const leaf5 = certsOf(d5["tls.crt"])[0];
  assert.ok(leaf5.checkPrivateKey(createPrivateKey(d5["tls.key"])));

  // No certificate body or key ever reached an event.
  const events = await eventsFor(env, ns, "cert");
  assert.ok(events.some((e) => e.reason === "SecretRotated"));
  assert.ok(!events.some((e) => /BEGIN|PRIVATE KEY/.test(e.message ?? "")));

  await env.kube.delete(VSO.VaultPKISecret, ns, "cert");
  await eventually(
    "current serial revoked on delete",
    async () => (await revokedAt(env, "pki", d5.serial_number)) > 0,
    15_000,
  );
  await eventually(
    "resource gone",
    async () => (await env.kube.getOrNull(VSO.VaultPKISecret, ns, "cert")) === null,
    10_000,
  );
});

test("VaultPKISecret: issuerRef, create:false with clear, ForceSync, operator restart, offset longer than the TTL", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "pki");
  const mount = `pki-${ns}`;
  const root = { token: env.rootToken };
  await env.vault.call("POST", `sys/mounts/${mount}`, {
    ...root,
    body: { type: "pki", config: { max_lease_ttl: "24h" } },
  });
  t.after(() => env.vault.call("DELETE", `sys/mounts/${mount}`, root).catch(() => {}));
  // A root issuer (the mount's default) and an intermediate named ca-one that
  // only issuerRef selects.
  await env.vault.call("POST", `${mount}/root/generate/internal`, {
    ...root,
    body: { common_name: `${ns} root`, ttl: "24h", issuer_name: "root" },
  });
  const csr = await env.vault.call<{ data: { csr: string } }>(
    "POST",
    `${mount}/intermediate/generate/internal`,
    {
      ...root,
      body: { common_name: `${ns} intermediate` },
    },
  );
  const signed = await env.vault.call<{ data: { certificate: string } }>(
    "POST",
    `${mount}/issuer/root/sign-intermediate`,
    { ...root, body: { csr: csr.json?.data.csr, common_name: `${ns} intermediate`, ttl: "23h" } },
  );
  const imported = await env.vault.call<{ data: { imported_issuers: string[] } }>(
    "POST",
    `${mount}/intermediate/set-signed`,
    { ...root, body: { certificate: signed.json?.data.certificate } },
  );
  const intermediateId = imported.json?.data.imported_issuers[0];
  await env.vault.call("PATCH", `${mount}/issuer/${intermediateId}`, {
    ...root,
    body: { issuer_name: "ca-one" },
  });
  await env.vault.call("POST", `${mount}/roles/web`, {
    ...root,
    body: { allow_any_name: true, allowed_uri_sans: ["spiffe://*"], max_ttl: "1h" },
  });
  const role = await vaultRoleFor(
    env,
    ns,
    "app",
    `path "${mount}/issuer/ca-one/issue/web" { capabilities = ["update"] }\npath "${mount}/revoke" { capabilities = ["update"] }`,
  );
  await defaultConnectionAndAuth(env, ns, role);
  await webDeployment(env, ns);
  const spec = {
    mount,
    role: "web",
    issuerRef: "ca-one",
    commonName: "svc.internal",
    altNames: ["alt.internal"],
    uriSans: ["spiffe://cluster/ns/app"],
    excludeCNFromSans: true,
    ttl: "30m",
    revoke: true,
    clear: true,
    destination: { name: "pre", create: false },
    rolloutRestartTargets: [{ kind: "Deployment", name: "web" }],
  };

  let serial1 = "";
  let stampBefore: string | undefined;
  await t.test("first operator", async (st: TestContext) => {
    await startOperator(st, env, { namespaces: [ns] });
    const certsBefore = await certCount(env, mount);
    await env.kube.create(VSO.VaultPKISecret, ns, vps("cert", spec, { team: "a" }));
    // The create:false destination does not exist yet: a clear error, and no certificate minted.
    await waitForCondition(env, "VaultPKISecret", ns, "cert", "SecretSynced", "False", /does not exist/);
    const stErr = await vpsStatus(env, ns, "cert");
    assert.equal(stErr.valid, false);
    assert.match(stErr.error ?? "", /spec\.destination\.create/);
    assert.equal(
      await certCount(env, mount),
      certsBefore,
      "nothing issued for a destination that cannot be written",
    );

    await env.kube.create(CORE.secrets, ns, {
      metadata: { name: "pre", labels: { mine: "yes" } },
      type: "Opaque",
      data: { foreign: Buffer.from("x").toString("base64") },
    });
    const s1 = await waitForSecret(env, ns, "pre", (s) => Boolean(s.data?.certificate), 15_000);
    const d1 = decoded(s1);
    assert.equal(s1.metadata.labels?.mine, "yes", "create:false keeps the Secret's own metadata");
    assert.ok(!("foreign" in d1), "the whole data is replaced");
    assert.ok(!("tls.crt" in d1), "no TLS mapping for an Opaque destination");
    const leaf = new X509Certificate(d1.certificate);
    const ca = new X509Certificate(d1.issuing_ca);
    assert.ok(leaf.verify(ca.publicKey));
    assert.match(ca.subject, new RegExp(`CN=${ns} intermediate`), "issued by the issuerRef, not the default");
    // ca_chain: the chain without the root (remove_roots_from_chain), PEMs joined by newlines.
    const chain = certsOf(d1.ca_chain);
    assert.equal(chain.length, 1);
    assert.equal(chain[0].fingerprint256, ca.fingerprint256);
    assert.match(
      new X509Certificate(signed.json?.data.certificate ?? "").issuer,
      new RegExp(`CN=${ns} root`),
    );
    assert.match(leaf.subject, /CN=svc\.internal/);
    const sans = leaf.subjectAltName ?? "";
    assert.match(sans, /DNS:alt\.internal/);
    assert.match(sans, /URI:spiffe:\/\/cluster\/ns\/app/);
    assert.doesNotMatch(sans, /svc\.internal/, "excludeCNFromSans");
    assert.ok(leaf.checkPrivateKey(createPrivateKey(d1.private_key)));
    await waitForCondition(env, "VaultPKISecret", ns, "cert", "Ready", "True");

    // A label change forces a new certificate (ForceSync).
    await env.kube.patch(VSO.VaultPKISecret, ns, "cert", { metadata: { labels: { team: "b" } } }, "merge");
    const s2 = await waitForSecret(env, ns, "pre", (s) => serialOf(s) !== d1.serial_number, 10_000);
    serial1 = serialOf(s2);
    await eventually("status holds the ForceSync serial", async () => {
      return (await vpsStatus(env, ns, "cert")).serialNumber === serial1;
    });
    await eventually("restart after the ForceSync rotation", () => restartStamp(env, ns), 5000);
    stampBefore = await restartStamp(env, ns);
  });

  await t.test("second operator", async (st: TestContext) => {
    // A new operator process finds the certificate current: nothing is issued, nothing restarted.
    const restartedAt = Date.now();
    await startOperator(st, env, { namespaces: [ns] });
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal((await vpsStatus(env, ns, "cert")).serialNumber, serial1);
    assert.equal(serialOf(await waitForSecret(env, ns, "pre")), serial1);
    assert.equal(await restartStamp(env, ns), stampBefore, "no restart after an operator restart");
    assert.ok(
      !(await eventsFor(env, ns, "cert")).some(
        (e) =>
          Date.parse(String((e as { lastTimestamp?: string }).lastTimestamp ?? "")) > restartedAt &&
          e.reason === "SecretRotated",
      ),
    );

    // expiryOffset (1h) longer than the certificate's life (6 s): renewed at half
    // of the life, before expiry, and not in a tight loop (never stuck in the window, VSO #1064).
    await env.kube.patch(
      VSO.VaultPKISecret,
      ns,
      "cert",
      { spec: { ttl: "6s", expiryOffset: "1h" } },
      "merge",
    );
    const seen: { serial: string; at: number; validTo: number }[] = [];
    await eventually(
      "three short-lived certificates",
      async () => {
        const s = (await env.kube.getOrNull(CORE.secrets, ns, "pre")) as SecretLike | null;
        const serial = s ? serialOf(s) : "";
        if (serial && serial !== serial1 && !seen.some((x) => x.serial === serial)) {
          const c = new X509Certificate(decoded(s).certificate);
          seen.push({ serial, at: Date.now(), validTo: Date.parse(c.validTo) });
        }
        return seen.length >= 3;
      },
      30_000,
      100,
    );
    t.diagnostic(
      `short-lived certificates seen at ${seen.map((x) => x.at - seen[0].at).join(", ")} ms, ` +
        `valid until ${seen.map((x) => x.validTo - seen[0].at).join(", ")} ms`,
    );
    for (let i = 1; i < seen.length; i++) {
      assert.ok(
        seen[i].at <= seen[i - 1].validTo + 500,
        "each successor arrives before its predecessor expires",
      );
      assert.ok(seen[i].at - seen[i - 1].at >= 300, "no tight re-issue loop");
    }
    t.diagnostic(
      `short-lived certificates renewed after ${seen
        .slice(1)
        .map((x, i) => x.at - seen[i].at)
        .join(", ")} ms`,
    );
    assert.ok((await eventsFor(env, ns, "cert")).some((e) => e.reason === "InRenewalWindow"));

    // Back to a long life, then delete: the data is cleared and the serial revoked.
    await env.kube.patch(
      VSO.VaultPKISecret,
      ns,
      "cert",
      { spec: { ttl: "30m", expiryOffset: "0s" } },
      "merge",
    );
    await eventually("long-lived certificate", async () => {
      const st = await vpsStatus(env, ns, "cert");
      return st.lastGeneration === 3 && (st.expiration ?? 0) * 1000 > Date.now() + 600_000 ? st : null;
    });
    const last = (await vpsStatus(env, ns, "cert")).serialNumber ?? "";
    await env.kube.delete(VSO.VaultPKISecret, ns, "cert");
    await eventually(
      "destination cleared",
      async () =>
        Object.keys(((await env.kube.get(CORE.secrets, ns, "pre")) as SecretLike).data ?? {}).length === 0,
      15_000,
    );
    await eventually(
      "current serial revoked on delete",
      async () => (await revokedAt(env, mount, last)) > 0,
      10_000,
    );
    assert.ok(await env.kube.getOrNull(CORE.secrets, ns, "pre"), "create:false: the Secret itself stays");
  });
});
