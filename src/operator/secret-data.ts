// Builds destination Secret data from a Vault response the way VSO does:
// each top-level key after excludes and then includes (RE2 semantics, matched
// anywhere in the key as Go's regexp.MatchString does), strings as-is and other
// values JSON-encoded as Go would, `_raw` holding the whole response data, and
// rendered templates winning over raw keys.
import { RE2JS } from "re2js";
import { goMarshal, JsonNumber } from "../util/gojson.ts";

export class SecretDataError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.name = "SecretDataError";
    this.field = field;
  }
}

const regexCache = new Map<string, RE2JS>();

export function compileRE2(pattern: string, field: string): RE2JS {
  let re = regexCache.get(pattern);
  if (!re) {
    try {
      re = RE2JS.compile(pattern);
    } catch (err) {
      throw new SecretDataError(
        field,
        `invalid regular expression ${JSON.stringify(pattern)} in ${field}: ${(err as Error).message}`,
      );
    }
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re;
}

export function matchesAny(patterns: RE2JS[], key: string): boolean {
  return patterns.some((re) => re.matcher(key).find());
}

export interface FilterSpec {
  includes: string[];
  excludes: string[];
}

/** Keys of the source that survive excludes, then includes. */
export function filterKeys(
  keys: string[],
  filter: FilterSpec,
  fieldPrefix = "spec.destination.transformation",
): string[] {
  const ex = filter.excludes.map((p) => compileRE2(p, `${fieldPrefix}.excludes`));
  const inc = filter.includes.map((p) => compileRE2(p, `${fieldPrefix}.includes`));
  return keys.filter((k) => !matchesAny(ex, k) && (inc.length === 0 || matchesAny(inc, k)));
}

export function valueBytes(v: unknown): Buffer {
  if (typeof v === "string") return Buffer.from(v, "utf8");
  if (v instanceof JsonNumber) return Buffer.from(v.source, "utf8");
  return Buffer.from(goMarshal(v), "utf8");
}

export interface BuildOptions {
  /** The map that becomes the Secret's keys (for kv-v2 the inner `data`). */
  secrets: Record<string, unknown>;
  /** The whole response `data`, written to `_raw`. */
  raw: unknown;
  filter: FilterSpec;
  excludeRaw: boolean;
  /** Rendered templates, keyed by Secret data key. */
  rendered?: Record<string, string>;
}

/**
 * A Kubernetes Secret's data may hold at most 1 MiB (the sum of its values'
 * sizes, as the API server counts it). Larger output is refused here, before
 * any request: sent anyway, it is rejected at best and, as a multi-megabyte
 * body, can make the API server drop the operator's whole HTTP/2 session.
 */
export const MAX_SECRET_DATA_BYTES = 1024 * 1024;

/** Throws a configuration error when data cannot fit in a Secret. */
export function assertFitsInSecret(data: Record<string, Buffer>, field = "spec.destination"): void {
  let total = 0;
  for (const k of Object.keys(data)) total += data[k].length;
  if (total > MAX_SECRET_DATA_BYTES) {
    throw new SecretDataError(
      field,
      `the destination Secret's data would be ${total} bytes, more than the ${MAX_SECRET_DATA_BYTES} bytes a Secret can hold`,
    );
  }
}

/**
 * An empty map for keys that come from Vault or users: without a prototype, a
 * key such as "__proto__" or "constructor" is an ordinary entry, not a setter.
 */
export function keyedMap<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

export function buildSecretData(opts: BuildOptions): Record<string, Buffer> {
  const out = keyedMap<Buffer>();
  if (Object.hasOwn(opts.secrets, "_raw") && !opts.excludeRaw) {
    throw new SecretDataError(
      "spec.destination",
      "the Vault secret has a key named _raw, which is reserved; set transformation.excludeRaw",
    );
  }
  for (const k of filterKeys(Object.keys(opts.secrets), opts.filter)) {
    out[k] = valueBytes(opts.secrets[k]);
  }
  if (!opts.excludeRaw) out._raw = Buffer.from(goMarshal(opts.raw), "utf8");
  for (const [k, v] of Object.entries(opts.rendered ?? {})) out[k] = Buffer.from(v, "utf8");
  assertFitsInSecret(out);
  return out;
}

/** Base64 map for a Secret's .data; refuses data a Secret cannot hold, so it is never sent. */
export function toSecretData(data: Record<string, Buffer>): Record<string, string> {
  assertFitsInSecret(data);
  const out = keyedMap<string>();
  for (const k of Object.keys(data).sort()) out[k] = data[k].toString("base64");
  return out;
}

export function fromSecretData(data: Record<string, string> | undefined): Record<string, Buffer> {
  const out = keyedMap<Buffer>();
  for (const [k, v] of Object.entries(data ?? {})) out[k] = Buffer.from(v, "base64");
  return out;
}
