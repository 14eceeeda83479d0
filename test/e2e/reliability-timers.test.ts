// Issue 10, defect 2: a requeue delay beyond Node's 32-bit timer limit (~24.8
// days) used to fire after 1 ms, so a 720h certificate or a 1000h lease made
// the operator reconcile hundreds of times a second. Both must now reconcile
// a bounded number of times.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { test } from "node:test";
import { DB_CREATION_STATEMENTS } from "../../src/dev/playground-config.ts";
import type { ManagerHandle } from "../../src/operator/manager.ts";
import { VSO } from "../../src/operator/resources.ts";
import { MAX_TIMER_DELAY_MS } from "../../src/util/timers.ts";
import { eventually, isolatedNamespace, testEnv } from "../support/env.ts";
import {
  decoded,
  defaultConnectionAndAuth,
  getStatus,
  startOperator,
  vaultRoleFor,
  waitForSecret,
} from "../support/operator.ts";

async function reconciles(mgr: ManagerHandle, controller: string): Promise<number> {
  const m = await mgr.ctx.metrics.reconcileTotal.get();
  return m.values.filter((v) => v.labels.controller === controller).reduce((a, v) => a + v.value, 0);
}

test("a 720h certificate and a 1000h lease do not make the operator loop", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "rel-timer");
  const root = { token: env.rootToken };
  // A database mount of our own whose leases may last 1000h (the default mount caps them at 768h).
  const mount = `db-${ns}`;
  await env.vault.call("POST", `sys/mounts/${mount}`, {
    ...root,
    body: { type: "database", config: { max_lease_ttl: "87600h", default_lease_ttl: "1000h" } },
  });
  t.after(() => env.vault.call("DELETE", `sys/mounts/${mount}`, root).catch(() => {}));
  await env.vault.call("POST", `${mount}/config/pg`, {
    ...root,
    body: {
      plugin_name: "postgresql-database-plugin",
      allowed_roles: ["*"],
      connection_url: `postgresql://{{username}}:{{password}}@${env.state.postgres.host}:${env.state.postgres.port}/mydb?sslmode=disable`,
      username: "vaultadmin",
      password: "vaultpassword",
    },
  });
  await env.vault.call("POST", `${mount}/roles/long`, {
    ...root,
    body: {
      db_name: "pg",
      creation_statements: DB_CREATION_STATEMENTS,
      default_ttl: "1000h",
      max_ttl: "1000h",
    },
  });
  const role = await vaultRoleFor(
    env,
    ns,
    "app",
    [
      'path "pki/issue/default" { capabilities = ["update"] }',
      `path "${mount}/creds/long" { capabilities = ["read"] }`,
      'path "sys/leases/renew" { capabilities = ["update"] }',
      'path "sys/leases/revoke" { capabilities = ["update"] }',
    ].join("\n"),
  );
  await defaultConnectionAndAuth(env, ns, role);
  const mgr = await startOperator(t, env, { namespaces: [ns] });
  const meta = { apiVersion: "secrets.hashicorp.com/v1beta1" };
  await env.kube.create(VSO.VaultPKISecret, ns, {
    ...meta,
    kind: "VaultPKISecret",
    metadata: { name: "cert" },
    spec: {
      mount: "pki",
      role: "default",
      commonName: "long.example.com",
      ttl: "720h",
      destination: { name: "cert", create: true },
    },
  });
  await env.kube.create(VSO.VaultDynamicSecret, ns, {
    ...meta,
    kind: "VaultDynamicSecret",
    metadata: { name: "creds" },
    spec: { mount, path: "creds/long", destination: { name: "creds", create: true } },
  });

  const cert = new X509Certificate(decoded(await waitForSecret(env, ns, "cert")).certificate);
  assert.ok(
    Date.parse(cert.validTo) - Date.now() > MAX_TIMER_DELAY_MS,
    `the certificate outlives the timer limit (valid to ${cert.validTo})`,
  );
  await waitForSecret(env, ns, "creds", (s) => Boolean(decoded(s).username));
  // The status is written after the Secret: wait for it.
  const lease = await eventually("the lease in status", async () => {
    const l = (await getStatus(env, "VaultDynamicSecret", ns, "creds")).secretLease as
      | { duration?: number }
      | undefined;
    return l?.duration ? l : null;
  });
  assert.equal(lease.duration, 1000 * 3600, "the lease lasts 1000h");

  // Let the first syncs settle, then count reconciles for 10 s.
  await new Promise((r) => setTimeout(r, 2000));
  const before = {
    pki: await reconciles(mgr, "vaultpkisecret"),
    vds: await reconciles(mgr, "vaultdynamicsecret"),
  };
  await new Promise((r) => setTimeout(r, 10_000));
  const pki = (await reconciles(mgr, "vaultpkisecret")) - before.pki;
  const vds = (await reconciles(mgr, "vaultdynamicsecret")) - before.vds;
  t.diagnostic(`reconciles in 10 s: VaultPKISecret ${pki}, VaultDynamicSecret ${vds}`);
  assert.ok(pki <= 2, `VaultPKISecret reconciled ${pki} times in 10 s`);
  assert.ok(vds <= 2, `VaultDynamicSecret reconciled ${vds} times in 10 s`);
});
