// Step 5: the logged-in token's capabilities on every path the operator will
// use for this resource (sys/capabilities-self), and the policy stanza to add
// for each one that is missing.
import { VaultApiError } from "../vault/http.ts";
import { type Access, policyStanza, requiredAccess } from "./access.ts";
import { fail, pass, type Step, skip, warn } from "./report.ts";
import { authName, errText, type Session } from "./session.ts";

function granted(caps: string[], a: Access): boolean {
  if (caps.includes("root")) return true;
  if (caps.includes("deny")) return false;
  return caps.includes(a.capability);
}

export async function checkPolicy(s: Session): Promise<Step[]> {
  const title = "policy";
  if (!s.token || !s.http) return [skip("policy", title, "skipped: no Vault token (the login failed)")];
  const needed = requiredAccess(s);
  let caps: Record<string, string[]>;
  try {
    const r = await s.http.call<Record<string, unknown> & { data?: Record<string, unknown> }>(
      "POST",
      "sys/capabilities-self",
      {
        token: s.token,
        namespace: s.vaultNamespace,
        body: { paths: needed.map((a) => a.path) },
        timeoutMs: s.opts.timeoutMs,
      },
    );
    const body = (r.json?.data ?? r.json ?? {}) as Record<string, unknown>;
    caps = Object.fromEntries(
      needed.map((a) => [a.path, Array.isArray(body[a.path]) ? (body[a.path] as string[]) : []]),
    );
  } catch (err) {
    const denied = err instanceof VaultApiError && err.status === 403;
    return [
      warn(
        "policy",
        title,
        `cannot ask Vault for the token's capabilities: ${errText(err)}`,
        denied ? "the token's policies deny sys/capabilities-self (the default policy allows it)" : undefined,
      ),
    ];
  }
  const missing = needed.filter((a) => !granted(caps[a.path] ?? [], a));
  const have = needed.map((a) => `${a.path}: ${JSON.stringify(caps[a.path] ?? [])}`).join("\n");
  if (missing.length === 0)
    return [
      pass(
        "policy",
        title,
        `the token may ${needed.map((a) => `${a.capability} ${a.path}`).join(", ")}\n${have}`,
      ),
    ];
  const policies = (s.policies ?? []).filter((p) => p !== "default");
  const where =
    policies.length > 0
      ? `add to one of the token's policies (${policies.join(", ")}), e.g.\n  vault policy read ${policies[0]} > p.hcl; cat >> p.hcl <<'EOF'\n${missing.map(policyStanza).join("\n")}\nEOF\n  vault policy write ${policies[0]} p.hcl`
      : `the token has no policy besides "default": write one with\n${missing.map(policyStanza).join("\n")}\nand list it in the auth role's policies (role of ${authName(s)})`;
  return [
    fail(
      "policy",
      title,
      `the token lacks ${missing.map((a) => `${a.capability} on ${a.path} (to ${a.why})`).join("; ")}\n${have}`,
      where,
    ),
  ];
}
