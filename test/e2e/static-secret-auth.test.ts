// Auth paths of the operator against the real API server and OpenBao:
// allowedNamespaces, jwt (service account token and Secret), appRole (a Secret;
// secretIDPath refused), and a fresh login after a 403 when a role's policies change.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { CORE } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { isolatedNamespace, type TestEnv, testEnv } from "../support/env.ts";
import {
  decoded,
  defaultConnectionAndAuth,
  kvPut,
  startOperator,
  vaultRoleFor,
  waitForCondition,
  waitForSecret,
} from "../support/operator.ts";

async function enable(env: TestEnv, type: string, path: string) {
  await env.vault.call("POST", `sys/auth/${path}`, { token: env.rootToken, body: { type } }).catch(() => {});
}

async function readPolicy(env: TestEnv, ns: string) {
  const name = `read-${ns}`;
  await env.vault.call("PUT", `sys/policies/acl/${name}`, {
    token: env.rootToken,
    body: { policy: `path "secret/data/${ns}/*" { capabilities = ["read"] }` },
  });
  return name;
}

function vssBody(ns: string, name: string, auth: string) {
  return {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultStaticSecret",
    metadata: { name },
    spec: {
      vaultAuthRef: auth,
      mount: "secret",
      type: "kv-v2",
      path: `${ns}/s`,
      destination: { name, create: true },
    },
  };
}

test("allowedNamespaces: a VaultAuth in another namespace is denied until allowed", async (t) => {
  const env = await testEnv();
  const owner = await isolatedNamespace(t, env, "own");
  const consumer = await isolatedNamespace(t, env, "use");
  const role = await vaultRoleFor(env, consumer);
  await defaultConnectionAndAuth(env, owner, role);
  await env.kube.create(VSO.VaultAuth, owner, {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultAuth",
    metadata: { name: "shared" },
    spec: {
      vaultConnectionRef: "default",
      method: "kubernetes",
      mount: "kubernetes",
      kubernetes: { role, serviceAccount: "app" },
    },
  });
  await kvPut(env, `${consumer}/s`, { k: "v" });
  await startOperator(t, env, { namespaces: [owner, consumer], operatorNamespace: owner });
  await env.kube.create(VSO.VaultStaticSecret, consumer, vssBody(consumer, "x", `${owner}/shared`));
  const c = await waitForCondition(
    env,
    "VaultStaticSecret",
    consumer,
    "x",
    "SecretSynced",
    "False",
    /does not allow/,
  );
  assert.match(c.message, /spec\.vaultAuthRef/);
  assert.match(c.message, new RegExp(`namespace "${consumer}"`));
  assert.equal(await env.kube.getOrNull(CORE.secrets, consumer, "x"), null);
  await env.kube.patch(VSO.VaultAuth, owner, "shared", { spec: { allowedNamespaces: [consumer] } }, "merge");
  const s = await waitForSecret(env, consumer, "x", () => true, 15_000);
  assert.equal(decoded(s).k, "v");
  // The operator namespace's default VaultAuth is usable from every namespace.
  await env.kube.create(VSO.VaultStaticSecret, consumer, vssBody(consumer, "via-default", ""));
  assert.equal(decoded(await waitForSecret(env, consumer, "via-default")).k, "v");
});

test("jwt login with a service account token and with a Secret", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "jwt");
  await enable(env, "jwt", "jwt");
  await env.vault.call("POST", "auth/jwt/config", {
    token: env.rootToken,
    body: {
      jwt_validation_pubkeys: [readFileSync(join(env.state.dir, "pki", "sa.pub"), "utf8")],
      bound_issuer: env.state.kube.server,
    },
  });
  const policy = await readPolicy(env, ns);
  await env.vault.call("POST", `auth/jwt/role/${ns}`, {
    token: env.rootToken,
    body: {
      role_type: "jwt",
      bound_audiences: ["vault"],
      user_claim: "sub",
      bound_subject: `system:serviceaccount:${ns}:app`,
      policies: [policy],
      ttl: "1h",
    },
  });
  await env.kube.create(CORE.serviceaccounts, ns, { metadata: { name: "app" } });
  const minted = (await env.kube.raw("POST", env.kube.path(CORE.serviceaccounts, ns, "app", "token"), {
    spec: { audiences: ["vault"], expirationSeconds: 3600 },
  })) as { status: { token: string } };
  await env.kube.create(CORE.secrets, ns, {
    metadata: { name: "jwt-src" },
    stringData: { jwt: minted.status.token },
  });
  await kvPut(env, `${ns}/s`, { k: "jwt-ok" });
  await defaultConnectionAndAuth(env, ns, "unused");
  for (const [name, jwt] of [
    ["by-sa", { role: ns, serviceAccount: "app", audiences: ["vault"] }],
    ["by-secret", { role: ns, secretRef: "jwt-src" }],
  ] as const) {
    await env.kube.create(VSO.VaultAuth, ns, {
      apiVersion: "secrets.hashicorp.com/v1beta1",
      kind: "VaultAuth",
      metadata: { name },
      spec: { vaultConnectionRef: "default", method: "jwt", mount: "jwt", jwt },
    });
    await env.kube.create(VSO.VaultStaticSecret, ns, vssBody(ns, name, name));
  }
  await startOperator(t, env, { namespaces: [ns] });
  assert.equal(decoded(await waitForSecret(env, ns, "by-sa")).k, "jwt-ok");
  assert.equal(decoded(await waitForSecret(env, ns, "by-secret")).k, "jwt-ok");
});

test("appRole login with a Secret; secretIDPath (a file of the operator's Pod) is refused at apply", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "ar");
  await enable(env, "approle", "approle");
  const policy = await readPolicy(env, ns);
  await env.vault.call("POST", `auth/approle/role/${ns}`, {
    token: env.rootToken,
    body: { token_policies: [policy] },
  });
  const roleId = (
    await env.vault.call<{ data: { role_id: string } }>("GET", `auth/approle/role/${ns}/role-id`, {
      token: env.rootToken,
    })
  ).json!.data.role_id;
  const secretId = async () =>
    (
      await env.vault.call<{ data: { secret_id: string } }>("POST", `auth/approle/role/${ns}/secret-id`, {
        token: env.rootToken,
      })
    ).json!.data.secret_id;
  await env.kube.create(CORE.secrets, ns, {
    metadata: { name: "ar-secret" },
    stringData: { id: await secretId() },
  });
  await kvPut(env, `${ns}/s`, { k: "approle-ok" });
  await defaultConnectionAndAuth(env, ns, "unused");
  const appRoleAuth = (name: string, appRole: Record<string, string>) =>
    env.kube.create(VSO.VaultAuth, ns, {
      apiVersion: "secrets.hashicorp.com/v1beta1",
      kind: "VaultAuth",
      metadata: { name },
      spec: { vaultConnectionRef: "default", method: "appRole", mount: "approle", appRole },
    });
  await appRoleAuth("ar-secret", { roleId, secretRef: "ar-secret" });
  await env.kube.create(VSO.VaultStaticSecret, ns, vssBody(ns, "ar-secret-dest", "ar-secret"));
  // A tenant naming the operator's own ServiceAccount token (issue 22): the API server refuses it.
  await assert.rejects(
    appRoleAuth("ar-file", { roleId, secretIDPath: "/var/run/secrets/kubernetes.io/serviceaccount/token" }),
    /secretIDPath is not supported .*secretRef/,
  );
  await startOperator(t, env, { namespaces: [ns] });
  assert.equal(decoded(await waitForSecret(env, ns, "ar-secret-dest")).k, "approle-ok");
});

test("a 403 after a role's policies change triggers a fresh login (VSO #1185)", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "relog");
  const role = await vaultRoleFor(env, ns);
  // First the role grants nothing useful.
  await env.vault.call("POST", `auth/kubernetes/role/${role}`, {
    token: env.rootToken,
    body: {
      bound_service_account_names: ["app"],
      bound_service_account_namespaces: [ns],
      policies: ["default"],
      ttl: "1h",
    },
  });
  await defaultConnectionAndAuth(env, ns, role);
  await kvPut(env, `${ns}/s`, { k: "after-relogin" });
  await startOperator(t, env, { namespaces: [ns] });
  await env.kube.create(VSO.VaultStaticSecret, ns, vssBody(ns, "r", ""));
  await waitForCondition(env, "VaultStaticSecret", ns, "r", "SecretSynced", "False", /403/);
  // Now grant access by changing the role's policy list: tokens issued before keep the old list.
  await env.vault.call("POST", `auth/kubernetes/role/${role}`, {
    token: env.rootToken,
    body: {
      bound_service_account_names: ["app"],
      bound_service_account_namespaces: [ns],
      policies: [role],
      ttl: "1h",
    },
  });
  assert.equal(decoded(await waitForSecret(env, ns, "r", () => true, 20_000)).k, "after-relogin");
});

test("VaultAuthGlobal: a VaultAuth that only references the default global logs in with its settings", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "glob");
  const role = await vaultRoleFor(env, ns);
  await defaultConnectionAndAuth(env, ns, role);
  await env.kube.create(VSO.VaultAuthGlobal, ns, {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultAuthGlobal",
    metadata: { name: "default" },
    spec: {
      vaultConnectionRef: "default",
      defaultAuthMethod: "kubernetes",
      defaultMount: "kubernetes",
      kubernetes: { role, serviceAccount: "app" },
    },
  });
  await env.kube.create(VSO.VaultAuth, ns, {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultAuth",
    metadata: { name: "inherits" },
    spec: { vaultAuthGlobalRef: { allowDefault: true } },
  });
  await kvPut(env, `${ns}/s`, { k: "from-global" });
  await startOperator(t, env, { namespaces: [ns] });
  await env.kube.create(VSO.VaultStaticSecret, ns, vssBody(ns, "g", "inherits"));
  assert.equal(decoded(await waitForSecret(env, ns, "g")).k, "from-global");
  const c = await waitForCondition(env, "VaultAuth", ns, "inherits", "Available", "True");
  assert.match(c.message, new RegExp(`VaultAuthGlobal ${ns}/default`));
});
