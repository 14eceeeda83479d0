// The kubeconfig loader: current context, file paths relative to their kubeconfig, inline
// data, token files re-read as they rotate, exec plugins, KUBECONFIG lists, the in-cluster
// service account, and a refused auth-provider.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { stringify } from "yaml";
import { inClusterConnection, loadConnection } from "../../src/kube/kubeconfig.ts";

function tmp(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "kubeconfig-test-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function config(user: Record<string, unknown>, cluster: Record<string, unknown> = {}, name = "a") {
  return {
    apiVersion: "v1",
    kind: "Config",
    "current-context": name,
    clusters: [{ name: `c-${name}`, cluster: { server: `https://${name}.example:6443`, ...cluster } }],
    users: [{ name: `u-${name}`, user }],
    contexts: [{ name, context: { cluster: `c-${name}`, user: `u-${name}` } }],
  };
}

test("client certificate files resolve relative to the kubeconfig; CA data is decoded", async (t) => {
  const dir = tmp(t);
  writeFileSync(join(dir, "client.crt"), "CERT");
  writeFileSync(join(dir, "client.key"), "KEY");
  const file = join(dir, "config");
  writeFileSync(
    file,
    stringify(
      config(
        { "client-certificate": "client.crt", "client-key": "client.key" },
        { "certificate-authority-data": Buffer.from("CA").toString("base64"), "tls-server-name": "api" },
      ),
    ),
  );
  const c = loadConnection(file);
  assert.equal(c.server, "https://a.example:6443");
  assert.deepEqual(c.tls, {
    ca: "CA",
    cert: "CERT",
    key: "KEY",
    rejectUnauthorized: true,
    servername: "api",
  });
  assert.deepEqual(await c.authHeaders(), {});
});

test("a bearer token and basic auth become the Authorization header", async (t) => {
  const dir = tmp(t);
  writeFileSync(join(dir, "t"), stringify(config({ token: "abc" }, { "insecure-skip-tls-verify": true })));
  const c = loadConnection(join(dir, "t"));
  assert.equal(c.tls.rejectUnauthorized, false);
  assert.deepEqual(await c.authHeaders(), { authorization: "Bearer abc" });
  writeFileSync(join(dir, "b"), stringify(config({ username: "u", password: "p" })));
  assert.deepEqual(await loadConnection(join(dir, "b")).authHeaders(), {
    authorization: `Basic ${Buffer.from("u:p").toString("base64")}`,
  });
});

test("an exec plugin's token is used and kept until it expires", async (t) => {
  const dir = tmp(t);
  const counter = join(dir, "runs");
  const plugin = join(dir, "plugin.sh");
  writeFileSync(
    plugin,
    `#!/bin/sh\necho x >> ${counter}\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-exec","expirationTimestamp":"2999-01-01T00:00:00Z"}}'\n`,
  );
  chmodSync(plugin, 0o755);
  writeFileSync(
    join(dir, "config"),
    stringify(config({ exec: { apiVersion: "client.authentication.k8s.io/v1", command: plugin } })),
  );
  const c = loadConnection(join(dir, "config"));
  assert.deepEqual(await c.authHeaders(), { authorization: "Bearer from-exec" });
  assert.deepEqual(await c.authHeaders(), { authorization: "Bearer from-exec" });
  assert.equal(readFileSync(counter, "utf8").trim().split("\n").length, 1);
});

test("a KUBECONFIG list merges its files; the first current-context wins", async (t) => {
  const dir = tmp(t);
  const a = config({ token: "ta" }, {}, "a");
  const b = config({ token: "tb" }, {}, "b");
  b["current-context"] = "b";
  writeFileSync(join(dir, "a"), stringify({ ...a, "current-context": "b" }));
  writeFileSync(join(dir, "b"), stringify(b));
  const saved = process.env.KUBECONFIG;
  t.after(() => {
    if (saved === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = saved;
  });
  process.env.KUBECONFIG = `${join(dir, "missing")}:${join(dir, "a")}:${join(dir, "b")}`;
  const c = loadConnection();
  assert.equal(c.server, "https://b.example:6443");
  assert.deepEqual(await c.authHeaders(), { authorization: "Bearer tb" });
  assert.equal(c.namespace, undefined, "a context without a namespace names none");
});

test("the current context's namespace is the connection's default namespace", (t) => {
  const file = join(tmp(t), "config");
  const doc = config({ token: "t" });
  doc.contexts[0].context = {
    ...doc.contexts[0].context,
    namespace: "team-a",
  } as (typeof doc.contexts)[0]["context"];
  writeFileSync(file, stringify(doc));
  assert.equal(loadConnection(file).namespace, "team-a");
});

test("the in-cluster service account: server from the environment, token file read", async (t) => {
  const dir = tmp(t);
  writeFileSync(join(dir, "token"), "sa-token\n");
  writeFileSync(join(dir, "ca.crt"), "CA");
  writeFileSync(join(dir, "namespace"), "vault-secrets-operator-system");
  const saved = [process.env.KUBERNETES_SERVICE_HOST, process.env.KUBERNETES_SERVICE_PORT];
  t.after(() => {
    process.env.KUBERNETES_SERVICE_HOST = saved[0];
    process.env.KUBERNETES_SERVICE_PORT = saved[1];
    if (saved[0] === undefined) delete process.env.KUBERNETES_SERVICE_HOST;
    if (saved[1] === undefined) delete process.env.KUBERNETES_SERVICE_PORT;
  });
  process.env.KUBERNETES_SERVICE_HOST = "10.0.0.1";
  process.env.KUBERNETES_SERVICE_PORT = "443";
  const c = inClusterConnection(dir);
  assert.ok(c);
  assert.equal(c.server, "https://10.0.0.1:443");
  assert.equal(c.tls.ca, "CA");
  assert.equal(c.namespace, "vault-secrets-operator-system");
  assert.deepEqual(await c.authHeaders(), { authorization: "Bearer sa-token" });
});

test("an auth-provider user is refused with a message naming the alternative", (t) => {
  const dir = tmp(t);
  writeFileSync(join(dir, "config"), stringify(config({ "auth-provider": { name: "oidc" } })));
  assert.throws(
    () => loadConnection(join(dir, "config")),
    /auth-provider "oidc" is not supported; use an exec/,
  );
});
