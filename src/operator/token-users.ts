// Which resources record credentials obtained with a Vault token
// (status.vaultClientMeta.id, a hash of its accessor): the VaultDynamicSecrets
// and VaultPKISecrets in the informers' caches. One answer for the client
// factory (may a token it lets go be revoked?) and for the deletion of a
// resource (was it the last one under that token?).
import type { KubeObject } from "../kube/client.ts";
import type { Informers } from "./context.ts";

type WithClientMeta = KubeObject & { status?: { vaultClientMeta?: { id?: string } } };

export function tokenUsers(
  informers: Pick<Informers, "dynamicSecrets" | "pkiSecrets">,
  tokenId: string,
): KubeObject[] {
  const all = [...informers.dynamicSecrets.list(), ...informers.pkiSecrets.list()] as WithClientMeta[];
  return all.filter((o) => o.status?.vaultClientMeta?.id === tokenId);
}
