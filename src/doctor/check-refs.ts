// Step 2: the VaultAuth and VaultConnection the resource resolves to, by the
// operator's own rules (refs.ts): the default VaultAuth in the operator
// namespace, allowedNamespaces, VaultAuthGlobal merging.
import { parseRef, RefError, resolveConnection, resolveVaultAuthFor } from "../operator/refs.ts";
import { LiveLookup } from "./live-lookup.ts";
import { fail, pass, type Step } from "./report.ts";
import type { Session } from "./session.ts";

function refFix(s: Session, err: RefError): string {
  const spec = s.obj?.spec;
  const m = err.message;
  if (/does not allow namespace/.test(m) && m.startsWith("VaultAuth ")) {
    const [, ref] = /^VaultAuth (\S+)/.exec(m) ?? [];
    const [ns, name] = (ref ?? "/").split("/");
    return (
      `add "${s.namespace}" to spec.allowedNamespaces of VaultAuth ${ref}:\n` +
      `  kubectl patch vaultauth ${name} -n ${ns} --type=json -p '[{"op":"add","path":"/spec/allowedNamespaces/-","value":"${s.namespace}"}]'\n` +
      `(or, if it has none yet: --type=merge -p '{"spec":{"allowedNamespaces":["${s.namespace}"]}}'),\n` +
      `or point spec.vaultAuthRef of ${s.kind} ${s.namespace}/${s.name} at a VaultAuth in namespace ${s.namespace}`
    );
  }
  if (/does not allow namespace/.test(m)) {
    return `add the VaultAuth's namespace to spec.allowedNamespaces of the VaultAuthGlobal, or reference a VaultAuthGlobal in the VaultAuth's namespace`;
  }
  if (err.field === "spec.vaultAuthRef") {
    const ref = spec?.vaultAuthRef
      ? parseRef(spec.vaultAuthRef, s.namespace)
      : { namespace: s.opts.operatorNamespace, name: "default" };
    return (
      `create VaultAuth ${ref.namespace}/${ref.name}, or set spec.vaultAuthRef of ${s.kind} ${s.namespace}/${s.name} ` +
      `to an existing one (kubectl get vaultauth -A)` +
      (spec?.vaultAuthRef
        ? ""
        : "; with no vaultAuthRef the operator uses VaultAuth default in its own namespace")
    );
  }
  if (err.field === "spec.vaultConnectionRef") {
    return `create that VaultConnection, or set spec.vaultConnectionRef of the VaultAuth to an existing one (kubectl get vaultconnection -A); with no vaultConnectionRef the operator uses VaultConnection default in its own namespace (${s.opts.operatorNamespace})`;
  }
  return `fix ${err.field} of the VaultAuth (or its VaultAuthGlobal)`;
}

export async function checkRefs(s: Session): Promise<Step[]> {
  const spec = s.obj?.spec;
  if (!spec) return [];
  const live = new LiveLookup(s.opts.kube);
  const opNs = s.opts.operatorNamespace;
  try {
    const { resolved, connection } = await live.resolve((lookup) => {
      const resolved = resolveVaultAuthFor(lookup, s.namespace, spec.vaultAuthRef, opNs, {
        allowDefaultGlobals: s.opts.allowDefaultGlobals,
      });
      return { resolved, connection: resolveConnection(lookup, resolved, opNs) };
    });
    s.resolved = resolved;
    s.connection = connection;
    s.vaultNamespace = spec.namespace || resolved.spec.namespace;
    const a = resolved.auth.metadata;
    const g = resolved.global?.metadata;
    const role = (resolved.spec[resolved.spec.method] as { role?: string } | undefined)?.role;
    const authDetail =
      `VaultAuth ${a.namespace}/${a.name}${spec.vaultAuthRef ? "" : " (the default: spec.vaultAuthRef is empty)"}` +
      `${g ? ` merged with VaultAuthGlobal ${g.namespace}/${g.name}` : ""}: method ${resolved.spec.method}, mount ${resolved.spec.mount}` +
      `${role ? `, role ${role}` : ""}${resolved.spec.namespace ? `, Vault namespace ${resolved.spec.namespace}` : ""}`;
    const conds = (connection as { status?: { conditions?: { type: string; status: string }[] } }).status
      ?.conditions;
    const ready = conds?.find((c) => c.type === "Ready")?.status;
    return [
      pass("vault-auth", "VaultAuth", authDetail),
      pass(
        "vault-connection",
        "VaultConnection",
        `VaultConnection ${connection.metadata.namespace}/${connection.metadata.name}: ${connection.spec.address}` +
          `${ready ? ` (Ready=${ready})` : ""}`,
      ),
    ];
  } catch (err) {
    if (err instanceof RefError) {
      const step = err.field === "spec.vaultConnectionRef" ? "vault-connection" : "vault-auth";
      return [
        fail(step, step === "vault-auth" ? "VaultAuth" : "VaultConnection", err.message, refFix(s, err)),
      ];
    }
    throw err;
  }
}
