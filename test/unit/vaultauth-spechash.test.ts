// VaultAuth status.specHash must be byte-identical to VSO's: checked against
// VSO v1.5.0's own VaultAuthSpec and encoding/json (test/oracles/vaultauth-spechash).
import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { blake2b } from "@noble/hashes/blake2.js";
import { parse } from "yaml";
import type { VaultAuth, VaultAuthGlobal, VaultAuthSpec } from "../../src/api/index.ts";
import { REPO_ROOT } from "../../src/dev/paths.ts";
import { mergeVaultAuthGlobal } from "../../src/operator/refs.ts";
import {
  legacyVaultAuthSpecHash,
  vaultAuthSpecForHash,
  vaultAuthSpecHash,
  vsoVaultAuthSpecJSON,
  withVaultAuthDefaults,
} from "../../src/operator/vaultauth-spechash.ts";
import { GO_ORACLES, goOracle, runOracle } from "../support/go-oracle.ts";

type Spec = Record<string, unknown>;

/** Specs as the API server may store them (CRD defaults applied where the case says so). */
const CORPUS: Spec[] = [
  {},
  { method: "kubernetes" },
  {
    method: "kubernetes",
    mount: "kubernetes",
    kubernetes: { role: "app", serviceAccount: "default", tokenExpirationSeconds: 600 },
  },
  {
    vaultConnectionRef: "vault/conn",
    namespace: "team-a",
    allowedNamespaces: ["b", "a", "*"],
    method: "kubernetes",
    mount: "k8s/cluster-1",
    params: { zeta: "1", alpha: "2", Beta: "3", "a.b": "4", a_b: "5", "a-b": "6", "": "empty" },
    headers: { "X-Vault-Foo": "bar", "x-lower": "l", "X-Upper": "u", "<&>": "html" },
    kubernetes: {
      role: "app",
      serviceAccount: "sa",
      audiences: ["vault", "https://kubernetes.default.svc"],
      tokenExpirationSeconds: 3600,
    },
  },
  { method: "kubernetes", kubernetes: {} },
  { method: "kubernetes", kubernetes: { role: "r", audiences: [], tokenExpirationSeconds: 600 } },
  {
    method: "jwt",
    mount: "jwt",
    jwt: { role: "r", secretRef: "jwt-secret", tokenExpirationSeconds: 600 },
  },
  {
    method: "jwt",
    mount: "oidc",
    jwt: { role: "r", serviceAccount: "sa", audiences: ["x"], tokenExpirationSeconds: 1200 },
  },
  { method: "appRole", mount: "approle", appRole: { roleId: "1234-abcd", secretRef: "approle-secret" } },
  { method: "appRole", appRole: { roleId: "only" } },
  {
    method: "aws",
    mount: "aws",
    aws: {
      role: "r",
      region: "eu-west-1",
      headerValue: "vault.example.com",
      sessionName: "s",
      stsEndpoint: "https://sts.eu-west-1.amazonaws.com",
      iamEndpoint: "https://iam.amazonaws.com",
      secretRef: "aws-creds",
      irsaServiceAccount: "irsa",
    },
  },
  { method: "aws", aws: { role: "r" } },
  {
    method: "gcp",
    mount: "gcp",
    gcp: {
      role: "r",
      workloadIdentityServiceAccount: "wi",
      region: "us-central1",
      clusterName: "c",
      projectID: "p-1",
    },
  },
  { method: "gcp", gcp: { role: "r", workloadIdentityServiceAccount: "wi" } },
  // Several method blocks at once: struct order, not key order.
  {
    storageEncryption: { mount: "transit", keyName: "vso-client-cache" },
    gcp: { role: "g", workloadIdentityServiceAccount: "w" },
    aws: { role: "a" },
    jwt: { role: "j", tokenExpirationSeconds: 600 },
    appRole: { roleId: "x", secretRef: "y" },
    kubernetes: { role: "k", serviceAccount: "s", tokenExpirationSeconds: 600 },
    method: "kubernetes",
    mount: "m",
  },
  // storageEncryption's fields are not omitempty.
  { method: "kubernetes", storageEncryption: {} },
  { method: "kubernetes", storageEncryption: { mount: "transit" } },
  // vaultAuthGlobalRef and mergeStrategy; allowDefault is a *bool (false is kept).
  { vaultAuthGlobalRef: { name: "global" } },
  { vaultAuthGlobalRef: {} },
  { vaultAuthGlobalRef: { allowDefault: true } },
  { vaultAuthGlobalRef: { allowDefault: false, namespace: "shared" } },
  {
    vaultAuthGlobalRef: {
      name: "g",
      namespace: "ns",
      mergeStrategy: { headers: "union", params: "replace" },
      allowDefault: true,
    },
    method: "jwt",
    jwt: { role: "r", tokenExpirationSeconds: 600 },
  },
  { vaultAuthGlobalRef: { name: "g", mergeStrategy: {} } },
  { vaultAuthGlobalRef: { name: "g", mergeStrategy: { headers: "none", params: "none" } } },
  { vaultAuthGlobalRef: { name: "g", mergeStrategy: { params: "union" } } },
  // Empty values that omitempty leaves out.
  {
    vaultConnectionRef: "",
    namespace: "",
    allowedNamespaces: [],
    method: "",
    mount: "",
    params: {},
    headers: {},
  },
  // Strings Go escapes (HTML-safe, U+2028/9) and keys whose Go (bytewise UTF-8) and UTF-16 orders differ.
  {
    method: "kubernetes",
    namespace: 'a<b>&c\u2028\u2029\u0001"\\/é😀',
    headers: { "😀": "emoji", "\uffff": "bmp-max", "\ue000": "private", é: "e-acute", z: "z" },
    params: { 'q"uote': 'v"al', "back\\slash": "tab\t" },
    kubernetes: { role: "r\n", serviceAccount: "s", tokenExpirationSeconds: 600 },
  },
  // JSON null (a client may send it; Go reads it as unset).
  { method: "kubernetes", params: null, kubernetes: null, vaultAuthGlobalRef: null, headers: { a: "b" } },
];

/** Random specs over every field, for breadth. */
function randomSpecs(n: number): Spec[] {
  const pick = <T>(xs: T[]): T => xs[randomInt(xs.length)];
  const maybe = () => randomInt(3) === 0;
  const s = () => pick(["", "a", "Role-1", "x/y", "ns<1>", "é"]);
  const strs = () => Array.from({ length: randomInt(4) }, s);
  const map = () => Object.fromEntries(Array.from({ length: randomInt(5) }, () => [s() + randomInt(9), s()]));
  const some = (fields: Record<string, () => unknown>): Spec => {
    const o: Spec = {};
    for (const [k, f] of Object.entries(fields)) if (!maybe()) o[k] = f();
    return o;
  };
  const tes = () => pick([600, 601, 3600, 86400]);
  const out: Spec[] = [];
  for (let i = 0; i < n; i++) {
    const blocks: Record<string, () => unknown> = {
      kubernetes: () => some({ role: s, serviceAccount: s, audiences: strs, tokenExpirationSeconds: tes }),
      jwt: () =>
        some({ role: s, secretRef: s, serviceAccount: s, audiences: strs, tokenExpirationSeconds: tes }),
      appRole: () => some({ roleId: s, secretRef: s }),
      aws: () =>
        some({
          role: s,
          region: s,
          headerValue: s,
          sessionName: s,
          stsEndpoint: s,
          iamEndpoint: s,
          secretRef: s,
          irsaServiceAccount: s,
        }),
      gcp: () =>
        some({ role: s, workloadIdentityServiceAccount: s, region: s, clusterName: s, projectID: s }),
    };
    const spec = some({
      vaultConnectionRef: s,
      namespace: s,
      allowedNamespaces: strs,
      method: () => pick(["kubernetes", "jwt", "appRole", "aws", "gcp", ""]),
      mount: s,
      params: map,
      headers: map,
      vaultAuthGlobalRef: () =>
        some({
          name: s,
          namespace: s,
          mergeStrategy: () =>
            some({
              headers: () => pick(["union", "replace", "none"]),
              params: () => pick(["union", "none"]),
            }),
          allowDefault: () => pick([true, false]),
        }),
      storageEncryption: () => some({ mount: s, keyName: s }),
    });
    for (const [k, f] of Object.entries(blocks)) if (randomInt(3) === 0) spec[k] = f();
    out.push(spec);
  }
  return out;
}

/** The API server's structural defaulting with a CRD's schema (tests only: defaults on objects). */
function applySchemaDefaults(schema: SchemaNode, v: unknown): unknown {
  if (!v || typeof v !== "object" || Array.isArray(v) || !schema.properties) return v;
  const o = { ...(v as Record<string, unknown>) };
  for (const [k, sub] of Object.entries(schema.properties)) {
    if (o[k] == null && sub.default !== undefined) o[k] = structuredClone(sub.default);
    if (o[k] != null) o[k] = applySchemaDefaults(sub, o[k]);
  }
  return o;
}
interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  default?: unknown;
}
const OUR_SPEC_SCHEMA = (
  parse(readFileSync(join(REPO_ROOT, "deploy/crds/secrets.hashicorp.com_vaultauths.yaml"), "utf8")) as {
    spec: { versions: { schema: { openAPIV3Schema: SchemaNode } }[] };
  }
).spec.versions[0].schema.openAPIV3Schema.properties!.spec;

/** VSO's CRD (chart/crds in v1.5.0) declares only these defaults on a VaultAuth spec. */
const VSO_SPEC_SCHEMA: SchemaNode = {
  properties: {
    kubernetes: { properties: { tokenExpirationSeconds: { default: 600 } } },
    jwt: { properties: { tokenExpirationSeconds: { default: 600 } } },
  },
};

function oracle(specs: unknown[]): { hash: string; json: string }[] {
  const out = runOracle(
    goOracle(GO_ORACLES.vaultAuthSpecHash),
    `${specs.map((s) => JSON.stringify(s)).join("\n")}\n`,
  );
  const lines = out.split("\n").filter(Boolean);
  assert.equal(lines.length, specs.length);
  return lines.map((l) => {
    const i = l.indexOf(" ");
    return { hash: l.slice(0, i), json: l.slice(i + 1) };
  });
}

function assertSame(specs: unknown[], what: string): void {
  const want = oracle(specs);
  specs.forEach((spec, i) => {
    const s = spec as VaultAuthSpec;
    const ctx = `${what} #${i}: ${JSON.stringify(spec)}`;
    assert.equal(vsoVaultAuthSpecJSON(s), want[i].json, ctx);
    assert.equal(vaultAuthSpecHash(s), want[i].hash, ctx);
  });
}

test("specHash matches VSO's for specs stored under VSO's CRD and under ours", () => {
  const specs = [...CORPUS, ...randomSpecs(300)];
  assertSame(
    specs.map((s) => applySchemaDefaults(VSO_SPEC_SCHEMA, s)),
    "VSO's CRD",
  );
  assertSame(
    specs.map((s) => applySchemaDefaults(OUR_SPEC_SCHEMA, s)),
    "our CRD",
  );
});

test("a spec without the shared defaults hashes as the API server would store it", () => {
  const specs = [...CORPUS, ...randomSpecs(100)];
  const want = oracle(specs.map((s) => applySchemaDefaults(VSO_SPEC_SCHEMA, s)));
  specs.forEach((s, i) => {
    assert.equal(vaultAuthSpecHash(s as VaultAuthSpec), want[i].hash, JSON.stringify(s));
  });
  // The shared defaults are exactly what withVaultAuthDefaults applies.
  assert.deepEqual(withVaultAuthDefaults({ kubernetes: {}, jwt: { role: "r" } }), {
    kubernetes: { tokenExpirationSeconds: 600 },
    jwt: { role: "r", tokenExpirationSeconds: 600 },
  });
});

test("our CRD's spec defaults: the shared ones, plus mergeStrategy none (not applied by us)", () => {
  const found: Record<string, unknown> = {};
  const walk = (n: SchemaNode, path: string) => {
    if (n.default !== undefined) found[path] = n.default;
    for (const [k, sub] of Object.entries(n.properties ?? {})) walk(sub, `${path}.${k}`);
  };
  walk(OUR_SPEC_SCHEMA, "spec");
  assert.deepEqual(found, {
    "spec.vaultAuthGlobalRef.mergeStrategy.headers": "none",
    "spec.vaultAuthGlobalRef.mergeStrategy.params": "none",
    "spec.kubernetes.tokenExpirationSeconds": 600,
    "spec.jwt.tokenExpirationSeconds": 600,
  });
  // Under VSO's CRD a stored empty mergeStrategy stays empty, and VSO hashes it so.
  assert.equal(
    vsoVaultAuthSpecJSON({ vaultAuthGlobalRef: { name: "g", mergeStrategy: {} } }),
    '{"vaultAuthGlobalRef":{"name":"g","mergeStrategy":{}}}',
  );
});

test("a known vector", () => {
  // Computed with the Go oracle.
  const spec: VaultAuthSpec = {
    method: "kubernetes",
    mount: "k",
    kubernetes: { role: "r", serviceAccount: "d" },
  };
  assert.equal(
    vsoVaultAuthSpecJSON(spec),
    '{"method":"kubernetes","mount":"k","kubernetes":{"role":"r","serviceAccount":"d","tokenExpirationSeconds":600}}',
  );
  assert.equal(vaultAuthSpecHash(spec), "1866cb6ae8146017a2ce285684626b0ddbfdf3f86839d27700fcb0ba870a8e66");
});

// --- which spec is hashed ----------------------------------------------------

const OPERATOR_NS = "vault-secrets-operator-system";

function vaultAuth(spec: VaultAuthSpec, name = "auth", namespace = "app"): VaultAuth {
  return {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultAuth",
    metadata: { name, namespace },
    spec,
  };
}

function globalOf(spec: VaultAuthGlobal["spec"], name = "g", namespace = "app"): VaultAuthGlobal {
  return {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultAuthGlobal",
    metadata: { name, namespace },
    spec,
  };
}

function merge(auth: VaultAuth, global: VaultAuthGlobal) {
  const lookup = {
    vaultAuthGlobal: (ns: string, name: string) =>
      ns === global.metadata.namespace && name === global.metadata.name ? global : undefined,
  } as unknown as Parameters<typeof mergeVaultAuthGlobal>[0];
  return mergeVaultAuthGlobal(lookup, auth, OPERATOR_NS, { allowDefaultGlobals: true });
}

test("the merged spec is hashed when VSO's merge would succeed, the own spec otherwise", () => {
  const global = globalOf({
    defaultMount: "kubernetes",
    vaultConnectionRef: "conn",
    headers: { "X-Global": "g" },
    kubernetes: {
      role: "global-role",
      serviceAccount: "global-sa",
      tokenExpirationSeconds: 600,
      headers: { "X-Method": "m" },
    },
  });
  const auth = vaultAuth({
    vaultAuthGlobalRef: { name: "g", mergeStrategy: { headers: "union", params: "none" } },
    method: "kubernetes",
    kubernetes: { role: "mine", tokenExpirationSeconds: 600 },
  });
  const resolved = merge(auth, global);
  const spec = vaultAuthSpecForHash(auth, OPERATOR_NS, resolved);
  // What VSO's MergeInVaultAuthGlobal makes of it (read from its source, checked with the oracle).
  const vsoMerged = {
    vaultConnectionRef: "conn",
    vaultAuthGlobalRef: { name: "g", mergeStrategy: { headers: "union", params: "none" } },
    method: "kubernetes",
    mount: "kubernetes",
    headers: { "X-Global": "g", "X-Method": "m" },
    kubernetes: { role: "mine", serviceAccount: "global-sa", tokenExpirationSeconds: 600 },
  };
  assert.equal(vaultAuthSpecHash(spec), oracle([vsoMerged])[0].hash);

  // No VaultAuthGlobal merged (not found, or none referenced): the own spec.
  assert.equal(vaultAuthSpecForHash(auth, OPERATOR_NS, undefined), auth.spec);
  const noRef = vaultAuth({
    method: "kubernetes",
    mount: "k",
    kubernetes: { role: "r", serviceAccount: "s" },
  });
  assert.equal(vaultAuthSpecForHash(noRef, OPERATOR_NS, merge(noRef, global)), noRef.spec);

  // VSO validates the merged block when the VaultAuthGlobal configures the method: role and
  // serviceAccount for kubernetes; without a serviceAccount its merge fails, the own spec is hashed.
  const noSa = globalOf({ defaultMount: "k", kubernetes: { role: "r", tokenExpirationSeconds: 600 } });
  assert.equal(vaultAuthSpecForHash(auth, OPERATOR_NS, merge(auth, noSa)), auth.spec);
  // Without a method block on either side VSO's merge fails too.
  const noBlock = vaultAuth({ vaultAuthGlobalRef: { name: "g" }, method: "jwt" });
  assert.equal(vaultAuthSpecForHash(noBlock, OPERATOR_NS, merge(noBlock, global)), noBlock.spec);
  // With a block on the VaultAuth only, nothing is validated: the merged spec.
  const ownOnly = vaultAuth({ vaultAuthGlobalRef: { name: "g" }, method: "jwt", jwt: { secretRef: "s" } });
  const r = merge(ownOnly, global);
  assert.equal(vaultAuthSpecForHash(ownOnly, OPERATOR_NS, r), r.spec);
});

test("the operator namespace's default VaultAuth names the default VaultConnection before hashing", () => {
  const spec: VaultAuthSpec = { method: "kubernetes", kubernetes: { role: "r", serviceAccount: "s" } };
  assert.equal(
    vaultAuthSpecForHash(vaultAuth(spec, "default", OPERATOR_NS), OPERATOR_NS).vaultConnectionRef,
    "default",
  );
  assert.equal(
    vaultAuthSpecForHash(vaultAuth(spec, "other", OPERATOR_NS), OPERATOR_NS).vaultConnectionRef,
    undefined,
  );
  assert.equal(
    vaultAuthSpecForHash(vaultAuth(spec, "default", "app"), OPERATOR_NS).vaultConnectionRef,
    undefined,
  );
  const named = { ...spec, vaultConnectionRef: "mine" };
  assert.equal(
    vaultAuthSpecForHash(vaultAuth(named, "default", OPERATOR_NS), OPERATOR_NS).vaultConnectionRef,
    "mine",
  );
});

test("the hash an earlier vso-ts recorded is recognised (an upgrade purges nothing)", () => {
  const spec: VaultAuthSpec = {
    method: "kubernetes",
    mount: "k",
    kubernetes: { role: "r", serviceAccount: "d" },
  };
  // The earlier encoding: Go's json.Marshal of the untyped object, keys sorted.
  assert.equal(
    legacyVaultAuthSpecHash(spec),
    Buffer.from(
      blake2b(
        new TextEncoder().encode(
          '{"kubernetes":{"role":"r","serviceAccount":"d"},"method":"kubernetes","mount":"k"}',
        ),
        { dkLen: 32 },
      ),
    ).toString("hex"),
  );
  assert.notEqual(legacyVaultAuthSpecHash(spec), vaultAuthSpecHash(spec));
});
