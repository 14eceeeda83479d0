// The cluster admin's guard rails for tenants (issue 22), against the real API
// server and OpenBao, beside a healthy tenant:
// - a tenant VaultConnection outside --tenant-vault-addresses gets a
//   condition naming spec.address, and its "Vault" (a listener of the test)
//   receives no connection at all: no login, no ServiceAccount token;
// - --tenant-token-audiences replaces the audiences a tenant's VaultAuth asks
//   for: a Vault role that only accepts the admin's audience logs the tenant
//   in although its VaultAuth asks for another one.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { VSO } from "../../src/operator/resources.ts";
import { isolatedNamespace, testEnv } from "../support/env.ts";
import {
  decoded,
  defaultConnectionAndAuth,
  kvPut,
  startOperator,
  vaultRoleFor,
  waitForCondition,
  waitForSecret,
} from "../support/operator.ts";

const API = "secrets.hashicorp.com/v1beta1";

test("tenant guard rails: a disallowed Vault address is never contacted; tenant tokens carry the admin's audience", async (t) => {
  const env = await testEnv();
  const admin = await isolatedNamespace(t, env, "tg-admin");
  const healthy = await isolatedNamespace(t, env, "tg-ok");
  const hostile = await isolatedNamespace(t, env, "tg-evil");

  // The hostile tenant's "Vault": it counts connections and answers nothing.
  let connections = 0;
  const listener = createServer((sock) => {
    connections++;
    sock.destroy();
  });
  await new Promise<void>((r) => listener.listen(0, "127.0.0.1", r));
  t.after(() => listener.close());
  const evil = `http://127.0.0.1:${(listener.address() as { port: number }).port}`;

  // The healthy tenant: a role that accepts only the admin's audience, and a VaultAuth asking for another.
  const role = await vaultRoleFor(env, healthy);
  await env.vault.call("POST", `auth/kubernetes/role/${role}`, {
    token: env.rootToken,
    body: {
      bound_service_account_names: ["app"],
      bound_service_account_namespaces: [healthy],
      policies: [role],
      audience: "vault-admin-audience",
      ttl: "1h",
    },
  });
  await defaultConnectionAndAuth(env, healthy, role);
  await env.kube.patch(
    VSO.VaultAuth,
    healthy,
    "default",
    { spec: { vaultConnectionRef: "default", kubernetes: { audiences: ["tenant-chosen"] } } },
    "merge",
  );
  await kvPut(env, `${healthy}/s`, { k: "synced" });
  await env.kube.create(VSO.VaultStaticSecret, healthy, {
    apiVersion: API,
    kind: "VaultStaticSecret",
    metadata: { name: "s" },
    spec: {
      mount: "secret",
      type: "kv-v2",
      path: `${healthy}/s`,
      vaultAuthRef: "default",
      destination: { name: "s", create: true },
    },
  });

  await env.kube.create(VSO.VaultConnection, hostile, {
    apiVersion: API,
    kind: "VaultConnection",
    metadata: { name: "default" },
    spec: { address: evil },
  });
  await env.kube.create(VSO.VaultAuth, hostile, {
    apiVersion: API,
    kind: "VaultAuth",
    metadata: { name: "default" },
    spec: {
      vaultConnectionRef: "default",
      method: "kubernetes",
      mount: "kubernetes",
      kubernetes: { role: "r", serviceAccount: "default" },
    },
  });
  await env.kube.create(VSO.VaultStaticSecret, hostile, {
    apiVersion: API,
    kind: "VaultStaticSecret",
    metadata: { name: "s" },
    spec: {
      mount: "secret",
      type: "kv-v2",
      path: "x",
      vaultAuthRef: "default",
      destination: { name: "s", create: true },
    },
  });

  await startOperator(t, env, {
    namespaces: [admin, healthy, hostile],
    operatorNamespace: admin,
    args: [
      `--tenant-vault-addresses=${new URL(env.state.vault.address).origin}`,
      "--tenant-token-audiences=vault-admin-audience",
      "--tenant-token-max-expiration-seconds=600",
    ],
  });
  assert.equal(decoded(await waitForSecret(env, healthy, "s")).k, "synced", "the admin's audience was used");
  const c = await waitForCondition(env, "VaultConnection", hostile, "default", "Healthy", "False");
  assert.match(
    c.message,
    /spec\.address: spec\.address http:\/\/127\.0\.0\.1:\d+ is not among the Vault addresses/,
  );
  const s = await waitForCondition(
    env,
    "VaultStaticSecret",
    hostile,
    "s",
    "SecretSynced",
    "False",
    /not among the Vault addresses/,
  );
  assert.match(s.message, /no request was sent to it/);
  await sleep(3_000); // retries included
  assert.equal(connections, 0, "the disallowed address never saw a connection");
});
