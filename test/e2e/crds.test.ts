// The generated CRDs on the real kube-apiserver: they install and become
// Established (every CEL rule compiles within its cost budget), show VSO's
// printer columns, accept the status the operator writes, keep kubectl's
// last-key-wins reading of the walkthrough's duplicate key, apply schema
// defaults, and reject at apply time what the schema and CEL rules forbid.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "../../src/dev/paths.ts";
import { isolatedNamespace, testEnv } from "../support/env.ts";
import { kubectl } from "../support/kubectl.ts";

const SEED = join(REPO_ROOT, "deploy", "examples", "walkthrough");

const cases: [string, string, RegExp | null][] = [
  [
    "VaultConnection both CA sources",
    "kind: VaultConnection\nspec: {address: https://v, caCertSecretRef: s, caCertPath: /c}",
    /caCertSecretRef and caCertPath are mutually exclusive/,
  ],
  [
    "VaultConnection one CA source empty",
    "kind: VaultConnection\nspec: {address: https://v, caCertSecretRef: s, caCertPath: ''}",
    null,
  ],
  [
    "VaultConnection X-Vault-Namespace header",
    "kind: VaultConnection\nspec: {address: https://v, headers: {x-VAULT-Namespace: ns}}",
    /X-Vault-Namespace header is not allowed/,
  ],
  [
    "VaultConnection other headers",
    "kind: VaultConnection\nspec: {address: https://v, headers: {X-Vault-Namespaces: a, X-Foo: b}}",
    null,
  ],
  [
    "VaultConnection bad timeout",
    "kind: VaultConnection\nspec: {address: https://v, timeout: 1h30m}",
    /spec\.timeout/,
  ],
  [
    "VaultAuth appRole secretIDPath beside secretRef",
    "kind: VaultAuth\nspec: {appRole: {roleId: r, secretRef: s, secretIDPath: /x}}",
    /secretIDPath is not supported \(removed in VSO 1.5.0/,
  ],
  [
    "VaultAuth appRole secretIDPath naming the operator's token",
    "kind: VaultAuth\nspec: {appRole: {roleId: r, secretIDPath: /var/run/secrets/kubernetes.io/serviceaccount/token}}",
    /put the secret_id in a Secret under key id and set secretRef/,
  ],
  [
    "VaultAuth appRole secretIDPath empty",
    "kind: VaultAuth\nspec: {appRole: {roleId: r, secretRef: s, secretIDPath: ''}}",
    null,
  ],
  [
    "VaultAuth jwt both",
    "kind: VaultAuth\nspec: {jwt: {role: r, secretRef: s, serviceAccount: sa}}",
    /secretRef and serviceAccount are mutually exclusive/,
  ],
  [
    "VaultAuth tokenExpirationSeconds < 600",
    "kind: VaultAuth\nspec: {kubernetes: {role: r, serviceAccount: s, tokenExpirationSeconds: 300}}",
    /greater than or equal to 600/,
  ],
  [
    "VaultAuthGlobal appRole both",
    "kind: VaultAuthGlobal\nspec: {appRole: {secretRef: s, secretIDPath: /x}}",
    /secretIDPath is not supported/,
  ],
  [
    "VaultStaticSecret bad enum",
    "kind: VaultStaticSecret\nspec: {mount: m, path: p, type: kv-v3, destination: {name: d}}",
    /kv-v3/,
  ],
  [
    "VaultDynamicSecret renewalPercent 91",
    "kind: VaultDynamicSecret\nspec: {mount: m, path: p, renewalPercent: 91, destination: {name: d}}",
    /less than or equal to 90/,
  ],
  [
    "VaultPKISecret ttl in days",
    "kind: VaultPKISecret\nspec: {mount: pki, role: r, ttl: 30d, destination: {name: d, create: true, type: kubernetes.io/tls}}",
    null,
  ],
  [
    "CSISecrets minimal",
    "kind: CSISecrets\nspec: {accessControl: {serviceAccountPattern: '.*'}, secrets: {}}",
    null,
  ],
];

test("CRDs on the real kube-apiserver", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "crd");

  await t.test("every CRD applies and is Established", async () => {
    const r = await kubectl(env, [
      "apply",
      "--server-side",
      "--force-conflicts",
      "--field-manager=vso-ts",
      "-f",
      join(REPO_ROOT, "deploy/crds"),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const w = await kubectl(env, ["wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"]);
    assert.equal(w.code, 0, w.stderr);
  });

  await t.test("the walkthrough's manifests apply unchanged; defaults are applied", async () => {
    for (const f of [
      "vault-connection.yaml",
      "vault-auth.yaml",
      "static-secret-example.yaml",
      "static-secret-fields.yaml",
      "dynamic-secret-example.yaml",
    ]) {
      const text = readFileSync(join(SEED, f), "utf8")
        .replaceAll("namespace: default", `namespace: ${ns}`)
        .replaceAll("$" + "{VAULT_ADDR}", "http://vault.vault.svc.cluster.local:8200");
      const r = await kubectl(env, ["apply", "-f", "-"], text);
      assert.equal(r.code, 0, `${f}: ${r.stderr}`);
    }
    const vss = JSON.parse(
      (await kubectl(env, ["get", "vaultstaticsecret", "myapp-api-keys", "-n", ns, "-o", "json"])).stdout,
    );
    assert.equal(vss.spec.destination.name, "api-keys", "kubectl keeps the last destination");
    assert.deepEqual(vss.spec.destination.transformation.includes, ["public_key", "private_key"]);
    assert.equal(vss.spec.destination.overwrite, false, "defaulted");
    const auth = JSON.parse(
      (await kubectl(env, ["get", "vaultauth", "default", "-n", ns, "-o", "json"])).stdout,
    );
    assert.equal(auth.spec.kubernetes.tokenExpirationSeconds, 600, "defaulted");
  });

  await t.test("printer columns", async () => {
    const r = await kubectl(env, ["get", "vaultstaticsecrets", "-n", ns]);
    assert.match(r.stdout.split("\n")[0], /^NAME\s+SYNCED\s+HEALTHY\s+READY\s+AGE$/);
    const c = await kubectl(env, ["get", "vaultconnections", "-n", ns]);
    assert.match(c.stdout.split("\n")[0], /^NAME\s+HEALTHY\s+READY\s+AGE$/);
  });

  await t.test("status written through the status subresource is accepted", async () => {
    const cond = (type: string, reason: string) => ({
      type,
      status: "True",
      reason,
      message: "",
      lastTransitionTime: "2026-01-01T00:00:00Z",
      observedGeneration: 1,
    });
    const patch = {
      status: {
        lastGeneration: 1,
        secretMAC: "bWFj",
        vaultClientMeta: { cacheKey: "kubernetes-0123456789abcdef012345", id: "ab" },
        conditions: [cond("SecretSynced", "Synced"), cond("Healthy", "Healthy"), cond("Ready", "Ready")],
      },
    };
    const r = await kubectl(env, [
      "patch",
      "vaultstaticsecret",
      "myapp-database-secret",
      "-n",
      ns,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify(patch),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const g = await kubectl(env, ["get", "vaultstaticsecrets", "-n", ns]);
    assert.match(g.stdout, /myapp-database-secret\s+True\s+True\s+True/);
  });

  const H = "apiVersion: secrets.hashicorp.com/v1beta1\n";
  for (const [name, body, reject] of cases) {
    await t.test(`${reject ? "rejects" : "accepts"}: ${name}`, async () => {
      const [kindLine, ...rest] = body.split("\n");
      const meta = `metadata: {name: probe, namespace: ${ns}}\n`;
      const r = await kubectl(
        env,
        ["create", "--dry-run=server", "-f", "-"],
        `${H}${kindLine}\n${meta}${rest.join("\n")}\n`,
      );
      if (reject) {
        assert.notEqual(r.code, 0, `expected rejection: ${r.stdout}`);
        assert.match(r.stderr, reject);
      } else {
        assert.equal(r.code, 0, r.stderr);
      }
    });
  }
});
