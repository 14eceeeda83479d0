// Issue 10, item 5: a leak scan. Sentinel secret values are planted in KV,
// and the database passwords and PKI private keys Vault produces are captured
// on their way to the operator (a tap in the test's own proxy between the
// operator and Vault). Failure paths are driven with them: templates that fail
// on the value (mustToDate, fail, a regular expression made of it), templates
// that transform the value before failing on it (base64, hex, split, reversed,
// upper-cased: issue 22), an output over the 1 MiB limit, a KV secret over it,
// and a destination the API server refuses. Then the operator's log (at debug
// level), every Event, the metadata and status of every resource, and a
// metrics scrape are searched for every sentinel and every fragment of 6 or
// more characters of one, and for every fragment of each transformed form
// that carries as much of the value (8 base64 characters, 12 hex digits...).
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { CORE, type KubeObject } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { dbSetup, spawnOperator, vds } from "../support/db.ts";
import { eventually, isolatedNamespace, type TestEnv, testEnv } from "../support/env.ts";
import { startFaultProxy } from "../support/fault-proxy.ts";
import { decoded, getStatus, kvPut, vaultRoleFor } from "../support/operator.ts";

const FRAGMENT = 6;
const API = "secrets.hashicorp.com/v1beta1";

/** 32 random letters and digits: no fragment of it occurs by chance in the corpora. */
function sentinel(): string {
  return randomBytes(48)
    .toString("base64")
    .replace(/[^A-Za-z0-9]/g, "")
    .slice(0, 32);
}

/** The base64 lines of a PEM block (its armour lines are not secret). */
function pemBody(pem: string): string[] {
  return pem
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("-----"));
}

/** The fragments of `value` (of `length` characters) that occur in `corpus`. */
function fragmentsIn(value: string, corpus: string, length = FRAGMENT): string[] {
  const found: string[] = [];
  for (let i = 0; i + length <= value.length; i++) {
    const f = value.slice(i, i + length);
    if (corpus.includes(f)) found.push(f);
  }
  return found;
}

const template = (text: string) => ({ transformation: { templates: { out: { text } } } });

/**
 * The forms a template can turn a value into before failing on it, each with the
 * fragment length that carries FRAGMENT characters of the value (so that a hex
 * digit run of a resource UID is not taken for a leak). `whole` forms only make
 * sense of a whole value (base64 depends on the alignment).
 */
const transforms: { name: string; of: (v: string) => string; length: number; whole?: boolean }[] = [
  { name: "base64", of: (v) => Buffer.from(v).toString("base64"), length: 8, whole: true },
  { name: "hex", of: (v) => Buffer.from(v).toString("hex"), length: 2 * FRAGMENT },
  { name: "split", of: (v) => v.split("").join(" "), length: 2 * FRAGMENT - 1 },
  { name: "reversed", of: (v) => v.split("").reverse().join(""), length: FRAGMENT },
  { name: "upper-cased", of: (v) => v.toUpperCase(), length: FRAGMENT },
];

function vss(name: string, path: string, destination: Record<string, unknown> = {}) {
  return {
    apiVersion: API,
    kind: "VaultStaticSecret",
    metadata: { name },
    spec: {
      vaultAuthRef: "kvpki",
      mount: "secret",
      type: "kv-v2",
      path,
      destination: { name, create: true, ...destination },
    },
  };
}

function pki(name: string, destination: Record<string, unknown> = {}) {
  return {
    apiVersion: API,
    kind: "VaultPKISecret",
    metadata: { name },
    spec: {
      vaultAuthRef: "kvpki",
      mount: "pki",
      role: "default",
      commonName: "leak.example.com",
      revoke: true,
      destination: { name, create: true, ...destination },
    },
  };
}

async function scrapeMetrics(log: () => string): Promise<string> {
  const addr = await eventually("the metrics address in the log", async () => {
    for (const line of log().split("\n")) {
      if (!line.includes('"listening"')) continue;
      return (JSON.parse(line) as { addr?: string }).addr;
    }
    return undefined;
  });
  const res = await fetch(`http://${addr}/metrics`);
  return await res.text();
}

async function everyResource(env: TestEnv, ns: string): Promise<string> {
  const parts: unknown[] = [];
  for (const rt of Object.values(VSO)) {
    const list = await env.kube.list<KubeObject & { status?: unknown }>(rt, ns).catch(() => ({ items: [] }));
    for (const o of list.items) parts.push({ metadata: o.metadata, status: o.status });
  }
  return JSON.stringify(parts);
}

test("leak scan: no fragment of a secret in the log, Events, status or metrics after failures on it", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "leak");
  const vault = await startFaultProxy(env.state.vault.address);
  t.after(() => vault.close());
  // Whatever Vault produces for the operator, as it passes.
  const produced: { password: string[]; privateKey: string[] } = { password: [], privateKey: [] };
  vault.tap(
    (ex) => /^\/v1\/(database\/creds|pki\/issue)\//.test(ex.path),
    (ex) => {
      const data = (
        JSON.parse(ex.responseBody ?? "{}") as { data?: { password?: string; private_key?: string } }
      ).data;
      if (data?.password) produced.password.push(data.password);
      if (data?.private_key) produced.privateKey.push(data.private_key);
    },
  );
  const viaProxy: TestEnv = {
    ...env,
    state: { ...env.state, vault: { ...env.state.vault, address: vault.url } },
  };
  const { role } = await dbSetup(viaProxy, ns, "10m", "1h");
  const kvRole = await vaultRoleFor(
    env,
    ns,
    "app",
    'path "pki/issue/default" { capabilities = ["update"] }\npath "pki/revoke" { capabilities = ["update"] }',
  );
  await env.kube.create(VSO.VaultAuth, ns, {
    apiVersion: API,
    kind: "VaultAuth",
    metadata: { name: "kvpki" },
    spec: { method: "kubernetes", mount: "kubernetes", kubernetes: { role: kvRole, serviceAccount: "app" } },
  });

  const kv = { password: sentinel(), docker: sentinel(), big: sentinel() };
  await kvPut(env, `${ns}/kv`, { password: kv.password, ".dockerconfigjson": kv.docker });
  await kvPut(env, `${ns}/big`, { big: kv.big.repeat(40_000) }); // 1.28 MB, over a Secret's 1 MiB

  let log = "";
  const op: ChildProcess = spawnOperator(
    env,
    ns,
    ["--zap-log-level=debug", "--metrics-bind-address=127.0.0.1:0"],
    {},
    ["ignore", "pipe", "pipe"],
  );
  op.stdout?.on("data", (c: Buffer) => {
    log += c.toString();
  });
  op.stderr?.on("data", (c: Buffer) => {
    log += c.toString();
  });
  t.after(() => op.kill("SIGKILL"));

  const failing = {
    VaultStaticSecret: [
      vss("vss-todate", `${ns}/kv`, template('{{ mustToDate "2006-01-02" .Secrets.password }}')),
      vss("vss-fail", `${ns}/kv`, template("{{ fail .Secrets.password }}")),
      vss("vss-regex", `${ns}/kv`, template('{{ mustRegexMatch (printf "(%s" .Secrets.password) "x" }}')),
      vss("vss-repeat", `${ns}/kv`, template("{{ repeat 100000 .Secrets.password }}")),
      vss("vss-b64-fail", `${ns}/kv`, template("{{ .Secrets.password | b64enc | fail }}")),
      vss("vss-hex-fail", `${ns}/kv`, template('{{ printf "%x" .Secrets.password | fail }}')),
      vss("vss-split-fail", `${ns}/kv`, template('{{ splitList "" .Secrets.password | join " " | fail }}')),
      vss(
        "vss-reversed-fail",
        `${ns}/kv`,
        template('{{ splitList "" .Secrets.password | reverse | join "" | fail }}'),
      ),
      vss(
        "vss-upper-regex",
        `${ns}/kv`,
        template('{{ mustRegexMatch (printf "(%s" (upper .Secrets.password)) "x" }}'),
      ),
      vss("vss-oversize", `${ns}/big`),
      vss("vss-refused", `${ns}/kv`, { type: "kubernetes.io/dockerconfigjson" }),
    ],
    VaultDynamicSecret: [
      vds("vds-todate", {
        path: `creds/${role}`,
        revoke: true,
        destination: {
          name: "vds-todate",
          create: true,
          ...template('{{ mustToDate "2006" .Secrets.password }}'),
        },
      }),
      vds("vds-regex", {
        path: `creds/${role}`,
        revoke: true,
        destination: {
          name: "vds-regex",
          create: true,
          ...template('{{ mustRegexMatch (printf "(%s" .Secrets.password) "x" }}'),
        },
      }),
      vds("vds-b64-fail", {
        path: `creds/${role}`,
        revoke: true,
        destination: {
          name: "vds-b64-fail",
          create: true,
          ...template("{{ .Secrets.password | b64enc | fail }}"),
        },
      }),
      vds("vds-fail", {
        path: `creds/${role}`,
        revoke: true,
        destination: {
          name: "vds-fail",
          create: true,
          ...template('{{ fail (printf "%s:%s" .Secrets.username .Secrets.password) }}'),
        },
      }),
    ],
    VaultPKISecret: [
      pki("pki-todate", template('{{ mustToDate "2006" .Secrets.private_key }}')),
      pki("pki-regex", template('{{ mustRegexMatch (printf "(%s" .Secrets.private_key) "x" }}')),
      pki("pki-fail", template("{{ fail .Secrets.private_key }}")),
      pki("pki-upper-fail", template("{{ upper .Secrets.private_key | fail }}")),
    ],
  };
  const healthy = {
    VaultStaticSecret: [vss("vss-ok", `${ns}/kv`, template("{{ .Secrets.password }}"))],
    VaultDynamicSecret: [vds("vds-ok", { path: `creds/${role}`, revoke: true })],
    VaultPKISecret: [pki("pki-ok")],
  };
  for (const [kind, objs] of Object.entries(failing)) {
    for (const o of objs) await env.kube.create(VSO[kind as keyof typeof VSO], ns, o);
  }
  for (const [kind, objs] of Object.entries(healthy)) {
    for (const o of objs) await env.kube.create(VSO[kind as keyof typeof VSO], ns, o);
  }

  const synced = async (kind: keyof typeof VSO, name: string, status: "True" | "False") =>
    (await getStatus(env, kind, ns, name)).conditions?.some(
      (c) => c.type === "SecretSynced" && c.status === status,
    );
  await eventually(
    "every failing resource reported and every healthy one synced",
    async () => {
      for (const [kind, objs] of Object.entries(failing)) {
        for (const o of objs)
          if (!(await synced(kind as keyof typeof VSO, o.metadata.name, "False"))) return false;
      }
      for (const [kind, objs] of Object.entries(healthy)) {
        for (const o of objs)
          if (!(await synced(kind as keyof typeof VSO, o.metadata.name, "True"))) return false;
      }
      return true;
    },
    90_000,
  );
  // Some more rounds of retries of the failures, logged each time.
  await new Promise((r) => setTimeout(r, 5000));

  const wholeValues = [...Object.values(kv), ...produced.password];
  const sentinels = [...wholeValues, ...produced.privateKey.flatMap(pemBody)];
  const transformed = transforms.flatMap((tf) =>
    (tf.whole ? wholeValues : sentinels).map((v) => ({ form: tf.name, value: tf.of(v), length: tf.length })),
  );
  t.diagnostic(
    `sentinels: ${Object.keys(kv).length} planted in KV, ${produced.password.length} database passwords and ` +
      `${produced.privateKey.length} private keys as Vault produced them`,
  );
  for (const [kind, objs] of Object.entries({ ...failing })) {
    for (const o of objs)
      t.diagnostic(
        `${o.metadata.name}: ${JSON.stringify((await getStatus(env, kind as keyof typeof VSO, ns, o.metadata.name)).conditions?.find((c) => c.type === "SecretSynced")?.message)}`,
      );
  }
  assert.ok(produced.password.length >= 4, "the failing dynamic secrets and the healthy one got passwords");
  assert.ok(produced.privateKey.length >= 4, "the failing PKI secrets and the healthy one got keys");

  const corpora = {
    log,
    events: JSON.stringify((await env.kube.list(CORE.events, ns)).items),
    resources: await everyResource(env, ns),
    metrics: await scrapeMetrics(() => log),
  };
  // The corpora hold what the failures said (so the scan looked where the leaks would be).
  for (const name of ["vss-todate", "vss-regex", "vss-b64-fail", "vss-split-fail", "vds-regex", "pki-fail"]) {
    assert.ok(corpora.log.includes(name), `the log has ${name}'s failure`);
    assert.ok(corpora.events.includes(name), `an Event is about ${name}`);
  }
  assert.match(corpora.resources, /spec\.destination\.transformation\.templates/);
  assert.match(corpora.metrics, /controller_runtime_reconcile_errors_total/);
  // The scanner finds a sentinel where it legitimately is: the healthy destination Secrets.
  assert.ok(fragmentsIn(kv.password, decoded(await env.kube.get(CORE.secrets, ns, "vss-ok")).out).length > 0);

  const leaks: string[] = [];
  for (const [where, corpus] of Object.entries(corpora)) {
    for (const s of sentinels) {
      const found = fragmentsIn(s, corpus);
      if (found.length > 0)
        leaks.push(`${where}: ${found.length} fragment(s) of a sentinel, e.g. ${found[0]}`);
    }
    for (const { form, value, length } of transformed) {
      const found = fragmentsIn(value, corpus, length);
      if (found.length > 0)
        leaks.push(`${where}: ${found.length} fragment(s) of a sentinel ${form}, e.g. ${found[0]}`);
    }
  }
  const bytes = Object.values(corpora).reduce((n, c) => n + c.length, 0);
  t.diagnostic(
    `scanned ${bytes} characters (log ${corpora.log.length}, Events ${corpora.events.length}, ` +
      `resources ${corpora.resources.length}, metrics ${corpora.metrics.length}) for ${sentinels.length} sentinel strings ` +
      `and every ${FRAGMENT}-character fragment of them, and ${transformed.length} transformed forms ` +
      `(${transforms.map((tf) => tf.name).join(", ")}): ${leaks.length} fragments leaked`,
  );
  assert.deepEqual(leaks, [], "no fragment of a secret anywhere");

  // The failed leases were revoked at once: only the healthy one is alive.
  const live = await env.vault.call<{ data?: { keys?: string[] } }>(
    "LIST",
    `sys/leases/lookup/database/creds/${role}`,
    {
      token: env.rootToken,
      accept: [404],
    },
  );
  assert.equal(live.json?.data?.keys?.length ?? 0, 1, "one live lease: the healthy resource's");
});
