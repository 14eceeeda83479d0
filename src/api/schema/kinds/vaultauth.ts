// Spec §1.3 VaultAuth and §1.4 VaultAuthGlobal.
//
// The method blocks' "required" fields (role, serviceAccount, roleId, ...) are
// NOT required in the schema: a VaultAuth may leave them empty and inherit them
// field by field from a VaultAuthGlobal, so they are checked after the merge, at
// reconcile time. Only rules that hold for every single object are CEL rules.
import {
  AUTH_METHODS,
  allowedNamespaces,
  COL_AGE,
  COL_HEALTHY,
  COL_READY,
  conditions,
  vaultPath,
  vaultPathSegment,
} from "../common.ts";
import {
  arr,
  bool,
  type CelRule,
  celSet,
  enumOf,
  type Field,
  int64,
  map,
  mutuallyExclusive,
  type ObjectNode,
  obj,
  req,
  str,
} from "../dsl.ts";
import { defineKind } from "../kind.ts";

const tokenExpirationSeconds = int64("Lifetime in seconds of the service account token requested.", {
  minimum: 600,
  default: 600,
});

export const VaultAuthConfigKubernetes = obj(
  {
    role: str("Vault role to log in with (required once merged with any VaultAuthGlobal)."),
    serviceAccount: str(
      "Service account, in the consuming resource's namespace, whose token is used (required once merged).",
    ),
    audiences: arr(str(), "Audiences of the service account token."),
    tokenExpirationSeconds,
  },
  "Kubernetes auth method configuration.",
  { tsName: "VaultAuthConfigKubernetes" },
);

export const VaultAuthConfigJWT = obj(
  {
    role: str("Vault role to log in with (required once merged)."),
    secretRef: str(
      "Secret, in the consuming resource's namespace, holding the JWT under key jwt. Mutually exclusive with serviceAccount.",
    ),
    serviceAccount: str("Service account whose token is used as the JWT. Mutually exclusive with secretRef."),
    audiences: arr(str(), "Audiences of the service account token."),
    tokenExpirationSeconds,
  },
  "JWT auth method configuration.",
  { tsName: "VaultAuthConfigJWT", rules: [mutuallyExclusive("secretRef", "serviceAccount")] },
);

// Kept in the schema only so that a manifest setting it is refused with this message instead of
// the field being pruned in silence (VSO 1.5.0 removed it; issue 22).
const secretIDPathRule: CelRule = {
  rule: `!${celSet("secretIDPath")}`,
  message:
    "secretIDPath is not supported (removed in VSO 1.5.0: it made the operator send files of its own Pod to Vault); put the secret_id in a Secret under key id and set secretRef",
  fieldPath: ".secretIDPath",
};

export const VaultAuthConfigAppRole = obj(
  {
    roleId: str("AppRole role_id (required once merged)."),
    secretRef: str("Secret, in the consuming resource's namespace, holding the secret_id under key id."),
    secretIDPath: str(
      "Refused: removed in VSO 1.5.0 (it made the operator read files of its own Pod). Use secretRef.",
      { maxLength: 4096 },
    ),
  },
  "AppRole auth method configuration.",
  {
    tsName: "VaultAuthConfigAppRole",
    rules: [secretIDPathRule],
  },
);

export const VaultAuthConfigAWS = obj(
  {
    role: str("Vault role to log in with (required once merged)."),
    region: str("AWS region used to sign the STS request."),
    headerValue: str("Value of the X-Vault-AWS-IAM-Server-ID header."),
    sessionName: str("Session name for the web identity provider."),
    stsEndpoint: str("STS endpoint override."),
    iamEndpoint: str("IAM endpoint override."),
    secretRef: str(
      "Secret, in the consuming resource's namespace, with access_key_id, secret_access_key and optionally session_token.",
    ),
    irsaServiceAccount: str(
      "Service account annotated with eks.amazonaws.com/role-arn (IRSA). Falls back to the node role or instance profile.",
    ),
  },
  "AWS IAM auth method configuration.",
  { tsName: "VaultAuthConfigAWS" },
);

export const VaultAuthConfigGCP = obj(
  {
    role: str("Vault role to log in with (required once merged)."),
    workloadIdentityServiceAccount: str(
      "Kubernetes service account annotated with iam.gke.io/gcp-service-account (required once merged).",
    ),
    region: str("GKE cluster region; from the metadata server when empty."),
    clusterName: str("GKE cluster name; from the metadata server when empty."),
    projectID: str("GCP project ID; from the metadata server when empty."),
  },
  "GCP (GKE workload identity) auth method configuration.",
  { tsName: "VaultAuthConfigGCP" },
);

const mergeStrategyValue = (what: string) =>
  enumOf(
    ["union", "replace", "none"],
    `How ${what} are merged with the VaultAuthGlobal's: union (VaultAuth wins), replace (first non-empty), none (VaultAuth only).`,
    { default: "none" },
  );

export const VaultAuthGlobalRef = obj(
  {
    name: str("Name of the VaultAuthGlobal.", { pattern: "^([a-z0-9.-]{1,253})$" }),
    namespace: str("Namespace of the VaultAuthGlobal; defaults to the VaultAuth's namespace.", {
      pattern: "^([a-z0-9-]{1,63})$",
    }),
    mergeStrategy: obj(
      { headers: mergeStrategyValue("headers"), params: mergeStrategyValue("params") },
      "How headers and params are merged.",
      { tsName: "MergeStrategy" },
    ),
    allowDefault: bool(
      "Without a name, use the VaultAuthGlobal named default (the VaultAuth's namespace first, then the operator's).",
    ),
  },
  "Reference to a VaultAuthGlobal to inherit configuration from.",
  { tsName: "VaultAuthGlobalRef" },
);

export const StorageEncryption = obj(
  {
    mount: req(vaultPath("Transit secrets engine mount.")),
    keyName: req(vaultPathSegment("Transit key name.")),
  },
  "Transit key used to encrypt persisted client-cache entries.",
  { tsName: "StorageEncryption" },
);

export const VaultAuth = defineKind({
  kind: "VaultAuth",
  description: "VaultAuth describes how to authenticate to Vault.",
  served: true,
  printerColumns: [COL_HEALTHY, COL_READY, COL_AGE],
  spec: obj(
    {
      vaultConnectionRef: str(
        "VaultConnection as [namespace/]name; a bare name resolves in this namespace. Empty: default in the operator namespace.",
      ),
      vaultAuthGlobalRef: VaultAuthGlobalRef,
      namespace: str("Vault namespace to log in to."),
      allowedNamespaces,
      method: enumOf(AUTH_METHODS, "Auth method; may come from the VaultAuthGlobal's defaultAuthMethod."),
      mount: vaultPath("Auth mount path; login is PUT auth/<mount>/login."),
      params: map(str(), "Parameters for the login."),
      headers: map(str(), "Headers sent with the login request."),
      kubernetes: VaultAuthConfigKubernetes,
      appRole: VaultAuthConfigAppRole,
      jwt: VaultAuthConfigJWT,
      aws: VaultAuthConfigAWS,
      gcp: VaultAuthConfigGCP,
      storageEncryption: StorageEncryption,
    },
    "VaultAuthSpec defines how to log in to Vault.",
  ),
  status: obj(
    {
      valid: bool("Whether the configuration is valid."),
      error: str("Last validation error."),
      conditions,
      specHash: str("Hash of the spec; a change invalidates all cached clients of this VaultAuth."),
    },
    "VaultAuthStatus is the observed state of the VaultAuth.",
  ),
});

/** A method block of a VaultAuthGlobal: the VaultAuth method struct inline, plus per-method defaults. */
function globalMethod(base: ObjectNode, tsName: string, method: string): ObjectNode {
  const extra: Record<string, Field> = {
    namespace: { node: str(`Vault namespace for ${method} logins.`), required: false },
    mount: { node: vaultPath(`Auth mount for ${method} logins.`), required: false },
    params: { node: map(str(), `Login parameters for ${method}.`), required: false },
    headers: { node: map(str(), `Login headers for ${method}.`), required: false },
  };
  return {
    ...base,
    tsName,
    description: `Defaults for VaultAuths using ${method}.`,
    fields: { ...base.fields, ...extra },
  };
}

export const VaultAuthGlobal = defineKind({
  kind: "VaultAuthGlobal",
  description: "VaultAuthGlobal holds defaults that VaultAuths can inherit.",
  served: true,
  printerColumns: [],
  spec: obj(
    {
      allowedNamespaces: {
        ...allowedNamespaces,
        description:
          'Namespaces of the VaultAuths that may reference this object; ["*"] allows all. Unset: only its own namespace.',
      },
      vaultConnectionRef: str("Default VaultConnection as [namespace/]name."),
      defaultVaultNamespace: str("Default Vault namespace."),
      defaultAuthMethod: enumOf(AUTH_METHODS, "Auth method used when the VaultAuth sets none."),
      defaultMount: vaultPath("Default auth mount."),
      params: map(str(), "Default login parameters."),
      headers: map(str(), "Default login headers."),
      kubernetes: globalMethod(VaultAuthConfigKubernetes, "VaultAuthGlobalConfigKubernetes", "kubernetes"),
      appRole: globalMethod(VaultAuthConfigAppRole, "VaultAuthGlobalConfigAppRole", "appRole"),
      jwt: globalMethod(VaultAuthConfigJWT, "VaultAuthGlobalConfigJWT", "jwt"),
      aws: globalMethod(VaultAuthConfigAWS, "VaultAuthGlobalConfigAWS", "aws"),
      gcp: globalMethod(VaultAuthConfigGCP, "VaultAuthGlobalConfigGCP", "gcp"),
    },
    "VaultAuthGlobalSpec holds defaults for VaultAuths.",
  ),
  status: obj(
    {
      valid: req(bool("Whether the configuration is valid.")),
      error: req(str("Last validation error.")),
      conditions: {
        ...conditions,
        description: "Conditions, at most one per type (a vso-ts addition; VSO never writes this status).",
      },
    },
    "VaultAuthGlobalStatus is the observed state of the VaultAuthGlobal.",
  ),
});
