// All kinds of secrets.hashicorp.com/v1beta1, in the order of the spec.
import type { KindDef } from "./kind.ts";
import { CSISecrets, HCPAuth, HCPVaultSecretsApp, SecretTransformation } from "./kinds/others.ts";
import { VaultDynamicSecret, VaultPKISecret, VaultStaticSecret } from "./kinds/secrets.ts";
import { VaultAuth, VaultAuthGlobal } from "./kinds/vaultauth.ts";
import { VaultConnection } from "./kinds/vaultconnection.ts";

export { API_VERSION, GROUP, VERSION } from "./common.ts";
export type { KindDef } from "./kind.ts";

export const ALL_KINDS: readonly KindDef[] = [
  VaultConnection,
  VaultAuth,
  VaultAuthGlobal,
  VaultStaticSecret,
  VaultDynamicSecret,
  VaultPKISecret,
  SecretTransformation,
  HCPAuth,
  HCPVaultSecretsApp,
  CSISecrets,
];
