// Step 6 (database secrets): the database role the path names, the
// connection that role uses, and whether that connection's allowed_roles
// lets the role in. Read with the doctor's token; when its policies do not
// allow reading them, the step says so instead of guessing.
import { VaultApiError } from "../vault/http.ts";
import { mountInfo } from "./mount-info.ts";
import { fail, pass, type Step, warn } from "./report.ts";
import { errText, type Session } from "./session.ts";

/** Vault's allowed_roles matching: exact names and globs with "*". */
export function roleAllowed(allowed: string[], role: string): boolean {
  return allowed.some((a) => {
    if (a === "*" || a === role) return true;
    if (!a.includes("*")) return false;
    const re = new RegExp(
      `^${a
        .split("*")
        .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
        .join(".*")}$`,
    );
    return re.test(role);
  });
}

async function readWithToken(
  s: Session,
  path: string,
): Promise<{ ok: true; data: Record<string, unknown> } | { ok: false; status: number; message: string }> {
  try {
    const r = await s.http!.call<{ data?: Record<string, unknown> }>("GET", path, {
      token: s.token,
      namespace: s.vaultNamespace,
      timeoutMs: s.opts.timeoutMs,
    });
    return { ok: true, data: r.json?.data ?? {} };
  } catch (err) {
    return { ok: false, status: err instanceof VaultApiError ? err.status : 0, message: errText(err) };
  }
}

export async function checkDatabase(s: Session): Promise<Step[]> {
  if (s.kind !== "VaultDynamicSecret" || !s.token || !s.http) return [];
  const spec = s.obj!.spec;
  const mount = spec.mount.replace(/^\/+|\/+$/g, "");
  const info = await mountInfo(s, mount);
  if (info && info.type !== "database") return [];
  const m = /^\/*(creds|static-creds)\/([^/]+)$/.exec(spec.path ?? "");
  if (!info && !m) return [];
  const title = "database role";
  if (!m) {
    return [
      pass(
        "database-role",
        title,
        `${mount}/${spec.path} is not a creds/ROLE or static-creds/ROLE path; not checked`,
      ),
    ];
  }
  const [, kindOf, role] = m;
  const rolePath = `${mount}/${kindOf === "creds" ? "roles" : "static-roles"}/${role}`;
  const r = await readWithToken(s, rolePath);
  if (!r.ok) {
    if (r.status === 404) {
      return [
        fail(
          "database-role",
          title,
          `database role ${role} does not exist (${rolePath})`,
          `create it (vault write ${rolePath} db_name=CONNECTION creation_statements=...) or fix spec.path of ${s.kind} ${s.namespace}/${s.name} (vault list ${mount}/${kindOf === "creds" ? "roles" : "static-roles"})`,
        ),
      ];
    }
    return [
      warn(
        "database-role",
        title,
        `the token cannot read ${rolePath} (${r.message}), so the role and its connection's allowed_roles are not checked`,
        `a Vault admin can check them: vault read ${rolePath}; vault read ${mount}/config/<db_name>`,
      ),
    ];
  }
  const dbName = String(r.data.db_name ?? "");
  const cfgPath = `${mount}/config/${dbName}`;
  const c = await readWithToken(s, cfgPath);
  if (!c.ok) {
    if (c.status === 404) {
      return [
        fail(
          "database-role",
          title,
          `role ${role} uses connection "${dbName}", which does not exist (${cfgPath})`,
          `create the connection ${cfgPath}, or set db_name of ${rolePath} to an existing one (vault list ${mount}/config)`,
        ),
      ];
    }
    return [
      warn(
        "database-role",
        title,
        `role ${role} uses connection ${dbName}; the token cannot read ${cfgPath} (${c.message}), so its allowed_roles is not checked`,
        `a Vault admin can check it: vault read ${cfgPath}`,
      ),
    ];
  }
  const allowed = (c.data.allowed_roles as string[] | undefined) ?? [];
  if (!roleAllowed(allowed, role)) {
    return [
      fail(
        "database-role",
        title,
        `role ${role} is not in allowed_roles ${JSON.stringify(allowed)} of connection ${dbName} (${cfgPath})`,
        `add it: vault write ${cfgPath} allowed_roles="${[...allowed, role].join(",")}" (Vault keeps the connection's other settings on update)`,
      ),
    ];
  }
  return [
    pass(
      "database-role",
      title,
      `role ${role} → connection ${dbName}, whose allowed_roles ${JSON.stringify(allowed)} include it`,
    ),
  ];
}
