// HMAC of destination Secret data, byte-compatible with VSO's status.secretMAC:
// base64(HMAC-SHA256(key, json.Marshal(map[string][]byte))), the key being the
// 16 random bytes in Secret vso-cc-storage-hmac-key of the operator namespace.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { CORE, type KubeClient, type KubeObject } from "../kube/client.ts";
import { goMarshalBytesMap } from "../util/gojson.ts";

export const HMAC_KEY_SECRET = "vso-cc-storage-hmac-key";

export function secretDataMAC(key: Buffer, data: Record<string, Buffer>): string {
  return createHmac("sha256", key).update(goMarshalBytesMap(data)).digest("base64");
}

export function macEqual(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Reads the HMAC key Secret, creating it (immutable, 16 random bytes) when missing. */
export async function ensureHmacKey(kube: KubeClient, operatorNamespace: string): Promise<Buffer> {
  const read = async () => {
    const s = await kube.getOrNull<KubeObject & { data?: Record<string, string> }>(
      CORE.secrets,
      operatorNamespace,
      HMAC_KEY_SECRET,
    );
    const k = s?.data?.key;
    return k ? Buffer.from(k, "base64") : undefined;
  };
  const existing = await read();
  if (existing) return existing;
  // Another replica may create it first: whichever key was stored is the one read back.
  await kube.createIfAbsent(CORE.secrets, operatorNamespace, {
    metadata: {
      name: HMAC_KEY_SECRET,
      labels: {
        "app.kubernetes.io/name": "vault-secrets-operator",
        "app.kubernetes.io/managed-by": "hashicorp-vso",
        "app.kubernetes.io/component": "client-cache-storage-verification",
      },
    },
    immutable: true,
    data: { key: randomBytes(16).toString("base64") },
  });
  const created = await read();
  if (!created) throw new Error(`Secret ${operatorNamespace}/${HMAC_KEY_SECRET} has no key`);
  return created;
}
