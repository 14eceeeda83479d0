// Step 4: the credentials and a real login, as the operator would do it
// (login.ts): the service account (or Secret) in the resource's namespace, a
// real TokenRequest, and the login itself, whose refusal is translated into
// the role setting to change. The doctor's token is looked up for its policies.
import { KubeApiError } from "../kube/client.ts";
import { loginPath } from "../vault/client-cache-entry.ts";
import { VaultApiError } from "../vault/http.ts";
import { AuthConfigError, type CredentialProvider, credentialProvider } from "../vault/login.ts";
import { fail, pass, type Step, skip, warn } from "./report.ts";
import { authName, cleanVaultError, errText, type Session } from "./session.ts";

function roleOf(s: Session): { role?: string; sa?: string; audiences?: string[] } {
  const spec = s.resolved?.spec;
  const m = spec
    ? (spec[spec.method] as { role?: string; serviceAccount?: string; audiences?: string[] })
    : undefined;
  return { role: m?.role, sa: m?.serviceAccount, audiences: m?.audiences };
}

/** The claims of a JWT, for the report (the token itself is never shown). */
function claims(jwt: unknown): { sub?: string; aud?: string | string[]; exp?: number } | undefined {
  if (typeof jwt !== "string") return undefined;
  try {
    return JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
}

/** What to change when Vault refuses the login, from its message. */
export function loginFix(s: Session, message: string): string {
  const mount = s.resolved?.spec.mount ?? "kubernetes";
  const method = s.resolved?.spec.method ?? "kubernetes";
  const { role, sa, audiences } = roleOf(s);
  const rolePath = `auth/${mount}/role/${role}`;
  if (method === "appRole") {
    return /invalid role or secret id|invalid secret id|role id/i.test(message)
      ? `Vault does not accept the role ID and secret ID: check spec.appRole.roleId of ${authName(s)} (vault read auth/${mount}/role/NAME/role-id) and the secret ID in spec.appRole.secretRef (key "id"), which may have expired or been used up`
      : `check the AppRole on auth/${mount} (vault list auth/${mount}/role)`;
  }
  if (/invalid role name|role .* not found|role not found/i.test(message)) {
    return (
      `role "${role}" does not exist on auth mount "${mount}": set spec.${method}.role of ${authName(s)} to an existing role ` +
      `(vault list auth/${mount}/role), or create it:\n` +
      `  vault write ${rolePath} bound_service_account_names=${sa} bound_service_account_namespaces=${s.namespace} policies=POLICY ttl=1h`
    );
  }
  if (/service account name not authorized/i.test(message)) {
    return `add "${sa}" to bound_service_account_names of ${rolePath} (vault read ${rolePath}; vault write ${rolePath} bound_service_account_names=...,${sa} with its other settings), or set spec.${method}.serviceAccount of ${authName(s)} to a bound one`;
  }
  if (/namespace not authorized/i.test(message)) {
    return `add "${s.namespace}" to bound_service_account_namespaces of ${rolePath} (vault read ${rolePath}; vault write ${rolePath} bound_service_account_namespaces=...,${s.namespace} with its other settings): the service account is resolved in the resource's namespace, ${s.namespace}`;
  }
  if (/audience/i.test(message)) {
    return `the role's audience and the token's audiences differ: set spec.${method}.audiences of ${authName(s)} (now ${JSON.stringify(audiences ?? [])}) to the role's audience, or change audience of ${rolePath}`;
  }
  if (/no handler for route|unsupported path|route entry not found/i.test(message)) {
    return `no auth method is mounted at "${mount}": set spec.mount of ${authName(s)} (vault auth list)`;
  }
  if (/permission denied|unauthorized|token ?review|lookup failed/i.test(message)) {
    return `Vault could not verify the service account token with the API server: check auth/${mount}/config (kubernetes_host, kubernetes_ca_cert, token_reviewer_jwt) and that the reviewer may create TokenReviews (ClusterRole system:auth-delegator)`;
  }
  return `check ${rolePath} (vault read ${rolePath}) and auth/${mount}/config`;
}

async function provider(s: Session): Promise<{ steps: Step[]; p?: CredentialProvider }> {
  const { sa } = roleOf(s);
  const method = s.resolved?.spec.method;
  const title = method === "kubernetes" || sa ? "service account" : "credentials";
  try {
    const p = await credentialProvider(s.opts.kube, s.resolved!, s.namespace);
    const what = sa ? `ServiceAccount ${s.namespace}/${sa} exists` : `${method} credentials found`;
    return { steps: [pass("service-account", title, what)], p };
  } catch (err) {
    if (err instanceof AuthConfigError) {
      const missingSa = /^ServiceAccount (\S+) not found/.exec(err.message);
      const fix = missingSa
        ? `create it (kubectl create serviceaccount ${sa} -n ${s.namespace}) or set ${err.field} of ${authName(s)} to an existing one: ` +
          `the service account is looked up in the namespace of the resource (${s.namespace}), not of the VaultAuth`
        : `fix ${err.field} of ${authName(s)}`;
      return { steps: [fail("service-account", title, err.message, fix)] };
    }
    return { steps: [fail("service-account", title, errText(err), "see the error above")] };
  }
}

export async function checkLogin(s: Session): Promise<Step[]> {
  const res = await provider(s);
  const steps = res.steps;
  if (!res.p) {
    steps.push(skip("vault-login", "Vault login", "skipped: no credentials"));
    return steps;
  }
  let body: Record<string, unknown>;
  const { sa, role } = roleOf(s);
  try {
    body = await res.p.loginBody();
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 403) {
      steps.push(
        warn(
          "token-request",
          "TokenRequest",
          `your user may not create a token for ServiceAccount ${s.namespace}/${sa}: ${err.message}`,
          `the doctor needs create on serviceaccounts/token in ${s.namespace} to test the login (kubectl auth can-i create serviceaccounts/token -n ${s.namespace})`,
        ),
      );
    } else {
      steps.push(
        fail(
          "token-request",
          "TokenRequest",
          errText(err),
          "the API server refused a token for the service account; check its TokenRequest API (--service-account-issuer and signing keys) and the audiences",
        ),
      );
    }
    steps.push(skip("vault-login", "Vault login", "skipped: no token to log in with"));
    return steps;
  }
  if (sa && typeof body.jwt === "string") {
    const c = claims(body.jwt);
    steps.push(
      pass(
        "token-request",
        "TokenRequest",
        `token issued for ${c?.sub ?? `ServiceAccount ${s.namespace}/${sa}`}, audiences ${JSON.stringify(c?.aud ?? [])}`,
      ),
    );
  }
  if (!s.http) {
    steps.push(skip("vault-login", "Vault login", "skipped: Vault is not reachable"));
    return steps;
  }
  const path = loginPath(s.resolved!.spec.mount);
  try {
    const r = await s.http.call<{
      auth?: { client_token?: string; policies?: string[]; lease_duration?: number };
    }>("PUT", path, {
      body,
      namespace: s.resolved!.spec.namespace,
      headers: s.resolved!.spec.headers,
      timeoutMs: s.opts.timeoutMs,
    });
    const auth = r.json?.auth;
    if (!auth?.client_token) {
      steps.push(fail("vault-login", "Vault login", `${path} returned no token`, loginFix(s, "")));
      return steps;
    }
    s.token = auth.client_token;
    s.policies = auth.policies ?? [];
    s.tokenMaxLifeS = await tokenMaxLife(s, auth.client_token, auth.lease_duration);
    steps.push(
      pass(
        "vault-login",
        "Vault login",
        `${path}${role ? ` as role ${role}` : ""}: accepted; token policies ${JSON.stringify(s.policies)}, TTL ${auth.lease_duration ?? "?"}s`,
      ),
    );
  } catch (err) {
    const message =
      err instanceof VaultApiError
        ? cleanVaultError(err.vaultErrors.join("; ")) || err.message
        : errText(err);
    steps.push(
      fail(
        "vault-login",
        "Vault login",
        `Vault refused the login at ${path}: ${message}`,
        loginFix(s, message),
      ),
    );
  }
  return steps;
}

/**
 * How long a token of the role can live at most: the doctor renews its own
 * token for a century and Vault grants what the role's max TTL leaves. A lease
 * longer than that cannot outlive its token (issue 18). The doctor's token is
 * revoked at the end anyway.
 */
async function tokenMaxLife(s: Session, token: string, ttl: number | undefined): Promise<number | undefined> {
  try {
    const r = await s.http!.call<{ auth?: { lease_duration?: number } }>("PUT", "auth/token/renew-self", {
      token,
      namespace: s.resolved?.spec.namespace,
      body: { increment: "876000h" },
      timeoutMs: s.opts.timeoutMs,
    });
    return r.json?.auth?.lease_duration ?? ttl;
  } catch {
    return ttl; // not renewable: it ends at its TTL
  }
}

/** The doctor's token is revoked when it is done, so it leaves nothing behind in Vault. */
export async function revokeDoctorToken(s: Session): Promise<void> {
  if (!s.token || !s.http) return;
  await s.http
    .call("PUT", "auth/token/revoke-self", {
      token: s.token,
      namespace: s.resolved?.spec.namespace,
      timeoutMs: s.opts.timeoutMs,
    })
    .catch(() => {});
  s.token = undefined;
}
