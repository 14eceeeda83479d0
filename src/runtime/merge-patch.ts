// JSON merge patches (RFC 7386) computed from a before/after pair, in the
// manner of Flux's runtime/patch: what is sent is the difference between the
// state read and the state computed, so a field the computation dropped is
// deleted on the server (null in the patch) instead of surviving a patch that
// only ever sets fields. Objects are compared key by key, recursively; arrays
// (conditions, pendingRevocations) and scalars are replaced whole when they
// differ. Keys whose value is undefined count as absent, as in JSON; so does
// null, which a merge patch cannot set (it means "delete").
import { isDeepStrictEqual } from "node:util";

type JSONObject = Record<string, unknown>;

function isObject(v: unknown): v is JSONObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null;
}

/** `v` as it would be stored: undefined and null members of objects dropped, at every depth. */
function normalized(v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : normalized(x)));
  if (!isObject(v)) return v;
  const out: JSONObject = {};
  for (const [k, x] of Object.entries(v)) if (present(x)) out[k] = normalized(x);
  return out;
}

/**
 * The merge patch that turns `before` into `after`, or undefined when they
 * are the same (nothing to send). When either side is not an object, the
 * patch is `after` whole (null for an absent `after`).
 */
export function mergePatch(before: unknown, after: unknown): unknown {
  if (!isObject(before) || !isObject(after)) {
    const a = present(after) ? normalized(after) : null;
    const b = present(before) ? normalized(before) : null;
    return isDeepStrictEqual(a, b) ? undefined : a;
  }
  const patch: JSONObject = {};
  for (const [k, b] of Object.entries(before)) {
    if (present(b) && !present(after[k])) patch[k] = null;
  }
  for (const [k, a] of Object.entries(after)) {
    if (!present(a)) continue;
    const b = before[k];
    const d = isObject(a) && isObject(b) ? mergePatch(b, a) : mergePatch(b ?? null, a);
    if (d !== undefined) patch[k] = d;
  }
  return Object.keys(patch).length === 0 ? undefined : patch;
}

/** Applies a merge patch (RFC 7386), as the API server does; for tests and for checking a patch. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: JSONObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}
