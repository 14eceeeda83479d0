// The walkthrough's VaultConnection, VaultAuth and VaultStaticSecret manifests,
// applied as written with the real kubectl (only the Vault address differs),
// synced by the operator against the real API server and OpenBao.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse, parseDocument } from "yaml";
import { SAMPLE_SECRETS } from "../../src/dev/playground-config.ts";
import { CORE } from "../../src/kube/client.ts";
import { testEnv } from "../support/env.ts";
import { applyFile, kubectl } from "../support/kubectl.ts";
import { decoded, startOperator, waitForCondition, waitForSecret } from "../support/operator.ts";

const FIX = join(import.meta.dirname, "fixtures", "seed");

test("the walkthrough's static-secret manifests sync as written", async (t) => {
  const env = await testEnv();
  await startOperator(t, env, {
    namespaces: ["default"],
    operatorNamespace: "vault-secrets-operator-system",
  });
  t.after(async () => {
    for (const f of [
      "static-secret-example.yaml",
      "static-secret-fields.yaml",
      "pod.yaml",
      "vault-auth.yaml",
      "vault-connection.yaml",
    ]) {
      await kubectl(env, ["delete", "--ignore-not-found", "--wait=false", "-f", join(FIX, f)]);
    }
  });
  const vars = { VAULT_ADDR: env.state.vault.address };
  for (const f of [
    "vault-connection.yaml",
    "vault-auth.yaml",
    "static-secret-example.yaml",
    "static-secret-fields.yaml",
    "pod.yaml",
  ]) {
    await applyFile(env, join(FIX, f), vars);
  }

  await t.test("VaultConnection and VaultAuth become healthy", async () => {
    await waitForCondition(env, "VaultConnection", "default", "default", "Healthy", "True");
    await waitForCondition(env, "VaultAuth", "default", "default", "Healthy", "True");
    const cols = await kubectl(env, ["get", "vaultstaticsecrets", "-n", "default"]);
    assert.match(cols.stdout.split("\n")[0], /NAME\s+SYNCED\s+HEALTHY\s+READY\s+AGE/);
  });

  await t.test("example 1: myapp-database holds exactly the KV data plus _raw", async () => {
    const s = await waitForSecret(env, "default", "myapp-database");
    const data = decoded(s);
    const expected = SAMPLE_SECRETS["myapp/database"];
    assert.deepEqual(Object.keys(data).sort(), [...Object.keys(expected), "_raw"].sort());
    for (const [k, v] of Object.entries(expected)) assert.equal(data[k], v);
    const raw = JSON.parse(data._raw) as { data: Record<string, string>; metadata: { version: number } };
    assert.deepEqual(raw.data, expected);
    assert.equal(raw.metadata.version, 1);
    await waitForCondition(
      env,
      "VaultStaticSecret",
      "default",
      "myapp-database-secret",
      "SecretSynced",
      "True",
    );
    const cols = await kubectl(env, [
      "get",
      "vaultstaticsecret",
      "myapp-database-secret",
      "-n",
      "default",
      "--no-headers",
    ]);
    assert.match(cols.stdout, /^myapp-database-secret\s+True\s+True\s+True\s+/);
  });

  await t.test("pod example: the keys it consumes (username, password) exist", async () => {
    const pod = (await env.kube.get(CORE.pods, "default", "myapp")) as unknown as {
      spec: { containers: { env: { valueFrom: { secretKeyRef: { name: string; key: string } } }[] }[] };
    };
    const s = decoded(await waitForSecret(env, "default", "myapp-database"));
    for (const e of pod.spec.containers[0].env) {
      const ref = e.valueFrom.secretKeyRef;
      assert.equal(ref.name, "myapp-database");
      assert.ok(s[ref.key], `key ${ref.key} present`);
    }
  });

  await t.test("example 2 (destination declared twice): kubectl keeps the last one", async () => {
    // kubectl's YAML decoder lets a repeated key override the earlier one, so the
    // applied object has destination {name: api-keys, transformation: ...}.
    const s = await waitForSecret(env, "default", "api-keys");
    const data = decoded(s);
    assert.deepEqual(Object.keys(data).sort(), ["_raw", "private_key", "public_key"]);
    assert.equal(data.public_key, SAMPLE_SECRETS["myapp/api-keys"].public_key);
    assert.equal(data.private_key, SAMPLE_SECRETS["myapp/api-keys"].private_key);
    assert.equal(
      await env.kube.getOrNull(CORE.secrets, "default", "myapp-api-keys"),
      null,
      "the first destination is ignored",
    );
    const got = await kubectl(env, [
      "get",
      "vaultstaticsecret",
      "myapp-api-keys",
      "-n",
      "default",
      "-o",
      "jsonpath={.spec.destination.name}",
    ]);
    assert.equal(got.stdout, "api-keys");
  });

  await t.test(
    "example 2: a strict YAML parser rejects the duplicate key, a lenient one keeps the last",
    () => {
      const text = readFileSync(join(FIX, "static-secret-fields.yaml"), "utf8");
      const strict = parseDocument(text);
      assert.ok(
        strict.errors.some((e) => /unique|duplicate/i.test(e.message)),
        "yaml (eemeli) reports the duplicate key",
      );
      const lenient = parse(text, { uniqueKeys: false }) as { spec: { destination: { name: string } } };
      assert.equal(lenient.spec.destination.name, "api-keys");
    },
  );
});
