// Resource types of the secrets.hashicorp.com/v1beta1 kinds for the REST client.
import { API_VERSION, GROUP, KINDS, VERSION } from "../api/index.ts";
import type { ResourceType } from "../kube/client.ts";

function rt(kind: string): ResourceType {
  const k = KINDS.find((x) => x.kind === kind);
  if (!k) throw new Error(`unknown kind ${kind}`);
  return { group: GROUP, version: VERSION, plural: k.plural, kind: k.kind, namespaced: true };
}

export const VSO = {
  VaultConnection: rt("VaultConnection"),
  VaultAuth: rt("VaultAuth"),
  VaultAuthGlobal: rt("VaultAuthGlobal"),
  VaultStaticSecret: rt("VaultStaticSecret"),
  VaultDynamicSecret: rt("VaultDynamicSecret"),
  VaultPKISecret: rt("VaultPKISecret"),
  SecretTransformation: rt("SecretTransformation"),
  HCPAuth: rt("HCPAuth"),
  HCPVaultSecretsApp: rt("HCPVaultSecretsApp"),
  CSISecrets: rt("CSISecrets"),
} as const;

export { API_VERSION };
