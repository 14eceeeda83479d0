// A PKI secrets engine of a test's own: a mount named after the namespace,
// removed when the test ends, with a root issuer and a role `web` that allows
// any name for up to an hour.
import type { TestContext } from "node:test";
import type { TestEnv } from "./env.ts";

export async function pkiMountWithRole(t: TestContext, env: TestEnv, ns: string): Promise<string> {
  const mount = `pki-${ns}`;
  const root = { token: env.rootToken };
  await env.vault.call("POST", `sys/mounts/${mount}`, {
    ...root,
    body: { type: "pki", config: { max_lease_ttl: "24h" } },
  });
  t.after(() => env.vault.call("DELETE", `sys/mounts/${mount}`, root).catch(() => {}));
  await env.vault.call("POST", `${mount}/root/generate/internal`, {
    ...root,
    body: { common_name: `${ns} root`, ttl: "24h" },
  });
  await env.vault.call("POST", `${mount}/roles/web`, {
    ...root,
    body: { allow_any_name: true, max_ttl: "1h" },
  });
  return mount;
}

/** Policy lines that let a token issue from `mount`'s role `web` and revoke what it issued. */
export function pkiPolicyLines(mount: string): string[] {
  return [
    `path "${mount}/issue/web" { capabilities = ["update"] }`,
    `path "${mount}/revoke" { capabilities = ["update"] }`,
  ];
}
