// Pure logic of the operator: durations, flags, reference resolution and
// VaultAuthGlobal merging, key filtering, Go JSON encoding, restart stamps.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { VaultAuth, VaultAuthGlobal, VaultConnection } from "../../src/api/index.ts";
import { parseOperatorConfig } from "../../src/operator/config.ts";
import {
  mergeVaultAuthGlobal,
  type ObjectLookup,
  RefError,
  resolveConnection,
  resolveVaultAuthFor,
} from "../../src/operator/refs.ts";
import { restartStamp } from "../../src/operator/rollout.ts";
import { buildSecretData, filterKeys } from "../../src/operator/secret-data.ts";
import { parseDuration } from "../../src/util/duration.ts";
import { goMarshal, parseJsonKeepingNumbers } from "../../src/util/gojson.ts";
import { clientCacheKey } from "../../src/vault/client-factory.ts";

test("Go durations", () => {
  assert.equal(parseDuration("30s"), 30_000);
  assert.equal(parseDuration("1m30s"), 90_000);
  assert.equal(parseDuration("1.5h"), 5_400_000);
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("0"), 0);
  assert.throws(() => parseDuration("30"));
  assert.throws(() => parseDuration("abc"));
});

test("manager flags: defaults, Go-style single dash, VSO_* environment overrides", () => {
  const d = parseOperatorConfig([], {});
  assert.equal(d.maxConcurrentReconciles, 100);
  assert.equal(d.clientCacheSize, 10_000);
  assert.equal(d.backoff.initialIntervalMs, 5000);
  assert.equal(d.backoff.multiplier, 1.5);
  assert.equal(d.leaderElect, true);
  assert.deepEqual(d.globalVaultAuthOptions, ["allow-default-globals"]);
  const c = parseOperatorConfig(
    [
      "-max-concurrent-reconciles=3",
      "--global-transformation-options=exclude-raw",
      "--leader-elect=false",
      "--backoff-max-interval=2m",
    ],
    { VSO_CLIENT_CACHE_SIZE: "5", OPERATOR_NAMESPACE: "ops" },
  );
  assert.equal(c.maxConcurrentReconciles, 3);
  assert.deepEqual(c.globalTransformationOptions, ["exclude-raw"]);
  assert.equal(c.leaderElect, false);
  assert.equal(c.backoff.maxIntervalMs, 120_000);
  assert.equal(c.clientCacheSize, 5);
  assert.equal(c.operatorNamespace, "ops");
  assert.throws(() => parseOperatorConfig(["--global-transformation-options=bogus"], {}), /exclude-raw/);
  assert.throws(() => parseOperatorConfig(["--backoff-initial-interval=5"], {}), /duration/);
});

function lookup(objs: {
  auths?: VaultAuth[];
  globals?: VaultAuthGlobal[];
  conns?: VaultConnection[];
}): ObjectLookup {
  const find = <T extends { metadata: { namespace?: string; name?: string } }>(
    list: T[] | undefined,
    ns: string,
    n: string,
  ) => list?.find((o) => o.metadata.namespace === ns && o.metadata.name === n);
  return {
    vaultAuth: (ns, n) => find(objs.auths, ns, n),
    vaultAuthGlobal: (ns, n) => find(objs.globals, ns, n),
    vaultConnection: (ns, n) => find(objs.conns, ns, n),
  };
}
const auth = (ns: string, name: string, spec: VaultAuth["spec"]): VaultAuth => ({
  apiVersion: "secrets.hashicorp.com/v1beta1",
  kind: "VaultAuth",
  metadata: { namespace: ns, name, uid: `${ns}-${name}`, generation: 1 },
  spec,
});

test("allowedNamespaces: own namespace passes, others need listing, operator default is open", () => {
  const k8s = { role: "r", serviceAccount: "sa" };
  const l = lookup({
    auths: [
      auth("team", "a", { method: "kubernetes", mount: "kubernetes", kubernetes: k8s }),
      auth("team", "b", {
        method: "kubernetes",
        mount: "kubernetes",
        kubernetes: k8s,
        allowedNamespaces: ["other"],
      }),
      auth("team", "star", {
        method: "kubernetes",
        mount: "kubernetes",
        kubernetes: k8s,
        allowedNamespaces: ["*"],
      }),
      auth("ops", "default", { method: "kubernetes", mount: "kubernetes", kubernetes: k8s }),
    ],
  });
  const opts = { allowDefaultGlobals: true };
  assert.equal(resolveVaultAuthFor(l, "team", "a", "ops", opts).auth.metadata.name, "a");
  assert.throws(() => resolveVaultAuthFor(l, "other", "team/a", "ops", opts), RefError);
  assert.equal(resolveVaultAuthFor(l, "other", "team/b", "ops", opts).auth.metadata.name, "b");
  assert.throws(
    () => resolveVaultAuthFor(l, "third", "team/b", "ops", opts),
    /does not allow namespace "third"/,
  );
  assert.equal(resolveVaultAuthFor(l, "anywhere", "team/star", "ops", opts).auth.metadata.name, "star");
  assert.equal(resolveVaultAuthFor(l, "anywhere", "", "ops", opts).auth.metadata.name, "default");
  assert.throws(
    () => resolveVaultAuthFor(l, "team", "missing", "ops", opts),
    /VaultAuth team\/missing not found/,
  );
});

test("VaultAuthGlobal merge: method, mount, namespace, field-wise fill, merge strategies", () => {
  const global: VaultAuthGlobal = {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultAuthGlobal",
    metadata: { namespace: "ops", name: "default" },
    spec: {
      allowedNamespaces: ["team"],
      vaultConnectionRef: "ops/vault",
      defaultAuthMethod: "kubernetes",
      defaultMount: "k8s-default",
      defaultVaultNamespace: "ns-default",
      headers: { a: "global", g: "1" },
      kubernetes: {
        role: "global-role",
        serviceAccount: "global-sa",
        audiences: ["vault"],
        headers: { m: "method" },
      },
    },
  };
  const a = auth("team", "x", {
    vaultAuthGlobalRef: { allowDefault: true, mergeStrategy: { headers: "union" } },
    kubernetes: { serviceAccount: "own-sa" },
    headers: { a: "own" },
  });
  const l = lookup({ globals: [global] });
  const r = mergeVaultAuthGlobal(l, a, "ops", { allowDefaultGlobals: true });
  assert.equal(r.spec.method, "kubernetes");
  assert.equal(r.spec.mount, "k8s-default");
  assert.equal(r.spec.namespace, "ns-default");
  assert.equal(r.spec.kubernetes?.role, "global-role");
  assert.equal(r.spec.kubernetes?.serviceAccount, "own-sa", "own fields win");
  assert.deepEqual(r.spec.headers, { a: "own", g: "1", m: "method" });
  assert.equal(r.spec.vaultConnectionRef, "ops/vault");
  const replace = mergeVaultAuthGlobal(
    l,
    {
      ...a,
      spec: {
        ...a.spec,
        headers: undefined,
        vaultAuthGlobalRef: { allowDefault: true, mergeStrategy: { headers: "replace" } },
      },
    },
    "ops",
    {
      allowDefaultGlobals: true,
    },
  );
  assert.deepEqual(replace.spec.headers, { m: "method" });
  const none = mergeVaultAuthGlobal(l, a, "ops", { allowDefaultGlobals: true });
  assert.ok(none);
  assert.throws(
    () =>
      mergeVaultAuthGlobal(
        l,
        auth("elsewhere", "y", { vaultAuthGlobalRef: { name: "default", namespace: "ops" } }),
        "ops",
        { allowDefaultGlobals: true },
      ),
    /does not allow namespace "elsewhere"/,
  );
  assert.throws(
    () =>
      mergeVaultAuthGlobal(lookup({}), auth("team", "z", { kubernetes: {} }), "ops", {
        allowDefaultGlobals: true,
      }),
    /no auth method/,
  );
});

test("connection resolution: bare name in the VaultAuth's namespace, empty means operator default", () => {
  const conn = (ns: string, name: string): VaultConnection => ({
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultConnection",
    metadata: { namespace: ns, name },
    spec: { address: "http://x" },
  });
  const l = lookup({ conns: [conn("team", "mine"), conn("ops", "default")] });
  const base = { auth: auth("team", "a", {}), spec: { method: "kubernetes" as const, mount: "k" } };
  assert.equal(
    resolveConnection(l, { ...base, spec: { ...base.spec, vaultConnectionRef: "mine" } }, "ops").metadata
      .name,
    "mine",
  );
  assert.equal(resolveConnection(l, base, "ops").metadata.namespace, "ops");
  assert.throws(
    () => resolveConnection(l, { ...base, spec: { ...base.spec, vaultConnectionRef: "nope" } }, "ops"),
    /not found/,
  );
});

test("excludes apply first, includes second, with RE2 semantics", () => {
  const keys = ["API_KEY", "api_secret", "Internal_Api", "other"];
  assert.deepEqual(filterKeys(keys, { excludes: ["(?i)^internal"], includes: ["(?i)^api"] }), [
    "API_KEY",
    "api_secret",
  ]);
  assert.deepEqual(filterKeys(keys, { excludes: [".*"], includes: [] }), []);
  assert.deepEqual(filterKeys(keys, { excludes: [], includes: ["key"] }), [], "case-sensitive unless (?i)");
  assert.throws(() => filterKeys(keys, { excludes: ["(?=x)"], includes: [] }), /invalid regular expression/);
});

test("secret data: strings raw, other values as Go JSON, _raw, numbers kept verbatim", () => {
  const raw = parseJsonKeepingNumbers(
    '{"s":"x","n":1.50,"big":12345678901234567890,"o":{"z":1,"a":"<&>"},"l":[true,null]}',
  ) as Record<string, unknown>;
  const data = buildSecretData({
    secrets: raw,
    raw,
    filter: { includes: [], excludes: [] },
    excludeRaw: false,
  });
  assert.equal(data.s.toString(), "x");
  assert.equal(data.n.toString(), "1.50");
  assert.equal(data.big.toString(), "12345678901234567890");
  assert.equal(data.o.toString(), '{"a":"\\u003c\\u0026\\u003e","z":1}');
  assert.equal(data.l.toString(), "[true,null]");
  assert.equal(
    data._raw.toString(),
    '{"big":12345678901234567890,"l":[true,null],"n":1.50,"o":{"a":"\\u003c\\u0026\\u003e","z":1},"s":"x"}',
  );
  assert.throws(
    () =>
      buildSecretData({
        secrets: { _raw: "x" },
        raw: {},
        filter: { includes: [], excludes: [] },
        excludeRaw: false,
      }),
    /_raw/,
  );
  assert.equal(goMarshal(1e21), "1e+21");
  assert.equal(goMarshal(1e-7), "1e-7");
});

test("restart stamps are VSO's RFC 3339 seconds and never repeat, even within one second", () => {
  const now = Date.parse("2026-01-01T00:00:00.750Z");
  const a = restartStamp(undefined, now);
  const b = restartStamp(a, now);
  const c = restartStamp(b, now + 100);
  assert.equal(a, "2026-01-01T00:00:00Z");
  assert.equal(b, "2026-01-01T00:00:01Z");
  assert.equal(c, "2026-01-01T00:00:02Z");
  assert.equal(restartStamp("2025-12-31T23:59:59Z", now), a, "an older stamp does not matter");
  assert.equal(restartStamp("2026-01-01T00:00:00.500Z", now), b, "our earlier stamps, with milliseconds");
});

test("client cache keys follow VSO's shape and change with generations", () => {
  const k1 = clientCacheKey("kubernetes", "auth", 1, "conn", 1, "sa");
  assert.match(k1, /^kubernetes-[0-9a-f]{22}$/);
  assert.notEqual(k1, clientCacheKey("kubernetes", "auth", 2, "conn", 1, "sa"));
  assert.notEqual(k1, clientCacheKey("kubernetes", "auth", 1, "conn", 1, "other-sa"));
});

test("PKI issue path (issuerRef uses the documented .../issuer/<ref>/issue/<role>) and request body", async () => {
  const { pkiIssuePath, pkiRequestBody, pkiRenewIn } = await import(
    "../../src/operator/kinds/pki/reconciler.ts"
  );
  const base = { mount: "/pki/", role: "web", destination: { name: "d" } };
  assert.equal(pkiIssuePath(base), "pki/issue/web");
  assert.equal(pkiIssuePath({ ...base, issuerRef: "root-2026" }), "pki/issuer/root-2026/issue/web");
  assert.deepEqual(
    pkiRequestBody({
      ...base,
      commonName: "a",
      altNames: ["b", "c"],
      ipSans: [],
      ttl: "1h",
      excludeCNFromSans: false,
    }),
    {
      remove_roots_from_chain: true,
      common_name: "a",
      alt_names: "b,c",
      ttl: "1h",
    },
  );
  const now = Date.parse("2026-01-01T00:00:00Z");
  assert.equal(pkiRenewIn(now / 1000 + 3, 5000, now), 1000, "already in the window: issue now, not stuck");
  const due = pkiRenewIn(now / 1000 + 100, 10_000, now);
  assert.ok(due <= 90_000 && due >= 85_500);
});
