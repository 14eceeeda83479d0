// VaultAuth status.specHash exactly as VSO v1.5.0 computes it, so that either
// operator sees an unchanged VaultAuth as unchanged and keeps (does not purge)
// the cached clients of the other.
//
// VSO hashes blake2b-256 (hex) of Go's encoding/json Marshal of its typed
// VaultAuthSpec. A typed encoding differs from re-encoding the object we read:
// fields come in struct order (not sorted), unknown fields are dropped, a
// `omitempty` string, slice, map or integer is left out when empty or zero, a
// pointer (a method block, mergeStrategy, allowDefault) only when absent, so
// `allowDefault: false` and `kubernetes: {}` are kept, and storageEncryption's
// two fields are never left out. The field lists below follow VSO's struct
// tags (api/v1beta1/vaultauth_types.go); test/unit/vaultauth-spechash.test.ts
// checks them against VSO's own encoding (test/oracles/vaultauth-spechash).
//
// Which spec: VSO hashes the spec after merging the referenced VaultAuthGlobal
// when that merge succeeds, the VaultAuth's own spec otherwise; and it first
// names VaultConnection `default` on the VaultAuth `default` of the operator
// namespace when that sets none (see vaultAuthSpecForHash).
import { blake2b } from "@noble/hashes/blake2.js";
import type { VaultAuth, VaultAuthGlobal, VaultAuthSpec } from "../api/index.ts";
import { goJsonString, goMarshal, goSortedKeys } from "../util/gojson.ts";

type Kind = "string" | "strings" | "int64" | "bool*" | "map" | { struct: Field[]; pointer: boolean };
type Field = readonly [json: string, kind: Kind, omitempty: boolean];

const ptr = (struct: Field[]): Kind => ({ struct, pointer: true });

const MERGE_STRATEGY: Field[] = [
  ["headers", "string", true],
  ["params", "string", true],
];
const GLOBAL_REF: Field[] = [
  ["name", "string", true],
  ["namespace", "string", true],
  ["mergeStrategy", ptr(MERGE_STRATEGY), true],
  ["allowDefault", "bool*", true],
];
const KUBERNETES: Field[] = [
  ["role", "string", true],
  ["serviceAccount", "string", true],
  ["audiences", "strings", true],
  ["tokenExpirationSeconds", "int64", true],
];
const JWT: Field[] = [
  ["role", "string", true],
  ["secretRef", "string", true],
  ["serviceAccount", "string", true],
  ["audiences", "strings", true],
  ["tokenExpirationSeconds", "int64", true],
];
const APPROLE: Field[] = [
  ["roleId", "string", true],
  ["secretRef", "string", true],
];
const AWS: Field[] = [
  ["role", "string", true],
  ["region", "string", true],
  ["headerValue", "string", true],
  ["sessionName", "string", true],
  ["stsEndpoint", "string", true],
  ["iamEndpoint", "string", true],
  ["secretRef", "string", true],
  ["irsaServiceAccount", "string", true],
];
const GCP: Field[] = [
  ["role", "string", true],
  ["workloadIdentityServiceAccount", "string", true],
  ["region", "string", true],
  ["clusterName", "string", true],
  ["projectID", "string", true],
];
const STORAGE_ENCRYPTION: Field[] = [
  ["mount", "string", false],
  ["keyName", "string", false],
];
/** VSO's VaultAuthSpec, in struct field order. */
const VAULT_AUTH_SPEC: Field[] = [
  ["vaultConnectionRef", "string", true],
  ["vaultAuthGlobalRef", ptr(GLOBAL_REF), true],
  ["namespace", "string", true],
  ["allowedNamespaces", "strings", true],
  ["method", "string", true],
  ["mount", "string", true],
  ["params", "map", true],
  ["headers", "map", true],
  ["kubernetes", ptr(KUBERNETES), true],
  ["appRole", ptr(APPROLE), true],
  ["jwt", ptr(JWT), true],
  ["aws", ptr(AWS), true],
  ["gcp", ptr(GCP), true],
  ["storageEncryption", ptr(STORAGE_ENCRYPTION), true],
];

/**
 * The CRD defaults that both VSO's CRD and ours declare (tokenExpirationSeconds
 * 600 in kubernetes and jwt). The API server applies the installed CRD's
 * defaults when it stores and when it reads, so an object from the API server
 * has them already; these matter for objects built elsewhere. Our CRD's
 * mergeStrategy default ("none") is deliberately not applied here: VSO's CRD
 * has none, so under VSO's CRD a stored `mergeStrategy: {}` stays empty and VSO
 * hashes it so; under ours the API server fills it in before either operator
 * reads it.
 */
export function withVaultAuthDefaults(spec: VaultAuthSpec): VaultAuthSpec {
  const out: VaultAuthSpec = { ...spec };
  for (const m of ["kubernetes", "jwt"] as const) {
    const block = out[m];
    if (block && typeof block === "object" && block.tokenExpirationSeconds == null) {
      out[m] = { ...block, tokenExpirationSeconds: 600 };
    }
  }
  return out;
}

function isEmpty(kind: Kind, v: unknown): boolean {
  if (v === undefined || v === null) return true;
  switch (kind) {
    case "string":
      return v === "";
    case "strings":
      return Array.isArray(v) && v.length === 0;
    case "int64":
      return v === 0;
    case "map":
      return typeof v === "object" && Object.keys(v).length === 0;
    default:
      return false; // a non-nil pointer is never empty
  }
}

function str(v: unknown): string {
  // Go decodes JSON null into a string as "" (leaves it unset).
  return typeof v === "string" ? v : "";
}

function encode(kind: Kind, v: unknown): string {
  switch (kind) {
    case "string":
      return goJsonString(str(v));
    case "strings":
      return Array.isArray(v) ? `[${v.map((s) => goJsonString(str(s))).join(",")}]` : "null";
    case "int64": {
      if (v == null) return "0";
      const n = typeof v === "bigint" ? v : BigInt(typeof v === "number" ? Math.trunc(v) : String(v));
      return n.toString();
    }
    case "bool*":
      return v === true ? "true" : "false";
    case "map": {
      if (v == null || typeof v !== "object") return "null";
      const m = v as Record<string, unknown>;
      return `{${goSortedKeys(m)
        .map((k) => `${goJsonString(k)}:${goJsonString(str(m[k]))}`)
        .join(",")}}`;
    }
    default:
      return encodeStruct(kind.struct, v);
  }
}

function encodeStruct(fields: readonly Field[], v: unknown): string {
  if (v === null || v === undefined || typeof v !== "object") return "null";
  const o = v as Record<string, unknown>;
  const parts: string[] = [];
  for (const [name, kind, omitempty] of fields) {
    const value = o[name];
    if (omitempty && isEmpty(kind, value)) continue;
    parts.push(`${goJsonString(name)}:${encodeValue(kind, value)}`);
  }
  return `{${parts.join(",")}}`;
}

function encodeValue(kind: Kind, v: unknown): string {
  // Not omitted although absent: a value field reads as Go's zero value.
  if ((v === undefined || v === null) && typeof kind === "object" && !kind.pointer)
    return encodeStruct(kind.struct, {});
  return encode(kind, v);
}

/** Go's json.Marshal of VSO's typed VaultAuthSpec decoded from this spec (defaults applied first). */
export function vsoVaultAuthSpecJSON(spec: VaultAuthSpec | undefined): string {
  return encodeStruct(VAULT_AUTH_SPEC, withVaultAuthDefaults(spec ?? {}));
}

/** status.specHash: blake2b-256, hex, of VSO's encoding of the spec. */
export function vaultAuthSpecHash(spec: VaultAuthSpec | undefined): string {
  return hex(vsoVaultAuthSpecJSON(spec));
}

function hex(json: string): string {
  return Buffer.from(blake2b(new TextEncoder().encode(json), { dkLen: 32 })).toString("hex");
}

/**
 * The specHash vso-ts recorded before it matched VSO's (Go's encoding of the
 * untyped spec: keys sorted, nothing dropped). The controller takes it as
 * "unchanged", so that upgrading vso-ts does not purge every client once.
 */
export function legacyVaultAuthSpecHash(spec: VaultAuthSpec | undefined): string {
  return hex(goMarshal(spec ?? {}));
}

/** Go's zero-value checks of VSO's method Validate() that its global merge runs on the merged block. */
const MERGED_BLOCK_REQUIRED: Record<string, readonly string[]> = {
  kubernetes: ["role", "serviceAccount"],
  jwt: ["role"],
  appRole: ["roleId", "secretRef"],
  aws: ["role"],
  gcp: ["role", "workloadIdentityServiceAccount"],
};

/**
 * The spec VSO hashes for this VaultAuth. `resolved` is the result of merging
 * its VaultAuthGlobal (refs.ts mergeVaultAuthGlobal) when that succeeded. VSO
 * hashes the merged spec when its own merge succeeds, which needs a
 * VaultAuthGlobal and a method block on one side at least, and, when the
 * VaultAuthGlobal configures the method, a merged block that passes VSO's
 * Validate; otherwise it hashes the VaultAuth's own spec.
 */
export function vaultAuthSpecForHash(
  auth: VaultAuth,
  operatorNamespace: string,
  resolved?: { spec: VaultAuthSpec; global?: VaultAuthGlobal },
): VaultAuthSpec {
  const own = auth.spec ?? {};
  let spec = own;
  if (own.vaultAuthGlobalRef && resolved?.global) {
    const method = resolved.spec.method ?? "";
    const required = MERGED_BLOCK_REQUIRED[method];
    const globalBlock = (resolved.global.spec as Record<string, unknown> | undefined)?.[method];
    const ownBlock = (own as Record<string, unknown>)[method];
    const block = (resolved.spec as Record<string, unknown>)[method] as Record<string, unknown> | undefined;
    const merged =
      required !== undefined &&
      (ownBlock != null || globalBlock != null) &&
      (globalBlock == null || required.every((f) => typeof block?.[f] === "string" && block[f] !== ""));
    if (merged) spec = resolved.spec;
  }
  // VSO's GetVaultAuth, before any merge: the operator namespace's `default`
  // VaultAuth uses the `default` VaultConnection when it names none.
  if (
    auth.metadata.namespace === operatorNamespace &&
    auth.metadata.name === "default" &&
    !own.vaultConnectionRef
  ) {
    spec = { ...spec, vaultConnectionRef: "default" };
  }
  return spec;
}
