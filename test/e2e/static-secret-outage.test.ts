// Vault frozen (SIGSTOP) for longer than a refresh: the destination Secret is
// left exactly as it was, SecretSynced turns False with the reason, and the
// sync recovers after SIGCONT. Runs against its own OpenBao so that freezing it
// does not disturb tests running in parallel.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { requireTools } from "../../src/dev/paths.ts";
import { TOKEN_REVIEWER_NAMESPACE, TOKEN_REVIEWER_SA } from "../../src/dev/playground-config.ts";
import { stopAll } from "../../src/dev/processes.ts";
import { startOpenBao } from "../../src/dev/servers/openbao.ts";
import { CORE } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { VaultHttp } from "../../src/vault/http.ts";
import { isolatedNamespace, testEnv } from "../support/env.ts";
import { decoded, getStatus, startOperator, waitForCondition, waitForSecret } from "../support/operator.ts";

test("Vault frozen: Secret untouched, condition reported, recovery after SIGCONT", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "outage");
  const dir = mkdtempSync(join(tmpdir(), "vso-outage-"));
  const token = "root-outage";
  const bao = await startOpenBao(dir, requireTools(["bao"]).bao, token);
  t.after(async () => {
    try {
      process.kill(bao.process.pid, "SIGCONT");
    } catch {}
    await stopAll(dir);
  });
  const vault = new VaultHttp({ address: bao.address });
  const reviewer = (await env.kube.raw(
    "POST",
    env.kube.path(CORE.serviceaccounts, TOKEN_REVIEWER_NAMESPACE, TOKEN_REVIEWER_SA, "token"),
    {
      spec: { expirationSeconds: 3600 },
    },
  )) as { status: { token: string } };
  await vault.call("POST", "sys/auth/kubernetes", { token, body: { type: "kubernetes" } });
  await vault.call("POST", "auth/kubernetes/config", {
    token,
    body: {
      kubernetes_host: env.state.kube.server,
      kubernetes_ca_cert: readFileSync(env.state.kube.caFile, "utf8"),
      token_reviewer_jwt: reviewer.status.token,
      disable_local_ca_jwt: true,
    },
  });
  await vault.call("PUT", "sys/policies/acl/app", {
    token,
    body: { policy: 'path "secret/data/app" { capabilities = ["read"] }' },
  });
  await vault.call("POST", "auth/kubernetes/role/app", {
    token,
    body: {
      bound_service_account_names: ["app"],
      bound_service_account_namespaces: [ns],
      policies: ["app"],
      ttl: "1h",
    },
  });
  await vault.call("POST", "secret/data/app", { token, body: { data: { k: "before" } } });
  await env.kube.create(CORE.serviceaccounts, ns, { metadata: { name: "app" } });
  await env.kube.create(VSO.VaultConnection, ns, {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultConnection",
    metadata: { name: "default" },
    spec: { address: bao.address, timeout: "1s" },
  });
  await env.kube.create(VSO.VaultAuth, ns, {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultAuth",
    metadata: { name: "default" },
    spec: { method: "kubernetes", mount: "kubernetes", kubernetes: { role: "app", serviceAccount: "app" } },
  });
  await startOperator(t, env, { namespaces: [ns] });
  await env.kube.create(VSO.VaultStaticSecret, ns, {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultStaticSecret",
    metadata: { name: "s" },
    spec: {
      mount: "secret",
      type: "kv-v2",
      path: "app",
      refreshAfter: "1s",
      destination: { name: "s", create: true },
    },
  });
  const before = await waitForSecret(env, ns, "s");
  assert.equal(decoded(before).k, "before");

  process.kill(bao.process.pid, "SIGSTOP");
  const c = await waitForCondition(
    env,
    "VaultStaticSecret",
    ns,
    "s",
    "SecretSynced",
    "False",
    undefined,
    15_000,
  );
  assert.ok(c.message.length > 0, "the condition says why");
  await new Promise((r) => setTimeout(r, 3000)); // several refresh periods while frozen
  const during = await env.kube.get(CORE.secrets, ns, "s");
  assert.equal(
    during.metadata.resourceVersion,
    before.metadata.resourceVersion,
    "the Secret was not touched",
  );
  assert.deepEqual(decoded(during as never), decoded(before));
  const st = await getStatus(env, "VaultStaticSecret", ns, "s");
  assert.ok(st.secretMAC, "the last good MAC is kept");

  process.kill(bao.process.pid, "SIGCONT");
  await vault.call("POST", "secret/data/app", { token, body: { data: { k: "after" } } });
  await waitForSecret(env, ns, "s", (s) => decoded(s).k === "after", 20_000);
  await waitForCondition(env, "VaultStaticSecret", ns, "s", "SecretSynced", "True");
});
