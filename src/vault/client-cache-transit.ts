// Encrypts persisted client-cache entries with Vault's Transit engine, as VSO's
// direct-encrypted model does: `PUT <mount>/encrypt/<key>` and
// `PUT <mount>/decrypt/<key>`, with a Vault client that is itself never
// persisted. The stored bytes are what VSO stores: the JSON of the encrypt
// response's data, `{"ciphertext":"vault:v1:...","key_version":N}`; a bare
// ciphertext (vso-ts's earlier format) is still read, for one release.
// Which VaultAuth supplies the key and the client is decided by the
// caller (the operator), resolved again on every use so a changed VaultAuth
// takes effect.

import type { VaultClient } from "./client.ts";
import { CacheEntryError } from "./client-cache-entry.ts";
import { CacheConfigError, type TokenCipher } from "./client-cache-storage.ts";

export interface TransitTarget {
  /** Name of the VaultAuth that carries spec.storageEncryption. */
  authName: string;
  mount: string;
  keyName: string;
  client: VaultClient;
}

function trimSlashes(s: string): string {
  return s.replace(/^\/+|\/+$/g, "");
}

/** The ciphertext inside a stored payload: VSO's `{"ciphertext": ...}` wrapper, or a bare one. */
export function storedCiphertext(payload: Buffer): string {
  const text = payload.toString("utf8").trim();
  if (!text.startsWith("{")) return text;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new CacheEntryError("encrypted entry is not valid JSON");
  }
  const c = (v as { ciphertext?: unknown } | null)?.ciphertext;
  if (typeof c !== "string" || c.length === 0) throw new CacheEntryError("encrypted entry has no ciphertext");
  return c;
}

export class TransitCipher implements TokenCipher {
  private readonly target: () => Promise<TransitTarget>;

  constructor(target: () => Promise<TransitTarget>) {
    this.target = target;
  }

  async name(): Promise<string> {
    return (await this.target()).authName;
  }

  async encrypt(plaintext: Buffer): Promise<Buffer> {
    const t = await this.target();
    const res = await t.client.request<{ data?: { ciphertext?: string; key_version?: number } }>(
      "PUT",
      `${trimSlashes(t.mount)}/encrypt/${t.keyName}`,
      { body: { name: t.keyName, plaintext: plaintext.toString("base64") } },
      "write",
    );
    const data = res.json?.data;
    if (!data?.ciphertext)
      throw new CacheConfigError(`Transit ${t.mount}/encrypt/${t.keyName} returned no ciphertext`);
    return Buffer.from(JSON.stringify(data), "utf8");
  }

  async decrypt(ciphertext: Buffer): Promise<Buffer> {
    const t = await this.target();
    const res = await t.client.request<{ data?: { plaintext?: string } }>(
      "PUT",
      `${trimSlashes(t.mount)}/decrypt/${t.keyName}`,
      { body: { name: t.keyName, ciphertext: storedCiphertext(ciphertext) } },
      "write",
    );
    const p = res.json?.data?.plaintext;
    if (p === undefined)
      throw new CacheConfigError(`Transit ${t.mount}/decrypt/${t.keyName} returned no plaintext`);
    return Buffer.from(p, "base64");
  }
}
