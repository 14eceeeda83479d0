// Transformation templates end to end: inline templates on a VaultStaticSecret,
// SecretTransformation references (with sourceTemplates, keyOverride and its
// own filters) on a VaultDynamicSecret, and template errors reported with the
// failing function's detail withheld.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DB_CREATION_STATEMENTS } from "../../src/dev/playground-config.ts";
import { CORE } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { isolatedNamespace, pgQuery, testEnv } from "../support/env.ts";
import {
  decoded,
  defaultConnectionAndAuth,
  eventsFor,
  kvPut,
  startOperator,
  vaultRoleFor,
  waitForCondition,
  waitForSecret,
} from "../support/operator.ts";

const API = "secrets.hashicorp.com/v1beta1";

test("inline templates on a VaultStaticSecret render as Go would", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "tpl");
  const role = await vaultRoleFor(env, ns);
  await defaultConnectionAndAuth(env, ns, role);
  await kvPut(env, `${ns}/db`, {
    username: "app",
    password: "pa$$word",
    port: 5432,
    config: Buffer.from('{"b":1,"a":[true]}').toString("base64"),
  });
  await startOperator(t, env, { namespaces: [ns] });
  await env.kube.create(VSO.VaultStaticSecret, ns, {
    apiVersion: API,
    kind: "VaultStaticSecret",
    metadata: { name: "db", labels: { team: "blue" } },
    spec: {
      mount: "secret",
      type: "kv-v2",
      path: `${ns}/db`,
      destination: {
        name: "db",
        create: true,
        transformation: {
          excludes: [".*"],
          templates: {
            url: {
              text: '{{- printf "postgresql://%s:%s@db:%s/app" (get .Secrets "username") (get .Secrets "password") .Secrets.port -}}',
            },
            config: { text: "{{ .Secrets.config | b64dec | fromJson | toPrettyJson }}" },
            meta: { text: "v{{ .Metadata.version }} team={{ .Labels.team }}" },
          },
        },
      },
    },
  });
  const data = decoded(await waitForSecret(env, ns, "db"));
  assert.deepEqual(Object.keys(data).sort(), ["_raw", "config", "meta", "url"]);
  assert.equal(data.url, "postgresql://app:pa$$word@db:5432/app");
  assert.equal(data.config, '{\n  "a": [\n    true\n  ],\n  "b": 1\n}');
  assert.equal(data.meta, "v1 team=blue");
});

test("a SecretTransformation renders PostgreSQL URLs for a VaultDynamicSecret", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "stx");
  const tok = { token: env.rootToken };
  await env.vault.call("POST", `database/config/pg-${ns}`, {
    ...tok,
    body: {
      plugin_name: "postgresql-database-plugin",
      allowed_roles: ["*"],
      connection_url: `postgresql://{{username}}:{{password}}@${env.state.postgres.host}:${env.state.postgres.port}/mydb?sslmode=disable`,
      username: "vaultadmin",
      password: "vaultpassword",
    },
  });
  await env.vault.call("POST", `database/roles/${ns}`, {
    ...tok,
    body: {
      db_name: `pg-${ns}`,
      creation_statements: DB_CREATION_STATEMENTS,
      default_ttl: "10m",
      max_ttl: "1h",
    },
  });
  const role = await vaultRoleFor(env, ns, "app", `path "database/creds/${ns}" { capabilities = ["read"] }`);
  await defaultConnectionAndAuth(env, ns, role);
  await env.kube.create(VSO.SecretTransformation, ns, {
    apiVersion: API,
    kind: "SecretTransformation",
    metadata: { name: "pg" },
    spec: {
      sourceTemplates: [
        {
          name: "hostport",
          text: `{{- define "hostport" -}}${env.state.postgres.host}:${env.state.postgres.port}{{- end -}}`,
        },
      ],
      templates: {
        url: {
          text: 'postgresql://{{ .Secrets.username }}:{{ .Secrets.password }}@{{ template "hostport" . }}/mydb',
        },
        user: { text: "{{ .Secrets.username | upper }}" },
      },
      excludes: ["password"],
    },
  });
  await startOperator(t, env, { namespaces: [ns] });
  await waitForCondition(env, "SecretTransformation", ns, "pg", "Ready", "True");
  await env.kube.create(VSO.VaultDynamicSecret, ns, {
    apiVersion: API,
    kind: "VaultDynamicSecret",
    metadata: { name: "creds" },
    spec: {
      mount: "database",
      path: `creds/${ns}`,
      destination: {
        name: "creds",
        create: true,
        transformation: {
          excludeRaw: true,
          transformationRefs: [{ name: "pg", templateRefs: [{ name: "url", keyOverride: "DATABASE_URL" }] }],
        },
      },
    },
  });
  const data = decoded(await waitForSecret(env, ns, "creds", () => true, 30_000));
  assert.deepEqual(
    Object.keys(data).sort(),
    ["DATABASE_URL", "username"],
    "password excluded by the SecretTransformation",
  );
  const m = /^postgresql:\/\/([^:]+):([^@]+)@/.exec(data.DATABASE_URL);
  assert.ok(m, data.DATABASE_URL.replace(/:[^@]*@/, ":***@"));
  assert.equal(m[1], data.username);
  const login = await pgQuery(env, m[1], m[2], "SELECT 1");
  assert.ok(login.ok, "the rendered URL's credentials log in");
});

test("template errors reach the condition and events with secret values redacted", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "tperr");
  const role = await vaultRoleFor(env, ns);
  await defaultConnectionAndAuth(env, ns, role);
  const secret = "hunter2-very-secret";
  await kvPut(env, `${ns}/e`, { password: secret });
  await startOperator(t, env, { namespaces: [ns] });
  await env.kube.create(VSO.VaultStaticSecret, ns, {
    apiVersion: API,
    kind: "VaultStaticSecret",
    metadata: { name: "e" },
    spec: {
      mount: "secret",
      type: "kv-v2",
      path: `${ns}/e`,
      destination: {
        name: "e",
        create: true,
        transformation: { templates: { bad: { text: '{{ fail (printf "boom %s" .Secrets.password) }}' } } },
      },
    },
  });
  const c = await waitForCondition(env, "VaultStaticSecret", ns, "e", "SecretSynced", "False", /template/);
  assert.match(c.message, /error calling fail: <detail withheld/);
  assert.ok(!c.message.includes(secret), "the condition does not leak the value");
  const events = await eventsFor(env, ns, "e");
  assert.ok(events.length > 0);
  for (const e of events) assert.ok(!String(e.message).includes(secret), "no event leaks the value");
  assert.equal(await env.kube.getOrNull(CORE.secrets, ns, "e"), null, "nothing written");
});

test("an invalid SecretTransformation is reported and not used", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "stbad");
  await startOperator(t, env, { namespaces: [ns] });
  await env.kube.create(VSO.SecretTransformation, ns, {
    apiVersion: API,
    kind: "SecretTransformation",
    metadata: { name: "bad" },
    spec: { templates: { x: { text: "{{ .Secrets.a " } } },
  });
  const c = await waitForCondition(env, "SecretTransformation", ns, "bad", "Ready", "False");
  assert.ok(c);
  const st = (await env.kube.get(VSO.SecretTransformation, ns, "bad")) as unknown as {
    status: { valid: boolean; error: string };
  };
  assert.equal(st.status.valid, false);
  assert.match(st.status.error, /unclosed action|unexpected/);
});
