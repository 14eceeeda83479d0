// Step 3: Vault reachable at the connection's address with the connection's
// own TLS settings (the operator's HTTP layer, connection.ts), initialized
// and unsealed.
import { buildVaultHttp, ConnectionConfigError } from "../vault/connection.ts";
import { fail, pass, type Step, warn } from "./report.ts";
import { errText, type Session } from "./session.ts";

const TLS_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

function errorCode(err: unknown): string | undefined {
  const e = err as { code?: string; cause?: { code?: string } };
  return e.cause?.code ?? e.code;
}

function tlsMode(s: Session, address: string): string {
  const spec = s.connection?.spec;
  if (!address.startsWith("https:")) return "plain HTTP (no TLS)";
  if (spec?.skipTLSVerify) return "TLS, certificate NOT verified (skipTLSVerify: true)";
  if (spec?.caCertSecretRef)
    return `TLS verified with ca.crt of Secret ${s.connection?.metadata.namespace}/${spec.caCertSecretRef}`;
  return "TLS verified with the system CAs";
}

export async function checkVault(s: Session): Promise<Step> {
  const title = "Vault reachable";
  const conn = s.connection;
  if (!conn)
    return fail("vault-reachable", title, "no VaultConnection", "fix the VaultConnection step first");
  const address = s.opts.vaultAddress ?? conn.spec.address;
  const connName = `VaultConnection ${conn.metadata.namespace}/${conn.metadata.name}`;
  const effective = { ...conn, spec: { ...conn.spec, address } };
  try {
    s.http = await buildVaultHttp(s.opts.kube, effective, "vso-ts-doctor");
  } catch (err) {
    const field = err instanceof ConnectionConfigError ? err.field : "spec";
    if (field === "spec.caCertPath") {
      // A path in the operator's Pod: where the doctor runs, it usually does not exist.
      return warn(
        "vault-reachable",
        title,
        `${connName} trusts the CA file ${conn.spec.caCertPath} of the operator's Pod, which the doctor cannot read here (${errText(err)}); Vault was not checked`,
        `run the doctor inside the operator's Pod, where the file is: kubectl exec -n ${s.opts.operatorNamespace} deploy/vault-secrets-operator-controller-manager -- node /app/vso.mjs doctor ${s.kind} ${s.namespace}/${s.name}`,
      );
    }
    return fail("vault-reachable", title, errText(err), `fix ${field} of ${connName}`);
  }
  try {
    const res = await s.http.call<{
      initialized?: boolean;
      sealed?: boolean;
      version?: string;
      type?: string;
    }>("GET", "sys/seal-status", { timeoutMs: s.opts.timeoutMs });
    const st = res.json ?? {};
    if (st.initialized === false) {
      return fail(
        "vault-reachable",
        title,
        `Vault at ${address} is not initialized`,
        "initialize it: vault operator init",
      );
    }
    if (st.sealed) {
      return fail(
        "vault-reachable",
        title,
        `Vault at ${address} is sealed`,
        "unseal it (vault operator unseal, or check its auto-unseal); the operator retries by itself",
      );
    }
    return pass(
      "vault-reachable",
      title,
      `${address}: unsealed${st.version ? `, version ${st.version}` : ""}; ${tlsMode(s, address)}`,
    );
  } catch (err) {
    s.http = undefined;
    const code = errorCode(err);
    const inCluster = /\.svc(\.|:|\/|$)/.test(address);
    const outside = inCluster
      ? `\nif you run the doctor outside the cluster, the cluster-internal address is not reachable from here: ` +
        `kubectl port-forward the Vault Service and pass --vault-address http://127.0.0.1:PORT`
      : "";
    if (code && TLS_CODES.has(code)) {
      return fail(
        "vault-reachable",
        title,
        `TLS to ${address} failed: ${errText(err)}`,
        `give ${connName} the CA that signed Vault's certificate (spec.caCertSecretRef: a Secret with key ca.crt in namespace ${conn.metadata.namespace})` +
          (code === "ERR_TLS_CERT_ALTNAME_INVALID"
            ? `, or set spec.tlsServerName to a name in the certificate`
            : "") +
          `; spec.skipTLSVerify: true only for development`,
      );
    }
    return fail(
      "vault-reachable",
      title,
      `cannot reach Vault at ${address}: ${errText(err)}`,
      `check spec.address of ${connName} (scheme, host, port) and that Vault is running and reachable from the operator's Pod (Service, NetworkPolicy)${outside}`,
    );
  }
}
