// VaultConnection TLS settings against an OpenBao dev server with TLS:
// the CA from a Secret or a file, skipTLSVerify, tlsServerName, and clear
// conditions when verification fails.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
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
  await startOperator(t, env, { namespaces: [ns] });
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
