// What engine is mounted at a path, asked with the doctor's token through
// sys/internal/ui/mounts (allowed to any token with a capability under the
// mount), so the doctor can tell a database mount, or KV v1 from v2.
import type { Session } from "./session.ts";

export interface MountInfo {
  type: string;
  version?: string;
}

export async function mountInfo(s: Session, mount: string): Promise<MountInfo | undefined> {
  if (!s.http || !s.token) return undefined;
  try {
    const r = await s.http.call<{ data?: { type?: string; options?: { version?: string } | null } }>(
      "GET",
      `sys/internal/ui/mounts/${mount.replace(/^\/+|\/+$/g, "")}`,
      { token: s.token, namespace: s.vaultNamespace, timeoutMs: s.opts.timeoutMs },
    );
    const d = r.json?.data;
    return d?.type ? { type: d.type, version: d.options?.version ?? undefined } : undefined;
  } catch {
    return undefined;
  }
}
