// Resolving the references of a secret resource: its VaultAuth (with
// allowedNamespaces and VaultAuthGlobal merging) and that auth's
// VaultConnection. Objects come from the informer caches, never the API.
import type {
  VaultAuth,
  VaultAuthGlobal,
  VaultAuthGlobalSpec,
  VaultAuthSpec,
  VaultConnection,
} from "../api/index.ts";
import type { ResolvedAuth } from "../vault/resolved-auth.ts";

export class RefError extends Error {
  /** The spec field the problem is about, for conditions and events. */
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.name = "RefError";
    this.field = field;
  }
}

export interface ObjectLookup {
  vaultAuth(namespace: string, name: string): VaultAuth | undefined;
  vaultAuthGlobal(namespace: string, name: string): VaultAuthGlobal | undefined;
  vaultConnection(namespace: string, name: string): VaultConnection | undefined;
}

export function parseRef(
  ref: string | undefined,
  defaultNamespace: string,
): { namespace: string; name: string } {
  const r = (ref ?? "").trim();
  const i = r.indexOf("/");
  if (i < 0) return { namespace: defaultNamespace, name: r };
  return { namespace: r.slice(0, i), name: r.slice(i + 1) };
}

function namespaceAllowed(allowed: string[] | undefined, ns: string): boolean {
  return (allowed ?? []).some((a) => a === "*" || a === ns);
}

// Defined in the Vault layer, which logs in from it; still exported here for the callers that resolve it.
export type { ResolvedAuth };

export interface ResolvedRefs extends ResolvedAuth {
  connection: VaultConnection;
}

export function resolveVaultAuthFor(
  lookup: ObjectLookup,
  consumerNamespace: string,
  vaultAuthRef: string | undefined,
  operatorNamespace: string,
  opts: { allowDefaultGlobals: boolean },
): ResolvedAuth {
  const ref = vaultAuthRef
    ? parseRef(vaultAuthRef, consumerNamespace)
    : { namespace: operatorNamespace, name: "default" };
  const auth = lookup.vaultAuth(ref.namespace, ref.name);
  if (!auth) {
    throw new RefError("spec.vaultAuthRef", `VaultAuth ${ref.namespace}/${ref.name} not found`);
  }
  const isDefault = ref.namespace === operatorNamespace && ref.name === "default";
  if (ref.namespace !== consumerNamespace) {
    const allowed = auth.spec?.allowedNamespaces;
    const ok = allowed === undefined ? isDefault : namespaceAllowed(allowed, consumerNamespace);
    if (!ok) {
      throw new RefError(
        "spec.vaultAuthRef",
        `VaultAuth ${ref.namespace}/${ref.name} does not allow namespace "${consumerNamespace}" ` +
          `(spec.allowedNamespaces: ${allowed === undefined ? "unset, so only its own namespace" : JSON.stringify(allowed)})`,
      );
    }
  }
  return mergeVaultAuthGlobal(lookup, auth, operatorNamespace, opts);
}

type MethodName = NonNullable<VaultAuthSpec["method"]>;

export function mergeVaultAuthGlobal(
  lookup: ObjectLookup,
  auth: VaultAuth,
  operatorNamespace: string,
  opts: { allowDefaultGlobals: boolean },
): ResolvedAuth {
  const spec: VaultAuthSpec = structuredClone(auth.spec ?? {});
  const authNs = auth.metadata.namespace ?? "";
  let global: VaultAuthGlobal | undefined;
  const gref = spec.vaultAuthGlobalRef;
  if (gref) {
    if (gref.name) {
      const ns = gref.namespace || authNs;
      global = lookup.vaultAuthGlobal(ns, gref.name);
      if (!global) {
        throw new RefError("spec.vaultAuthGlobalRef", `VaultAuthGlobal ${ns}/${gref.name} not found`);
      }
    } else if (gref.allowDefault && opts.allowDefaultGlobals) {
      const candidates = gref.namespace ? [gref.namespace] : [authNs, operatorNamespace];
      for (const ns of candidates) {
        global = lookup.vaultAuthGlobal(ns, "default");
        if (global) break;
      }
      if (!global) {
        throw new RefError(
          "spec.vaultAuthGlobalRef",
          `no default VaultAuthGlobal found in namespace(s) ${candidates.join(", ")}`,
        );
      }
    }
    if (global) {
      const gns = global.metadata.namespace ?? "";
      if (gns !== authNs && !namespaceAllowed(global.spec?.allowedNamespaces, authNs)) {
        throw new RefError(
          "spec.vaultAuthGlobalRef",
          `VaultAuthGlobal ${gns}/${global.metadata.name} does not allow namespace "${authNs}"`,
        );
      }
    }
  }
  const g: VaultAuthGlobalSpec = global?.spec ?? {};
  const method = (spec.method ?? g.defaultAuthMethod) as MethodName | undefined;
  if (!method)
    throw new RefError(
      "spec.method",
      "no auth method: set spec.method or the VaultAuthGlobal's defaultAuthMethod",
    );
  const gm = (g[method] ?? {}) as Record<string, unknown> & {
    namespace?: string;
    mount?: string;
    params?: Record<string, string>;
    headers?: Record<string, string>;
  };
  // Field-wise fill of the method block from the global's method block.
  const own = (spec[method] ?? {}) as Record<string, unknown>;
  const merged: Record<string, unknown> = { ...own };
  for (const [k, v] of Object.entries(gm)) {
    if (["namespace", "mount", "params", "headers"].includes(k)) continue;
    if (
      merged[k] === undefined ||
      merged[k] === "" ||
      (Array.isArray(merged[k]) && (merged[k] as unknown[]).length === 0)
    ) {
      merged[k] = v;
    }
  }
  (spec as Record<string, unknown>)[method] = merged;
  const mount = spec.mount || gm.mount || g.defaultMount || "";
  if (!mount) throw new RefError("spec.mount", "no auth mount: set spec.mount or a VaultAuthGlobal default");
  spec.namespace = spec.namespace || gm.namespace || g.defaultVaultNamespace || undefined;
  const strategy = gref?.mergeStrategy ?? {};
  const mergeMap = (
    which: "headers" | "params",
    mine: Record<string, string> | undefined,
    methodLevel: Record<string, string> | undefined,
    dflt: Record<string, string> | undefined,
  ) => {
    const s = strategy[which] ?? "none";
    if (s === "union") return { ...(dflt ?? {}), ...(methodLevel ?? {}), ...(mine ?? {}) };
    if (s === "replace") {
      for (const m of [mine, methodLevel, dflt]) if (m && Object.keys(m).length > 0) return m;
      return undefined;
    }
    return mine;
  };
  spec.headers = mergeMap("headers", spec.headers, gm.headers, g.headers);
  spec.params = mergeMap("params", spec.params, gm.params, g.params);
  spec.vaultConnectionRef = spec.vaultConnectionRef || g.vaultConnectionRef || undefined;
  return { auth, spec: { ...spec, method, mount }, global };
}

export function resolveConnection(
  lookup: ObjectLookup,
  resolved: ResolvedAuth,
  operatorNamespace: string,
): VaultConnection {
  const authNs = resolved.auth.metadata.namespace ?? "";
  const ref = resolved.spec.vaultConnectionRef
    ? parseRef(resolved.spec.vaultConnectionRef, authNs)
    : { namespace: operatorNamespace, name: "default" };
  const conn = lookup.vaultConnection(ref.namespace, ref.name);
  if (!conn) {
    throw new RefError(
      "spec.vaultConnectionRef",
      `VaultConnection ${ref.namespace}/${ref.name} (referenced by VaultAuth ${authNs}/${resolved.auth.metadata.name}) not found`,
    );
  }
  return conn;
}
