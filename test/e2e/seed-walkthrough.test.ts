// The walkthrough's VaultConnection, VaultAuth and VaultStaticSecret manifests,
// applied as written with the real kubectl (only the Vault address differs),
// synced by the operator against the real API server and OpenBao.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse, parseDocument } from "yaml";
import { REPO_ROOT } from "../../src/dev/paths.ts";
import { DB_CREATION_STATEMENTS, SAMPLE_SECRETS } from "../../src/dev/playground-config.ts";
import { CORE } from "../../src/kube/client.ts";
import { eventually, pgQuery, testEnv } from "../support/env.ts";
import { applyFile, kubectl } from "../support/kubectl.ts";
import { decoded, getStatus, startOperator, waitForCondition, waitForSecret } from "../support/operator.ts";

const FIX = join(REPO_ROOT, "deploy", "examples", "walkthrough");

test("the walkthrough's static-secret manifests sync as written", async (t) => {
  const env = await testEnv();
  // Removed while the operator still runs (it owns the finalizers), and waited for,
  // so that the next test in this namespace starts clean.
  t.after(() =>
    removeSeedObjects(env, [
      "static-secret-example.yaml",
      "static-secret-fields.yaml",
      "pod.yaml",
      "vault-auth.yaml",
      "vault-connection.yaml",
    ]),
  );
  // After-hooks run in registration order: the operator stops after the cleanup above.
  await startOperator(t, env, {
    namespaces: ["default"],
    operatorNamespace: "vault-secrets-operator-system",
  });
  // after-hooks run in registration order: the operator stops after the cleanup above.
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

// The walkthrough's full workflow ("실습: 전체 워크플로우") with the database engine.
// The role's TTLs are shortened to seconds for the test (and restored after)
// so that renewals, the max-TTL rotation and the restart happen within ~25 s.
test("the walkthrough's full workflow: dynamic PostgreSQL credentials renew, rotate, restart and revoke", async (t) => {
  const env = await testEnv();
  const ttl = 6;
  const maxTtl = 20;
  const setRoleTtl = (d: string, m: string) =>
    env.vault.call("POST", "database/roles/myapp-db-role", {
      token: env.rootToken,
      body: {
        db_name: "my-postgres",
        creation_statements: DB_CREATION_STATEMENTS,
        default_ttl: d,
        max_ttl: m,
      },
    });
  await setRoleTtl(`${ttl}s`, `${maxTtl}s`);
  t.after(() => setRoleTtl("1h", "24h"));
  const files = [
    "postgres-deployment.yaml",
    "vault-connection.yaml",
    "vault-auth.yaml",
    "dynamic-secret-example.yaml",
    "myapp-deployment.yaml",
  ];
  t.after(() => removeSeedObjects(env, [...files].reverse()));
  const mgr = await startOperator(t, env, {
    namespaces: ["default"],
    operatorNamespace: "vault-secrets-operator-system",
  });
  for (const f of files) await applyFile(env, join(FIX, f), { VAULT_ADDR: env.state.vault.address });

  const first = decoded(await waitForSecret(env, "default", "myapp-db-dynamic"));
  const issuedAt = Date.now();
  assert.match(first.username, /^v-/);
  const login = await pgQuery(env, first.username, first.password, "SELECT version()");
  assert.ok(login.ok, `the synced credentials log in: ${login.ok ? "" : login.error}`);
  assert.match(login.ok ? login.output : "", /PostgreSQL 15/);

  // kubectl get vaultdynamicsecret myapp-db-creds -o jsonpath='{.status.secretLease}'
  const leaseOut = await kubectl(env, [
    "get",
    "vaultdynamicsecret",
    "myapp-db-creds",
    "-n",
    "default",
    "-o",
    "jsonpath={.status.secretLease}",
  ]);
  const lease = JSON.parse(leaseOut.stdout) as {
    id: string;
    duration: number;
    renewable: boolean;
    requestID: string;
  };
  assert.match(lease.id, /^database\/creds\/myapp-db-role\//);
  assert.equal(lease.duration, ttl);
  assert.equal(lease.renewable, true);
  assert.equal(await restartedAt(env, "myapp"), undefined, "no restart on the first sync");

  // Renewals at renewalPercent (67 %, plus up to 10 % jitter) of the TTL, same credentials.
  const renewals: number[] = [];
  let lastRenewal = (await getStatus(env, "VaultDynamicSecret", "default", "myapp-db-creds"))
    .lastRenewalTime as number;
  let rotated: Record<string, string> | undefined;
  const deadline = Date.now() + (maxTtl + 10) * 1000;
  while (!rotated && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    const st = await getStatus(env, "VaultDynamicSecret", "default", "myapp-db-creds");
    const s = decoded(await env.kube.get(CORE.secrets, "default", "myapp-db-dynamic"));
    if (s.username !== first.username) rotated = s;
    else if ((st.lastRenewalTime as number) !== lastRenewal) {
      renewals.push(Date.now());
      lastRenewal = st.lastRenewalTime as number;
      if (renewals.length === 1) {
        const still = await pgQuery(env, first.username, first.password, "SELECT 1");
        assert.ok(still.ok, "renewed credentials keep working");
      }
    }
  }
  assert.ok(renewals.length >= 2, `at least two renewals before max TTL (saw ${renewals.length})`);
  const firstFraction = (renewals[0] - issuedAt) / (ttl * 1000);
  t.diagnostic(
    `first renewal at ${(firstFraction * 100).toFixed(1)} % of the TTL (configured 67 %, jitter up to +10 %)`,
  );
  assert.ok(
    firstFraction >= 0.6 && firstFraction <= 0.85,
    `first renewal at ${firstFraction.toFixed(3)} of the TTL`,
  );
  // The replaced lease was at its max TTL: the old credentials stop working when it expires.
  await eventually(
    "old credentials expired after rotation",
    async () => !(await pgQuery(env, first.username, first.password, "SELECT 1")).ok,
    10_000,
  );

  // At max TTL: new credentials, a restart stamp on the Deployment, and the new credentials work.
  assert.ok(rotated, "new credentials arrived before the old lease hit max TTL");
  const afterLogin = await pgQuery(env, rotated.username, rotated.password, "SELECT version()");
  assert.ok(afterLogin.ok, "the new credentials log in");
  const stamp = await eventually("restart stamp on myapp", () => restartedAt(env, "myapp"), 5000);
  assert.ok(!Number.isNaN(Date.parse(stamp)));

  // The metrics tell the same story.
  const metrics = await (await fetch(mgr.metricsUrl!)).text();
  const renewedCount = Number(/^vso_lease_renewals_total\{result="success"\} (\d+)/m.exec(metrics)?.[1] ?? 0);
  assert.ok(renewedCount >= 2, `vso_lease_renewals_total{result="success"} = ${renewedCount}`);
  assert.match(metrics, /^vso_lease_renewals_total\{result="truncated"\} [1-9]/m);
  assert.match(metrics, /^vso_leases_held 1$/m);
  assert.match(
    metrics,
    /^vso_lease_expiration_timestamp_seconds\{namespace="default",name="myapp-db-creds"\} \d+/m,
  );

  // Deleting the resource (revoke: true) revokes the lease: the credentials stop working.
  await kubectl(env, ["delete", "-f", join(FIX, "dynamic-secret-example.yaml")]);
  await eventually(
    "revoked credentials refused",
    async () => !(await pgQuery(env, rotated!.username, rotated!.password, "SELECT 1")).ok,
    15_000,
  );
});

async function restartedAt(
  env: Awaited<ReturnType<typeof testEnv>>,
  name: string,
): Promise<string | undefined> {
  const d = (await env.kube.get(CORE.deployments, "default", name)) as unknown as {
    spec: { template: { metadata?: { annotations?: Record<string, string> } } };
  };
  return d.spec.template.metadata?.annotations?.["vso.secrets.hashicorp.com/restartedAt"];
}

/**
 * Deletes the seed objects and waits until they are gone. If the operator has
 * already stopped, objects left Terminating on its finalizers are released.
 */
async function removeSeedObjects(env: Awaited<ReturnType<typeof testEnv>>, files: string[]): Promise<void> {
  for (const f of files)
    await kubectl(env, ["delete", "--ignore-not-found", "--wait=false", "-f", join(FIX, f)]);
  for (const f of files) {
    const r = await kubectl(env, [
      "delete",
      "--ignore-not-found",
      "--wait=true",
      "--timeout=20s",
      "-f",
      join(FIX, f),
    ]);
    if (r.code !== 0) {
      const names = await kubectl(env, ["get", "-f", join(FIX, f), "-o", "name", "--ignore-not-found"]);
      for (const n of names.stdout.split("\n").filter(Boolean)) {
        await kubectl(env, [
          "patch",
          n,
          "-n",
          "default",
          "--type=merge",
          "-p",
          '{"metadata":{"finalizers":null}}',
        ]);
      }
    }
  }
}
