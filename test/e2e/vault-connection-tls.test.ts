// VaultConnection TLS settings against an OpenBao dev server with TLS:
// the CA from a Secret or a file, skipTLSVerify, tlsServerName, and clear
// conditions when verification fails.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Agent, request } from "undici";
import { requireTools } from "../../src/dev/paths.ts";
import { startDaemon, stopAll } from "../../src/dev/processes.ts";
import { waitHealthy } from "../../src/dev/wait.ts";
import { CORE } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { freePort } from "../../src/util/net.ts";
import { isolatedNamespace, testEnv } from "../support/env.ts";
import { startOperator, waitForCondition } from "../support/operator.ts";

test("VaultConnection TLS: CA from a Secret or a file, skipTLSVerify, tlsServerName", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "tls");
  const dir = mkdtempSync(join(tmpdir(), "vso-tls-"));
  const port = await freePort();
  const certDir = join(dir, "certs");
  mkdirSync(certDir);
  const proc = startDaemon(dir, {
    name: "openbao-tls",
    command: requireTools(["bao"]).bao,
    args: [
      "server",
      "-dev",
      "-dev-tls",
      `-dev-tls-cert-dir=${certDir}`,
      `-dev-listen-address=127.0.0.1:${port}`,
      "-dev-root-token-id=r",
      "-dev-no-store-token",
    ],
  });
  t.after(() => stopAll(dir));
  const address = `https://127.0.0.1:${port}`;
  await waitHealthy(
    "OpenBao with TLS",
    proc,
    async () => {
      const ca = readFileSync(join(certDir, "vault-ca.pem"), "utf8");
      const res = await request(`${address}/v1/sys/health`, { dispatcher: new Agent({ connect: { ca } }) });
      await res.body.text();
      return res.statusCode === 200;
    },
    30_000,
  );
  const caPath = join(certDir, "vault-ca.pem");
  await env.kube.create(CORE.secrets, ns, {
    metadata: { name: "vault-ca" },
    stringData: { "ca.crt": readFileSync(caPath, "utf8") },
  });
  const conn = (name: string, spec: Record<string, unknown>) =>
    env.kube.create(VSO.VaultConnection, ns, {
      apiVersion: "secrets.hashicorp.com/v1beta1",
      kind: "VaultConnection",
      metadata: { name },
      spec: { address, ...spec },
    });
  await conn("ca-secret", { caCertSecretRef: "vault-ca" });
  await conn("ca-path", { caCertPath: caPath });
  await conn("ca-secret-servername", { caCertSecretRef: "vault-ca", tlsServerName: "localhost" });
  await conn("skip-verify", { skipTLSVerify: true });
  await conn("no-ca", {});
  await conn("wrong-servername", { caCertSecretRef: "vault-ca", tlsServerName: "vault.example.com" });
  await conn("missing-ca-secret", { caCertSecretRef: "nope" });
  // spec.caCertPath reads only under --vault-ca-cert-dir, and only for the operator's namespace
  // (issue 22): a copy of the same CA elsewhere, a link out of the directory, a missing file and
  // the operator's own token all get one and the same refusal, so nothing can be probed.
  const outside = join(dir, "outside-ca.pem");
  writeFileSync(outside, readFileSync(caPath));
  symlinkSync(outside, join(certDir, "link-out.pem"));
  const refused = {
    "ca-outside": outside,
    "ca-link-out": join(certDir, "link-out.pem"),
    "ca-missing": join(certDir, "nope.pem"),
    "ca-token": "/var/run/secrets/kubernetes.io/serviceaccount/token",
    "ca-proc": "/proc/self/environ",
  };
  for (const [name, path] of Object.entries(refused)) await conn(name, { caCertPath: path });
  const tenant = await isolatedNamespace(t, env, "tls-tenant");
  await env.kube.create(VSO.VaultConnection, tenant, {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultConnection",
    metadata: { name: "tenant-ca-path" },
    spec: { address, caCertPath: caPath },
  });
  await startOperator(t, env, {
    namespaces: [ns, tenant],
    operatorNamespace: ns,
    args: [`--vault-ca-cert-dir=${certDir}`],
  });
  const messages = new Set<string>();
  for (const name of Object.keys(refused)) {
    const c = await waitForCondition(env, "VaultConnection", ns, name, "Healthy", "False");
    messages.add(c.message);
  }
  assert.equal(messages.size, 1, [...messages].join("\n"));
  assert.match(
    [...messages][0],
    new RegExp(`spec\\.caCertPath must name a readable file .* under ${certDir}`),
  );
  const other = await waitForCondition(env, "VaultConnection", tenant, "tenant-ca-path", "Healthy", "False");
  assert.match(other.message, new RegExp(`only for VaultConnections in the operator's namespace ${ns}`));
  for (const name of ["ca-secret", "ca-path", "ca-secret-servername", "skip-verify"]) {
    await waitForCondition(env, "VaultConnection", ns, name, "Healthy", "True");
  }
  const noCa = await waitForCondition(env, "VaultConnection", ns, "no-ca", "Healthy", "False");
  assert.match(noCa.message, /certificate|self.signed|issuer/i);
  const wrong = await waitForCondition(env, "VaultConnection", ns, "wrong-servername", "Healthy", "False");
  assert.match(wrong.message, /altnames|hostname|vault\.example\.com/i);
  const missing = await waitForCondition(env, "VaultConnection", ns, "missing-ca-secret", "Healthy", "False");
  assert.match(missing.message, /spec\.caCertSecretRef: CA Secret .*\/nope not found/);
  const st = (await env.kube.get(VSO.VaultConnection, ns, "ca-secret")) as unknown as {
    status: { valid: boolean };
  };
  assert.equal(st.status.valid, true);
});
