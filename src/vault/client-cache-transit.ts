// Encrypts persisted client-cache entries with Vault's Transit engine, as VSO's
// direct-encrypted model does: `PUT <mount>/encrypt/<key>` and
// `PUT <mount>/decrypt/<key>`, with a Vault client that is itself never
// persisted. Which VaultAuth supplies the key and the client is decided by the
// caller (the operator), resolved again on every use so a changed VaultAuth
// takes effect.

import type { VaultClient } from "./client.ts";
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
    const res = await t.client.request<{ data?: { ciphertext?: string } }>(
      "PUT",
      `${trimSlashes(t.mount)}/encrypt/${t.keyName}`,
      { body: { plaintext: plaintext.toString("base64") } },
      "write",
    );
    const c = res.json?.data?.ciphertext;
    if (!c) throw new CacheConfigError(`Transit ${t.mount}/encrypt/${t.keyName} returned no ciphertext`);
    return Buffer.from(c, "utf8");
  }

  async decrypt(ciphertext: Buffer): Promise<Buffer> {
    const t = await this.target();
    const res = await t.client.request<{ data?: { plaintext?: string } }>(
      "PUT",
      `${trimSlashes(t.mount)}/decrypt/${t.keyName}`,
      { body: { ciphertext: ciphertext.toString("utf8") } },
      "write",
    );
    const p = res.json?.data?.plaintext;
    if (p === undefined)
      throw new CacheConfigError(`Transit ${t.mount}/decrypt/${t.keyName} returned no plaintext`);
    return Buffer.from(p, "base64");
  }
}
