// CRDs: generated files are fresh, names/printer columns/subresources/defaults
// follow the compatibility spec, and the seed walkthrough's manifests validate
// against the generated structural schemas (with a small test-only validator).
// The CRDs on the real kube-apiserver (CEL rules compiled and exercised) are
// tested in test/e2e/crds.test.ts.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import {
  API_VERSION,
  ConditionType,
  EventReason,
  Finalizer,
  isServedKind,
  KIND_INFO,
  KINDS,
  OwnerLabel,
  ownerLabels,
  SERVED_KINDS,
  type VaultAuth,
  type VaultConnection,
  type VaultDynamicSecret,
  type VaultStaticSecret,
} from "../../src/api/index.ts";
import { ALL_KINDS } from "../../src/api/schema/index.ts";
import { CRD_DIRS, crdFileName, TYPES_FILE } from "../../src/api/schema/render.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const GENERATOR = join(ROOT, "scripts/generate-crds.ts");

// --- a tiny structural validator (tests only) ---------------------------------

interface Schema {
  type?: string;
  format?: string;
  enum?: unknown[];
  pattern?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
  maxProperties?: number;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-list-type"?: string;
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-validations"?: { rule: string; message: string }[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Validates `value` like the apiserver's OpenAPI validation does (types, enums,
 * patterns, bounds, required, list-map keys) and additionally reports fields the
 * schema does not know (which the apiserver would prune or, with strict field
 * validation, reject). CEL rules are not evaluated here.
 */
function validate(schema: Schema, value: unknown, path = ""): string[] {
  const errs: string[] = [];
  const at = path || "<root>";
  switch (schema.type) {
    case "object":
      if (!isObject(value)) return [`${at}: expected object`];
      for (const r of schema.required ?? []) if (!(r in value)) errs.push(`${at}.${r}: required`);
      if (schema.maxProperties !== undefined && Object.keys(value).length > schema.maxProperties) {
        errs.push(`${at}: more than ${schema.maxProperties} properties`);
      }
      for (const [k, v] of Object.entries(value)) {
        const sub = schema.properties?.[k] ?? schema.additionalProperties;
        if (sub) errs.push(...validate(sub, v, `${path}.${k}`));
        else if (!schema["x-kubernetes-preserve-unknown-fields"] && schema.properties) {
          errs.push(`${path}.${k}: unknown field`);
        }
      }
      return errs;
    case "array":
      if (!Array.isArray(value)) return [`${at}: expected array`];
      if (schema.maxItems !== undefined && value.length > schema.maxItems) errs.push(`${at}: too many items`);
      if (schema["x-kubernetes-list-type"] === "map") {
        const keys = value.map((v) =>
          JSON.stringify((schema["x-kubernetes-list-map-keys"] ?? []).map((k) => v?.[k])),
        );
        if (new Set(keys).size !== keys.length) errs.push(`${at}: duplicate list-map keys`);
      }
      value.forEach((v, i) => {
        errs.push(...validate(schema.items!, v, `${path}[${i}]`));
      });
      return errs;
    case "string":
      if (typeof value !== "string") return [`${at}: expected string, got ${JSON.stringify(value)}`];
      if (schema.minLength !== undefined && value.length < schema.minLength) errs.push(`${at}: too short`);
      if (schema.maxLength !== undefined && value.length > schema.maxLength) errs.push(`${at}: too long`);
      if (schema.pattern && !new RegExp(schema.pattern).test(value))
        errs.push(`${at}: does not match pattern`);
      if (schema.format === "date-time" && Number.isNaN(Date.parse(value)))
        errs.push(`${at}: not a date-time`);
      break;
    case "integer":
      if (typeof value !== "number" || !Number.isInteger(value)) return [`${at}: expected integer`];
      if (schema.minimum !== undefined && value < schema.minimum) errs.push(`${at}: below ${schema.minimum}`);
      if (schema.maximum !== undefined && value > schema.maximum) errs.push(`${at}: above ${schema.maximum}`);
      break;
    case "boolean":
      if (typeof value !== "boolean") return [`${at}: expected boolean`];
      break;
    default:
      throw new Error(`${at}: schema without type`);
  }
  if (schema.enum && !schema.enum.includes(value)) errs.push(`${at}: ${JSON.stringify(value)} not in enum`);
  return errs;
}

/** Applies schema defaults like the apiserver: only inside objects that are present. */
function applyDefaults(schema: Schema, value: unknown): unknown {
  if (schema.type === "object" && isObject(value)) {
    const out: Record<string, unknown> = { ...value };
    for (const [k, sub] of Object.entries(schema.properties ?? {})) {
      if (!(k in out) && sub.default !== undefined) out[k] = structuredClone(sub.default);
      if (k in out) out[k] = applyDefaults(sub, out[k]);
    }
    if (schema.additionalProperties) {
      for (const k of Object.keys(out)) {
        if (!schema.properties?.[k]) out[k] = applyDefaults(schema.additionalProperties, out[k]);
      }
    }
    return out;
  }
  if (schema.type === "array" && Array.isArray(value))
    return value.map((v) => applyDefaults(schema.items!, v));
  return value;
}

// --- generated CRDs -------------------------------------------------------------

interface Crd {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; singular: string; listKind: string; shortNames?: string[] };
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      additionalPrinterColumns?: { name: string; type: string; jsonPath: string }[];
      schema: { openAPIV3Schema: Schema };
      subresources?: { status?: object };
    }[];
  };
}

function loadCrd(dir: string, plural: string): Crd {
  return parse(readFileSync(join(ROOT, dir, `secrets.hashicorp.com_${plural}.yaml`), "utf8")) as Crd;
}

const crds = new Map<string, Crd>(KINDS.map((k) => [k.kind, loadCrd("deploy/crds", k.plural)]));

function schemaOf(kind: string): Schema {
  return crds.get(kind)!.spec.versions[0].schema.openAPIV3Schema;
}

/** The schema node at a dotted path below the root (".spec.destination.create"). */
function node(kind: string, path: string): Schema {
  let s = schemaOf(kind);
  for (const part of path.split(".").filter(Boolean)) {
    const next = part === "[]" ? s.items : part === "{}" ? s.additionalProperties : s.properties?.[part];
    assert.ok(next, `${kind}: no schema at ${path} (missing ${part})`);
    s = next;
  }
  return s;
}

function validateManifest(doc: unknown): string[] {
  assert.ok(isObject(doc));
  assert.equal(doc.apiVersion, API_VERSION);
  const crd = crds.get(String(doc.kind));
  assert.ok(crd, `no CRD for kind ${String(doc.kind)}`);
  return validate(crd.spec.versions[0].schema.openAPIV3Schema, doc);
}

// --- seed walkthrough manifests (verbatim, comments included) -------------------

const SEED_CONNECTION = `# examples/vault-connection.yaml
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultConnection
metadata:
  name: default
  namespace: default
spec:
  # Vault 주소
  address: http://vault.vault.svc.cluster.local:8200
  
  # Skip TLS verification (개발 환경용)
  skipTLSVerify: true
`;

const SEED_AUTH = `# examples/vault-auth.yaml
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata:
  name: default
  namespace: default
spec:
  # VaultConnection 참조
  vaultConnectionRef: default
  
  # Kubernetes 인증 방법 사용
  method: kubernetes
  mount: kubernetes
  
  kubernetes:
    role: myapp-role
    serviceAccount: myapp-sa
`;

const SEED_AUTH_DEV = `# dev namespace
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata:
  name: default
  namespace: dev
spec:
  kubernetes:
    role: dev-role
    serviceAccount: dev-sa
`;

const SEED_STATIC_1 = `# examples/static-secret-example.yaml
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata:
  name: myapp-database-secret
  namespace: default
spec:
  # VaultAuth 참조
  vaultAuthRef: default
  
  # Vault의 KV 경로
  mount: secret
  type: kv-v2
  path: myapp/database
  
  # 동기화할 Kubernetes Secret
  destination:
    name: myapp-database
    create: true
  
  # 갱신 간격 (기본값: 60초)
  refreshAfter: 30s
`;

/** Declares spec.destination twice, exactly as the walkthrough does. */
const SEED_STATIC_2 = `apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata:
  name: myapp-api-keys
  namespace: default
spec:
  vaultAuthRef: default
  mount: secret
  type: kv-v2
  path: myapp/api-keys
  
  destination:
    name: myapp-api-keys
    create: true
    
  # 특정 필드만 동기화
  hmacSecretData: false
  
  # 필드 변환
  destination:
    name: api-keys
    create: true
    transformation:
      excludes:
        - internal_key
      includes:
        - public_key
        - private_key
`;

const SEED_DYNAMIC = `# examples/dynamic-secret-example.yaml
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultDynamicSecret
metadata:
  name: myapp-db-creds
  namespace: default
spec:
  vaultAuthRef: default
  
  # Database Secret Engine 경로
  mount: database
  path: creds/myapp-db-role
  
  # 동기화할 Kubernetes Secret
  destination:
    name: myapp-db-dynamic
    create: true
  
  # Lease 설정
  renewalPercent: 67  # TTL의 67%가 지나면 갱신
  revoke: true        # CR 삭제 시 Vault에서 Secret 폐기
  
  # 롤백 설정
  rolloutRestartTargets:
    - kind: Deployment
      name: myapp
`;

// ---------------------------------------------------------------------------------

describe("generated files", () => {
  it("are up to date (generator --check passes)", () => {
    const r = spawnSync(process.execPath, [GENERATOR, "--check"], { cwd: ROOT, encoding: "utf8" });
    assert.equal(r.status, 0, `generated files are stale:\n${r.stderr}${r.stdout}`);
  });

  it("--check names stale, missing and extra files and exits non-zero", () => {
    const tmp = mkdtempSync(join(tmpdir(), "vso-crds-"));
    try {
      const gen = spawnSync(process.execPath, [GENERATOR, "--root", tmp], { encoding: "utf8" });
      assert.equal(gen.status, 0, gen.stderr);
      assert.equal(
        spawnSync(process.execPath, [GENERATOR, "--check", "--root", tmp], { encoding: "utf8" }).status,
        0,
      );
      const vss = join(tmp, "deploy/crds/secrets.hashicorp.com_vaultstaticsecrets.yaml");
      writeFileSync(vss, `${readFileSync(vss, "utf8")}# edited\n`);
      rmSync(join(tmp, TYPES_FILE));
      writeFileSync(join(tmp, CRD_DIRS[1], "secrets.hashicorp.com_vaulttransits.yaml"), "{}\n");
      const r = spawnSync(process.execPath, [GENERATOR, "--check", "--root", tmp], { encoding: "utf8" });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /stale: deploy\/crds\/secrets\.hashicorp\.com_vaultstaticsecrets\.yaml/);
      assert.match(r.stderr, /stale: src\/api\/types\.generated\.ts/);
      assert.match(r.stderr, /secrets\.hashicorp\.com_vaulttransits\.yaml/);
      assert.doesNotMatch(r.stderr, /vaultdynamicsecrets/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("writes one CRD per kind, identical in deploy/crds and the chart's crds/, with the header", () => {
    for (const dir of CRD_DIRS) {
      const names = readdirSync(join(ROOT, dir)).filter((n) => n.endsWith(".yaml"));
      assert.deepEqual(names.sort(), ALL_KINDS.map(crdFileName).sort());
    }
    for (const k of ALL_KINDS) {
      const a = readFileSync(join(ROOT, CRD_DIRS[0], crdFileName(k)), "utf8");
      const b = readFileSync(join(ROOT, CRD_DIRS[1], crdFileName(k)), "utf8");
      assert.equal(a, b);
      assert.ok(a.startsWith("# Code generated by scripts/generate-crds.ts; DO NOT EDIT.\n"));
    }
    assert.ok(
      readFileSync(join(ROOT, TYPES_FILE), "utf8").startsWith(
        "// Code generated by scripts/generate-crds.ts; DO NOT EDIT.\n",
      ),
    );
  });
});

describe("CRD names, scope, versions and printer columns (spec §0)", () => {
  const SYNCED = {
    name: "Synced",
    type: "string",
    jsonPath: '.status.conditions[?(@.type == "SecretSynced")].status',
  };
  const HEALTHY = {
    name: "Healthy",
    type: "string",
    jsonPath: '.status.conditions[?(@.type == "Healthy")].status',
  };
  const READY = {
    name: "Ready",
    type: "string",
    jsonPath: '.status.conditions[?(@.type == "Ready")].status',
  };
  const AGE = { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" };
  const expected: Record<string, { plural: string; columns: object[]; served: boolean }> = {
    VaultConnection: { plural: "vaultconnections", columns: [HEALTHY, READY, AGE], served: true },
    VaultAuth: { plural: "vaultauths", columns: [HEALTHY, READY, AGE], served: true },
    VaultAuthGlobal: { plural: "vaultauthglobals", columns: [], served: true },
    VaultStaticSecret: { plural: "vaultstaticsecrets", columns: [SYNCED, HEALTHY, READY, AGE], served: true },
    VaultDynamicSecret: {
      plural: "vaultdynamicsecrets",
      columns: [SYNCED, HEALTHY, READY, AGE],
      served: true,
    },
    VaultPKISecret: { plural: "vaultpkisecrets", columns: [SYNCED, HEALTHY, READY, AGE], served: true },
    SecretTransformation: { plural: "secrettransformations", columns: [HEALTHY, READY, AGE], served: true },
    HCPAuth: { plural: "hcpauths", columns: [], served: false },
    HCPVaultSecretsApp: { plural: "hcpvaultsecretsapps", columns: [], served: false },
    CSISecrets: { plural: "csisecrets", columns: [], served: false },
  };

  it("covers exactly the ten kinds", () => {
    assert.deepEqual(
      KINDS.map((k) => k.kind),
      Object.keys(expected),
    );
  });

  for (const [kind, want] of Object.entries(expected)) {
    it(kind, () => {
      const crd = crds.get(kind)!;
      assert.equal(crd.apiVersion, "apiextensions.k8s.io/v1");
      assert.equal(crd.kind, "CustomResourceDefinition");
      assert.equal(crd.metadata.name, `${want.plural}.secrets.hashicorp.com`);
      assert.equal(crd.spec.group, "secrets.hashicorp.com");
      assert.equal(crd.spec.scope, "Namespaced");
      assert.deepEqual(crd.spec.names, {
        kind,
        listKind: `${kind}List`,
        plural: want.plural,
        singular: kind.toLowerCase(),
      });
      assert.equal(crd.spec.versions.length, 1);
      const v = crd.spec.versions[0];
      assert.equal(v.name, "v1beta1");
      assert.equal(v.served, true);
      assert.equal(v.storage, true);
      assert.deepEqual(v.subresources, { status: {} });
      assert.deepEqual(v.additionalPrinterColumns ?? [], want.columns);
      assert.equal(KIND_INFO[kind as keyof typeof KIND_INFO].served, want.served);
      assert.equal(KIND_INFO[kind as keyof typeof KIND_INFO].plural, want.plural);
      assert.equal(isServedKind(kind), want.served);
    });
  }

  it("serves the seven Vault kinds only", () => {
    assert.deepEqual(SERVED_KINDS, [
      "VaultConnection",
      "VaultAuth",
      "VaultAuthGlobal",
      "VaultStaticSecret",
      "VaultDynamicSecret",
      "VaultPKISecret",
      "SecretTransformation",
    ]);
  });
});

describe("fields, defaults, enums and patterns (spec §1)", () => {
  const DUR = "^([0-9]+(\\.[0-9]+)?(s|m|h))$";

  it("defaults match the spec table", () => {
    const cases: [string, string, unknown][] = [
      ["VaultConnection", ".spec.skipTLSVerify", false],
      ["VaultAuth", ".spec.kubernetes.tokenExpirationSeconds", 600],
      ["VaultAuth", ".spec.jwt.tokenExpirationSeconds", 600],
      ["VaultAuth", ".spec.vaultAuthGlobalRef.mergeStrategy.headers", "none"],
      ["VaultAuth", ".spec.vaultAuthGlobalRef.mergeStrategy.params", "none"],
      ["VaultAuthGlobal", ".spec.kubernetes.tokenExpirationSeconds", 600],
      ["VaultStaticSecret", ".spec.hmacSecretData", true],
      ["VaultStaticSecret", ".spec.destination.create", false],
      ["VaultStaticSecret", ".spec.destination.overwrite", false],
      ["VaultStaticSecret", ".spec.syncConfig.instantUpdates", false],
      ["VaultDynamicSecret", ".spec.renewalPercent", 67],
      ["VaultDynamicSecret", ".spec.revoke", false],
      ["VaultDynamicSecret", ".spec.allowStaticCreds", false],
      ["VaultPKISecret", ".spec.revoke", false],
      ["VaultPKISecret", ".spec.clear", false],
      ["VaultPKISecret", ".spec.excludeCNFromSans", false],
      ["HCPAuth", ".spec.method", "servicePrincipal"],
      ["HCPVaultSecretsApp", ".spec.refreshAfter", "600s"],
      ["HCPVaultSecretsApp", ".spec.syncConfig.dynamic.renewalPercent", 67],
      ["CSISecrets", ".spec.accessControl.matchPolicy", "all"],
    ];
    for (const [kind, path, want] of cases)
      assert.deepEqual(node(kind, path).default, want, `${kind}${path}`);
    // No schema default where the spec's default is a runtime fallback.
    assert.equal(node("VaultStaticSecret", ".spec.destination.type").default, undefined);
    assert.equal(node("VaultConnection", ".spec.timeout").default, undefined);
  });

  it("bounds, enums and duration patterns", () => {
    assert.equal(node("VaultAuth", ".spec.kubernetes.tokenExpirationSeconds").minimum, 600);
    assert.equal(node("VaultAuth", ".spec.kubernetes.tokenExpirationSeconds").format, "int64");
    assert.equal(node("VaultDynamicSecret", ".spec.renewalPercent").minimum, 0);
    assert.equal(node("VaultDynamicSecret", ".spec.renewalPercent").maximum, 90);
    assert.equal(node("VaultStaticSecret", ".spec.version").minimum, 0);
    assert.deepEqual(node("VaultStaticSecret", ".spec.type").enum, ["kv-v1", "kv-v2"]);
    assert.deepEqual(node("VaultAuth", ".spec.method").enum, ["kubernetes", "jwt", "appRole", "aws", "gcp"]);
    assert.deepEqual(node("VaultAuthGlobal", ".spec.defaultAuthMethod").enum, [
      "kubernetes",
      "jwt",
      "appRole",
      "aws",
      "gcp",
    ]);
    assert.deepEqual(node("VaultDynamicSecret", ".spec.requestHTTPMethod").enum, ["GET", "POST", "PUT"]);
    assert.deepEqual(node("VaultStaticSecret", ".spec.rolloutRestartTargets.[].kind").enum, [
      "Deployment",
      "DaemonSet",
      "StatefulSet",
      "argo.Rollout",
    ]);
    assert.deepEqual(node("CSISecrets", ".spec.accessControl.matchPolicy").enum, ["any", "all"]);
    for (const [kind, path] of [
      ["VaultConnection", ".spec.timeout"],
      ["VaultStaticSecret", ".spec.refreshAfter"],
      ["VaultDynamicSecret", ".spec.refreshAfter"],
      ["VaultPKISecret", ".spec.expiryOffset"],
      ["HCPVaultSecretsApp", ".spec.refreshAfter"],
      ["CSISecrets", ".spec.secrets.vaultAppRoleSecretIDs.[].ttl"],
    ]) {
      assert.equal(node(kind, path).pattern, DUR, `${kind}${path}`);
    }
    assert.equal(node("VaultPKISecret", ".spec.ttl").pattern, "^([0-9]+(\\.[0-9]+)?(s|m|h|d))$");
    assert.equal(node("VaultAuth", ".spec.vaultAuthGlobalRef.name").pattern, "^([a-z0-9.-]{1,253})$");
    assert.equal(node("VaultAuth", ".spec.vaultAuthGlobalRef.namespace").pattern, "^([a-z0-9-]{1,63})$");
    const dur = new RegExp(DUR);
    for (const ok of ["30s", "1.5h", "600s", "10m"]) assert.ok(dur.test(ok), ok);
    for (const bad of ["30", "1h30m", "1d", "s", "-1s"]) assert.ok(!dur.test(bad), bad);
  });

  it("required fields", () => {
    assert.deepEqual(schemaOf("VaultConnection").required, ["spec"]);
    assert.equal(schemaOf("VaultAuth").required, undefined);
    assert.deepEqual(node("VaultConnection", ".spec").required, ["address"]);
    assert.deepEqual(node("VaultStaticSecret", ".spec").required, ["mount", "path", "type", "destination"]);
    assert.deepEqual(node("VaultDynamicSecret", ".spec").required, ["mount", "path", "destination"]);
    assert.deepEqual(node("VaultPKISecret", ".spec").required, ["mount", "role", "destination"]);
    assert.deepEqual(node("VaultStaticSecret", ".spec.destination").required, ["name"]);
    assert.deepEqual(node("VaultStaticSecret", ".spec.destination.transformation.templates.{}").required, [
      "text",
    ]);
    assert.deepEqual(node("HCPAuth", ".spec").required, ["organizationID", "projectID"]);
  });

  it("status schemas (spec §1)", () => {
    const cond = node("VaultStaticSecret", ".status.conditions");
    assert.equal(cond["x-kubernetes-list-type"], "map");
    assert.deepEqual(cond["x-kubernetes-list-map-keys"], ["type"]);
    assert.deepEqual(cond.items!.required, ["type", "status", "lastTransitionTime", "reason", "message"]);
    assert.deepEqual(cond.items!.properties!.status.enum, ["True", "False", "Unknown"]);
    for (const k of ALL_KINDS)
      assert.ok(node(k.kind, ".status.conditions").items, `${k.kind} has conditions`);
    assert.deepEqual(node("VaultConnection", ".status").required, ["valid"]);
    assert.deepEqual(node("VaultStaticSecret", ".status").required, ["lastGeneration"]);
    assert.ok(node("VaultStaticSecret", ".status.secretMAC"));
    assert.ok(node("VaultStaticSecret", ".status.vaultClientMeta.cacheKey"));
    assert.deepEqual(node("VaultDynamicSecret", ".status").required, [
      "lastRenewalTime",
      "lastGeneration",
      "secretLease",
    ]);
    for (const f of ["id", "duration", "renewable", "requestID"]) {
      assert.ok(node("VaultDynamicSecret", `.status.secretLease.${f}`));
    }
    for (const f of ["lastVaultRotation", "rotationPeriod", "rotationSchedule", "ttl"]) {
      assert.ok(node("VaultDynamicSecret", `.status.staticCredsMetaData.${f}`));
    }
    assert.deepEqual(node("VaultPKISecret", ".status").required, [
      "lastGeneration",
      "lastRotation",
      "valid",
      "error",
    ]);
    assert.ok(node("VaultAuth", ".status.specHash"));
    assert.deepEqual(node("VaultAuthGlobal", ".status").required, ["valid", "error"]);
    assert.ok(node("HCPVaultSecretsApp", ".status.dynamicSecrets.[].expiresAt"));
    // A realistic status written by the operator validates.
    const status = {
      lastGeneration: 2,
      secretMAC: "q1w2e3==",
      vaultClientMeta: { cacheKey: "kubernetes-0123456789abcdef012345", id: "ab" },
      conditions: [
        {
          type: "SecretSynced",
          status: "True",
          reason: "Synced",
          message: "",
          lastTransitionTime: "2026-01-01T00:00:00Z",
          observedGeneration: 2,
        },
      ],
    };
    assert.deepEqual(validate(node("VaultStaticSecret", ".status"), status), []);
    const dup = { ...status, conditions: [status.conditions[0], status.conditions[0]] };
    assert.ok(validate(node("VaultStaticSecret", ".status"), dup).some((e) => e.includes("duplicate")));
  });

  it("uses x-kubernetes-preserve-unknown-fields nowhere", () => {
    for (const dir of CRD_DIRS) {
      for (const name of readdirSync(join(ROOT, dir))) {
        assert.doesNotMatch(readFileSync(join(ROOT, dir, name), "utf8"), /preserve-unknown-fields/, name);
      }
    }
  });
});

describe("CEL rules (x-kubernetes-validations)", () => {
  function rules(kind: string, path: string): string[] {
    return (node(kind, path)["x-kubernetes-validations"] ?? []).map((r) => r.rule);
  }

  it("are where the spec declares mutual exclusions and forbidden values", () => {
    assert.ok(
      rules("VaultConnection", ".spec").some(
        (r) => r.includes("caCertSecretRef") && r.includes("caCertPath"),
      ),
    );
    assert.ok(rules("VaultConnection", ".spec.headers").some((r) => r.includes("'x-vault-namespace'")));
    for (const kind of ["VaultAuth", "VaultAuthGlobal"]) {
      // secretIDPath is refused outright (removed in VSO 1.5.0; issue 22).
      assert.ok(
        rules(kind, ".spec.appRole").includes("!(has(self.secretIDPath) && self.secretIDPath != '')"),
      );
      assert.ok(
        rules(kind, ".spec.jwt").some((r) => r.includes("secretRef") && r.includes("serviceAccount")),
      );
    }
  });

  it("are well-formed: optional fields guarded with has(), balanced parentheses, quoted literals", () => {
    for (const k of ALL_KINDS) {
      const text = readFileSync(join(ROOT, "deploy/crds", crdFileName(k)), "utf8");
      const crd = parse(text) as Crd;
      const walk = (s: Schema, path: string) => {
        for (const r of s["x-kubernetes-validations"] ?? []) {
          let depth = 0;
          for (const ch of r.rule.replace(/'[^']*'/g, "''")) {
            if (ch === "(") depth++;
            if (ch === ")") depth--;
            assert.ok(depth >= 0, `${k.kind}${path}: unbalanced ${r.rule}`);
          }
          assert.equal(depth, 0, `${k.kind}${path}: unbalanced ${r.rule}`);
          assert.ok(r.message.length > 0);
          const required = new Set(s.required ?? []);
          for (const m of r.rule.matchAll(/self\.([A-Za-z]+)\b(?!\s*\()/g)) {
            if (required.has(m[1])) continue;
            assert.ok(
              r.rule.includes(`has(self.${m[1]})`),
              `${k.kind}${path}: self.${m[1]} used without has()`,
            );
          }
        }
        for (const [name, sub] of Object.entries(s.properties ?? {})) walk(sub, `${path}.${name}`);
        if (s.items) walk(s.items, `${path}[]`);
        if (s.additionalProperties) walk(s.additionalProperties, `${path}{}`);
      };
      walk(crd.spec.versions[0].schema.openAPIV3Schema, "");
    }
  });
});

describe("seed walkthrough manifests validate unchanged", () => {
  for (const [name, text] of [
    ["VaultConnection", SEED_CONNECTION],
    ["VaultAuth", SEED_AUTH],
    ["VaultAuth (dev namespace, no method)", SEED_AUTH_DEV],
    ["VaultStaticSecret (example 1)", SEED_STATIC_1],
    ["VaultDynamicSecret", SEED_DYNAMIC],
  ] as const) {
    it(name, () => {
      assert.deepEqual(validateManifest(parse(text)), []);
    });
  }

  it("VaultStaticSecret example 2: the duplicated destination key", () => {
    // The yaml package (YAML 1.2, like most strict parsers) refuses duplicate keys by default.
    assert.throws(() => parse(SEED_STATIC_2), /unique/i);
    // Without the uniqueness check the last occurrence wins; kubectl (sigs.k8s.io/yaml) does the
    // same: applied to kube-apiserver v1.37.2 the stored object has destination.name "api-keys"
    // with the transformation, and no error or warning is reported.
    const lastWins = parse(SEED_STATIC_2, { uniqueKeys: false }) as VaultStaticSecret;
    assert.deepEqual(lastWins.spec.destination, {
      name: "api-keys",
      create: true,
      transformation: { excludes: ["internal_key"], includes: ["public_key", "private_key"] },
    });
    assert.equal(lastWins.spec.hmacSecretData, false);
    assert.deepEqual(validateManifest(lastWins), []);
    // A first-wins parser would keep the first destination; that object is valid too.
    const firstWins = structuredClone(lastWins);
    firstWins.spec.destination = { name: "myapp-api-keys", create: true };
    assert.deepEqual(validateManifest(firstWins), []);
  });

  it("defaults are applied as the apiserver would", () => {
    const auth = applyDefaults(schemaOf("VaultAuth"), parse(SEED_AUTH)) as VaultAuth;
    assert.equal(auth.spec?.kubernetes?.tokenExpirationSeconds, 600);
    const vss = applyDefaults(schemaOf("VaultStaticSecret"), parse(SEED_STATIC_1)) as VaultStaticSecret;
    assert.equal(vss.spec.hmacSecretData, true);
    assert.equal(vss.spec.destination.overwrite, false);
    assert.equal(vss.spec.refreshAfter, "30s");
    const vds = applyDefaults(schemaOf("VaultDynamicSecret"), parse(SEED_DYNAMIC)) as VaultDynamicSecret;
    assert.equal(vds.spec.renewalPercent, 67);
    assert.equal(vds.spec.allowStaticCreds, false);
    assert.equal(vds.spec.revoke, true);
    const conn = applyDefaults(schemaOf("VaultConnection"), parse(SEED_CONNECTION)) as VaultConnection;
    assert.equal(conn.spec.skipTLSVerify, true);
  });

  it("the validator rejects what the schema forbids", () => {
    const bad = parse(SEED_STATIC_1) as Record<string, Record<string, unknown>>;
    bad.spec.type = "kv-v3";
    bad.spec.refreshAfter = "1h30m";
    bad.spec.version = -1;
    bad.spec.destinaton = { name: "typo" };
    const errs = validateManifest(bad);
    assert.ok(errs.some((e) => e.startsWith(".spec.type")));
    assert.ok(errs.some((e) => e.startsWith(".spec.refreshAfter")));
    assert.ok(errs.some((e) => e.startsWith(".spec.version")));
    assert.ok(errs.some((e) => e === ".spec.destinaton: unknown field"));
    const noMount = parse(SEED_DYNAMIC) as Record<string, Record<string, unknown>>;
    delete noMount.spec.mount;
    noMount.spec.renewalPercent = 95;
    assert.deepEqual(validateManifest(noMount).sort(), [
      ".spec.mount: required",
      ".spec.renewalPercent: above 90",
    ]);
  });
});

describe("src/api exports", () => {
  it("condition types, event reasons, finalizers and owner labels", () => {
    assert.equal(ConditionType.SecretSynced, "SecretSynced");
    assert.equal(ConditionType.Available, "Available");
    assert.equal(Object.keys(EventReason).length, 39);
    for (const [k, v] of Object.entries(EventReason)) assert.equal(k, v);
    assert.equal(Finalizer.VaultPKISecret, "vaultpkisecrets.secrets.hashicorp.com/finalizer");
    assert.equal(Finalizer.VaultStaticSecret, "vaultstaticsecret.secrets.hashicorp.com/finalizer");
    assert.equal(OwnerLabel.OwnerRefUID, "secrets.hashicorp.com/vso-ownerRefUID");
    assert.deepEqual(ownerLabels("uid-1"), {
      "app.kubernetes.io/managed-by": "hashicorp-vso",
      "app.kubernetes.io/name": "vault-secrets-operator",
      "app.kubernetes.io/component": "secret-sync",
      "secrets.hashicorp.com/vso-ownerRefUID": "uid-1",
    });
  });

  it("generated types accept the seed objects (checked by tsc)", () => {
    const vss: VaultStaticSecret = {
      apiVersion: "secrets.hashicorp.com/v1beta1",
      kind: "VaultStaticSecret",
      metadata: { name: "myapp-database-secret", namespace: "default" },
      spec: {
        vaultAuthRef: "default",
        mount: "secret",
        type: "kv-v2",
        path: "myapp/database",
        destination: { name: "myapp-database", create: true },
        refreshAfter: "30s",
      },
    };
    assert.deepEqual(validateManifest(vss), []);
    assert.deepEqual(vss, parse(SEED_STATIC_1));
  });
});
