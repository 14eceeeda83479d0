// The secrets.hashicorp.com/v1beta1 API as seen by the rest of vso-ts: group and
// version, per-kind metadata, generated resource types, and the condition,
// reason, event, finalizer and label names of the compatibility spec (§2.4,
// §2.6, §2.11). Schemas live in ./schema/; types.generated.ts is generated from
// them by scripts/generate-crds.ts.
import { ALL_KINDS } from "./schema/index.ts";
import type { KindName } from "./types.generated.ts";

export { API_VERSION, GROUP, VERSION } from "./schema/index.ts";
export type * from "./types.generated.ts";

export interface KindInfo {
  kind: KindName;
  plural: string;
  singular: string;
  listKind: string;
  /** Whether this build runs a controller for the kind (its CRD is installed regardless). */
  served: boolean;
}

/** Every kind of the API group, in spec order. */
export const KINDS: readonly KindInfo[] = ALL_KINDS.map((k) => ({
  kind: k.kind as KindName,
  plural: k.plural,
  singular: k.singular,
  listKind: k.listKind,
  served: k.served,
}));

export const KIND_INFO: Readonly<Record<KindName, KindInfo>> = Object.fromEntries(
  KINDS.map((k) => [k.kind, k]),
) as Record<KindName, KindInfo>;

/** Kinds a controller of this build reconciles. */
export const SERVED_KINDS: readonly KindName[] = KINDS.filter((k) => k.served).map((k) => k.kind);

export function isServedKind(kind: string): boolean {
  return SERVED_KINDS.includes(kind as KindName);
}

/** Condition types (§2.11). */
export const ConditionType = {
  SecretSynced: "SecretSynced",
  Healthy: "Healthy",
  Ready: "Ready",
  RolloutRestart: "RolloutRestart",
  LeaseRenewal: "LeaseRenewal",
  ResourceValidation: "ResourceValidation",
  VaultClient: "VaultClient",
  VaultPing: "VaultPing",
  Available: "Available",
} as const;
export type ConditionTypeName = (typeof ConditionType)[keyof typeof ConditionType];

/** Condition reasons that are not also event reasons (§1.2, §1.3, §1.5, §2.11). */
export const ConditionReason = {
  /** Reason of every SecretSynced condition, True or False. */
  Synced: "Synced",
  /** Reason of the VaultAuth Available condition. */
  VaultAuthGlobalRef: "VaultAuthGlobalRef",
} as const;

/** Event reasons (§2.11, consts/reasons.go); several are also condition reasons. */
export const EventReason = {
  Accepted: "Accepted",
  InvalidConfiguration: "InvalidConfiguration",
  InvalidResourceRef: "InvalidResourceRef",
  K8sClientError: "K8sClientError",
  RolloutRestartFailed: "RolloutRestartFailed",
  RolloutRestartTriggered: "RolloutRestartTriggered",
  RolloutRestartTriggeredFailed: "RolloutRestartTriggeredFailed",
  RolloutRestartUnsupported: "RolloutRestartUnsupported",
  SecretLeaseRenewal: "SecretLeaseRenewal",
  SecretLeaseRevoke: "SecretLeaseRevoke",
  SecretLeaseRenewalError: "SecretLeaseRenewalError",
  SecretRotated: "SecretRotated",
  SecretSync: "SecretSync",
  SecretSyncError: "SecretSyncError",
  SecretSynced: "SecretSynced",
  StatusUpdateError: "StatusUpdateError",
  Unrecoverable: "Unrecoverable",
  VaultClientConfigError: "VaultClientConfigError",
  HVSClientConfigError: "HVSClientConfigError",
  VaultClientError: "VaultClientError",
  VaultStaticSecretError: "VaultStaticSecretError",
  HVSSecretError: "HVSSecretError",
  SecretDataDrift: "SecretDataDrift",
  InexistentDestination: "InexistentDestination",
  ResourceUpdated: "ResourceUpdated",
  InitialSync: "InitialSync",
  InRenewalWindow: "InRenewalWindow",
  HMACDataError: "HMACDataError",
  CertificateRevocationError: "CertificateRevocationError",
  TransformationError: "TransformationError",
  SecretDataBuilderError: "SecretDataBuilderError",
  ForceSync: "ForceSync",
  VaultTokenRotated: "VaultTokenRotated",
  VaultClientConfigChanged: "VaultClientConfigChanged",
  EventWatcherError: "EventWatcherError",
  EventWatcherStarted: "EventWatcherStarted",
  Healthy: "Healthy",
  Unhealthy: "Unhealthy",
  Ready: "Ready",
} as const;
export type EventReasonName = (typeof EventReason)[keyof typeof EventReason];

/** Event recorder (source component) names (§2.11). */
export const EventRecorder = {
  VaultStaticSecret: "VaultStaticSecret",
  VaultPKISecret: "VaultPKISecret",
  VaultAuth: "VaultAuth",
  VaultConnection: "VaultConnection",
  VaultDynamicSecret: "VaultDynamicSecret",
  HCPVaultSecretsApp: "HCPVaultSecretsApp",
  SecretTransformation: "SecretTransformation",
  VaultClientFactory: "vaultClientFactory",
} as const;

/** Finalizers (§2.11). Note the plural in the VaultPKISecret one. */
export const Finalizer = {
  VaultStaticSecret: "vaultstaticsecret.secrets.hashicorp.com/finalizer",
  VaultDynamicSecret: "vaultdynamicsecret.secrets.hashicorp.com/finalizer",
  VaultPKISecret: "vaultpkisecrets.secrets.hashicorp.com/finalizer",
  VaultAuth: "vaultauth.secrets.hashicorp.com/finalizer",
  VaultConnection: "vaultconnection.secrets.hashicorp.com/finalizer",
  HCPVaultSecretsApp: "hcpvaultsecretsapp.secrets.hashicorp.com/finalizer",
} as const;

/** Label keys of destination Secrets created by the operator (§2.4). */
export const OwnerLabel = {
  ManagedBy: "app.kubernetes.io/managed-by",
  Name: "app.kubernetes.io/name",
  Component: "app.kubernetes.io/component",
  OwnerRefUID: "secrets.hashicorp.com/vso-ownerRefUID",
} as const;

/** Fixed values of the owner labels (§2.4); OwnerRefUID carries the owning resource's UID. */
export const OwnerLabelValue = {
  ManagedBy: "hashicorp-vso",
  Name: "vault-secrets-operator",
  Component: "secret-sync",
} as const;

/** The owner labels of a destination Secret owned by the resource with this UID. */
export function ownerLabels(ownerUID: string): Record<string, string> {
  return {
    [OwnerLabel.ManagedBy]: OwnerLabelValue.ManagedBy,
    [OwnerLabel.Name]: OwnerLabelValue.Name,
    [OwnerLabel.Component]: OwnerLabelValue.Component,
    [OwnerLabel.OwnerRefUID]: ownerUID,
  };
}

/** Pod template annotation patched by a rollout restart (§2.6). */
export const RESTARTED_AT_ANNOTATION = "vso.secrets.hashicorp.com/restartedAt";
