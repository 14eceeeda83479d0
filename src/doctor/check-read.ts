// Step 7: the read itself, with the doctor's token, reporting only what came
// back (key names, version, lease TTL), never a value. A dynamic credential
// or certificate is issued only with --issue, and then revoked at once.
import type { VaultPKISecretSpec } from "../api/index.ts";
import { pkiRequestBody } from "../operator/kinds/pki/pki.ts";
import { VaultApiError } from "../vault/http.ts";
import { mainAccess } from "./access.ts";
import { mountInfo } from "./mount-info.ts";
import { fail, pass, type Step, skip, warn } from "./report.ts";
import { errText, type Session } from "./session.ts";

async function kvHint(s: Session): Promise<string> {
  const spec = s.obj!.spec;
  const mount = spec.mount.replace(/^\/+|\/+$/g, "");
  const info = await mountInfo(s, mount);
  if (info && info.type !== "kv" && info.type !== "generic") {
    return `\nthe mount "${mount}" is a ${info.type} engine, not KV: fix spec.mount`;
  }
  const want = spec.type === "kv-v2" ? "2" : "1";
  if (info && (info.version || "1") !== want) {
    return `\nthe mount "${mount}" is KV version ${info.version || "1"}: set spec.type: kv-v${info.version || "1"}`;
  }
  const path = (spec.path ?? "").replace(/^\/+|\/+$/g, "");
  const parent = path.includes("/") ? path.slice(0, path.lastIndexOf("/") + 1) : "";
  const listPath = spec.type === "kv-v2" ? `${mount}/metadata/${parent}` : `${mount}/${parent}`;
  try {
    const r = await s.http!.call<{ data?: { keys?: string[] } }>("LIST", listPath || `${mount}/`, {
      token: s.token,
      namespace: s.vaultNamespace,
      timeoutMs: s.opts.timeoutMs,
    });
    const keys = r.json?.data?.keys ?? [];
    return `\nsecrets under ${mount}/${parent}: ${keys.map((k) => parent + k).join(", ") || "none"}`;
  } catch {
    return `\n(the token may not list ${listPath}, so the doctor cannot suggest existing paths)`;
  }
}

async function readStatic(s: Session): Promise<Step> {
  const title = "read";
  const spec = s.obj!.spec;
  const a = mainAccess(s);
  const query = spec.type === "kv-v2" && spec.version ? { version: String(spec.version) } : undefined;
  try {
    const r = await s.http!.call<{ data?: Record<string, unknown> | null }>("GET", a.path, {
      token: s.token,
      namespace: s.vaultNamespace,
      query,
      timeoutMs: s.opts.timeoutMs,
    });
    const d = r.json?.data ?? null;
    if (spec.type === "kv-v2") {
      const v2 = d as { data?: Record<string, unknown> | null; metadata?: { version?: number } } | null;
      if (!v2?.data) {
        return fail(
          "read",
          title,
          `${a.path}: version ${v2?.metadata?.version ?? "?"} is deleted or destroyed`,
          `write a new version (vault kv put -mount=${spec.mount} ${spec.path} ...), undelete it, or pin spec.version to a live one`,
        );
      }
      const keys = Object.keys(v2.data);
      return pass(
        "read",
        title,
        `${a.path}: version ${v2.metadata?.version ?? "?"}, ${keys.length} key(s): ${keys.join(", ")}`,
      );
    }
    const keys = Object.keys(d ?? {});
    return pass("read", title, `${a.path}: ${keys.length} key(s): ${keys.join(", ")}`);
  } catch (err) {
    if (err instanceof VaultApiError && err.status === 404) {
      return fail(
        "read",
        title,
        `no secret at ${a.path}${query ? ` (version ${query.version})` : ""}`,
        `fix spec.path (now "${spec.path}") or spec.mount of ${s.kind} ${s.namespace}/${s.name}, or write the secret: vault kv put -mount=${spec.mount} ${spec.path} KEY=VALUE${await kvHint(s)}`,
      );
    }
    return fail("read", title, `reading ${a.path} failed: ${errText(err)}`, "see the Vault error above");
  }
}

/** With --issue: obtains one credential or certificate and revokes it at once, reporting only its shape. */
async function issueAndRevoke(s: Session): Promise<Step> {
  const title = "read";
  const spec = s.obj!.spec;
  const a = mainAccess(s);
  const write = a.capability === "update";
  let res: {
    lease_id?: string;
    lease_duration?: number;
    renewable?: boolean;
    data?: Record<string, unknown>;
  };
  try {
    const r = await s.http!.call<typeof res>(write ? "PUT" : "GET", a.path, {
      token: s.token,
      namespace: s.vaultNamespace,
      body: write
        ? s.kind === "VaultPKISecret"
          ? pkiRequestBody(spec as unknown as VaultPKISecretSpec)
          : (spec.params ?? {})
        : undefined,
      timeoutMs: s.opts.timeoutMs,
    });
    res = r.json ?? {};
  } catch (err) {
    return fail(
      "read",
      title,
      `${write ? "writing" : "reading"} ${a.path} failed: ${errText(err)}`,
      "see the Vault error above and the steps before",
    );
  }
  const keys = Object.keys(res.data ?? {});
  let revoked = "";
  if (res.lease_id) {
    try {
      await s.http!.call("PUT", "sys/leases/revoke", {
        token: s.token,
        namespace: s.vaultNamespace,
        body: { lease_id: res.lease_id },
        timeoutMs: s.opts.timeoutMs,
      });
      revoked = `; lease ${res.lease_id} revoked`;
    } catch (err) {
      return fail(
        "read",
        title,
        `${a.path} issued lease ${res.lease_id}, but revoking it failed: ${errText(err)}\n` +
          "(Vault revokes it with the doctor's token, which the doctor revokes when it ends)",
        "grant update on sys/leases/revoke: the operator revokes leases on rotation and when the resource is deleted",
      );
    }
  } else if (s.kind === "VaultPKISecret" && typeof res.data?.serial_number === "string") {
    const revokePath = `${spec.mount.replace(/^\/+|\/+$/g, "")}/revoke`;
    await s
      .http!.call("PUT", revokePath, {
        token: s.token,
        namespace: s.vaultNamespace,
        body: { serial_number: res.data.serial_number },
      })
      .then(() => (revoked = `; certificate ${res.data?.serial_number} revoked`))
      .catch(
        () =>
          (revoked = `; certificate ${res.data?.serial_number} NOT revoked (no update on ${revokePath}); it expires in 60s`),
      );
  }
  const what = `${a.path}: ${keys.length} key(s): ${keys.join(", ")}${res.lease_duration ? `, lease TTL ${res.lease_duration}s${res.renewable ? " (renewable)" : ""}` : ""}${revoked}`;
  const life = s.tokenMaxLifeS;
  if (res.lease_id && res.lease_duration && life !== undefined && life > 0 && life < res.lease_duration) {
    const role = s.resolved?.spec[s.resolved.spec.method] as { role?: string } | undefined;
    return warn(
      "read",
      title,
      `${what}\nbut a token of this role lives at most ${life}s (its max TTL), less than the lease's ${res.lease_duration}s: ` +
        "a lease dies with its token, so the operator replaces these credentials before each token ends (earlier rotations, each a rollout restart)",
      `raise token_max_ttl of auth/${s.resolved?.spec.mount ?? "kubernetes"}/role/${role?.role ?? "ROLE"} above ${res.lease_duration}s, or lower the lease TTL`,
    );
  }
  return pass("read", title, what);
}

export async function checkRead(s: Session): Promise<Step> {
  if (!s.token || !s.http) return skip("read", "read", "skipped: no Vault token (the login failed)");
  if (s.kind === "VaultStaticSecret") return await readStatic(s);
  if (!s.opts.issue) {
    return skip(
      "read",
      "read",
      `not tried: reading ${mainAccess(s).path} would issue a new ${s.kind === "VaultPKISecret" ? "certificate" : "credential"}; run again with --issue to issue one and revoke it at once`,
    );
  }
  return await issueAndRevoke(s);
}
