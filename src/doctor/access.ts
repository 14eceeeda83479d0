// What the operator asks Vault for on behalf of a resource: each path with
// the capability it needs and why. The paths come from the same rules as the
// controllers (KV v1/v2 layout, the dynamic request method, pki.ts for PKI).
import { pkiIssuePath, pkiRevokePath } from "../operator/kinds/pki/pki.ts";
import type { Session } from "./session.ts";

export interface Access {
  path: string;
  capability: "read" | "update";
  why: string;
}

const trim = (p: string) => p.replace(/^\/+|\/+$/g, "");

/** The API path of the resource's main read (or write, for dynamic requests with a body). */
export function mainAccess(s: Session): Access {
  const spec = s.obj!.spec;
  const mount = trim(spec.mount);
  switch (s.kind) {
    case "VaultStaticSecret": {
      const path = (spec.path ?? "").replace(/^\/+/, "");
      return spec.type === "kv-v2"
        ? { path: `${mount}/data/${path}`, capability: "read", why: "read the KV v2 secret" }
        : { path: `${mount}/${path}`, capability: "read", why: "read the KV v1 secret" };
    }
    case "VaultDynamicSecret": {
      const path = `${mount}/${(spec.path ?? "").replace(/^\/+/, "")}`;
      const write =
        (spec.requestHTTPMethod && spec.requestHTTPMethod !== "GET") ||
        (spec.params && Object.keys(spec.params).length > 0);
      return write
        ? { path, capability: "update", why: "request the credentials (PUT with spec.params)" }
        : { path, capability: "read", why: "request the credentials" };
    }
    case "VaultPKISecret":
      return {
        path: pkiIssuePath({ mount: spec.mount, role: spec.role ?? "", issuerRef: spec.issuerRef }),
        capability: "update",
        why: "issue the certificate",
      };
  }
}

export function requiredAccess(s: Session): Access[] {
  const spec = s.obj!.spec;
  const out = [mainAccess(s)];
  if (s.kind === "VaultDynamicSecret" && !/(^|\/)static-creds\//.test(spec.path ?? "")) {
    out.push(
      { path: "sys/leases/renew", capability: "update", why: "renew the lease at renewalPercent" },
      { path: "sys/leases/revoke", capability: "update", why: "revoke the lease on rotation and delete" },
    );
  }
  if (s.kind === "VaultPKISecret" && spec.revoke) {
    out.push({
      path: pkiRevokePath(spec.mount),
      capability: "update",
      why: "revoke replaced certificates (spec.revoke)",
    });
  }
  return out;
}

/** The HCL stanza that grants an access. */
export function policyStanza(a: Access): string {
  return `path "${a.path}" {\n  capabilities = ["${a.capability}"]\n}`;
}
