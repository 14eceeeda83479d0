// Spec §1.8 SecretTransformation, §1.9 HCPAuth, §1.10 HCPVaultSecretsApp and
// §1.11 CSISecrets.
import {
  allowedNamespaces,
  COL_AGE,
  COL_HEALTHY,
  COL_READY,
  conditions,
  Destination,
  duration,
  rolloutRestartTargets,
  Template,
  Transformation,
} from "../common.ts";
import { arr, bool, enumOf, int, int64, map, obj, req, str } from "../dsl.ts";
import { defineKind } from "../kind.ts";

export const SourceTemplate = obj(
  {
    name: str("Template name."),
    text: req(str("Go text/template source, typically define blocks.")),
  },
  "A template that is never output; it provides shared define blocks.",
  { tsName: "SourceTemplate" },
);

export const SecretTransformation = defineKind({
  kind: "SecretTransformation",
  description: "SecretTransformation holds reusable templates and filters for secret resources.",
  served: true,
  printerColumns: [COL_HEALTHY, COL_READY, COL_AGE],
  spec: obj(
    {
      templates: map(Template, "Templates keyed by the Secret data key they render."),
      sourceTemplates: arr(SourceTemplate, "Templates providing shared define blocks; never output."),
      includes: arr(
        str(),
        "RE2 regular expressions selecting top-level source keys; applied after excludes.",
      ),
      excludes: arr(str(), "RE2 regular expressions of top-level source keys to drop."),
    },
    "SecretTransformationSpec holds templates and filters.",
  ),
  status: obj(
    {
      valid: req(bool("Whether all templates parse.")),
      error: req(str("Last validation error.")),
      conditions,
    },
    "SecretTransformationStatus is the observed state of the templates.",
  ),
});

export const HCPAuth = defineKind({
  kind: "HCPAuth",
  description:
    "HCPAuth describes how to authenticate to HCP Vault Secrets. Not served by this build of vso-ts.",
  served: false,
  printerColumns: [],
  spec: obj(
    {
      organizationID: req(str("HCP organization ID.")),
      projectID: req(str("HCP project ID.")),
      allowedNamespaces,
      method: enumOf(["servicePrincipal"], "Auth method.", { default: "servicePrincipal" }),
      servicePrincipal: obj(
        {
          secretRef: req(
            str("Secret, in the consuming resource's namespace, with keys clientID and clientSecret."),
          ),
        },
        "Service principal credentials.",
        { tsName: "HCPAuthServicePrincipal" },
      ),
    },
    "HCPAuthSpec describes the HCP credentials.",
  ),
  status: obj(
    {
      valid: bool("Whether the configuration is valid."),
      error: str("Last validation error."),
      conditions,
    },
    "HCPAuthStatus is the observed state of the HCPAuth.",
  ),
});

export const HVSDynamicStatus = obj(
  {
    name: str("Name of the dynamic secret."),
    createdAt: str("When the secret was created (RFC 3339)."),
    expiresAt: str("When the secret expires (RFC 3339)."),
    ttl: str("Time to live of the secret."),
  },
  "State of one HVS dynamic secret.",
  { tsName: "HVSDynamicStatus" },
);

export const HCPVaultSecretsApp = defineKind({
  kind: "HCPVaultSecretsApp",
  description:
    "HCPVaultSecretsApp syncs an HCP Vault Secrets app into a Kubernetes Secret. Not served by this build of vso-ts.",
  served: false,
  printerColumns: [],
  spec: obj(
    {
      appName: req(str("HVS app name.")),
      hcpAuthRef: str("HCPAuth as [namespace/]name; default HCPAuth when empty."),
      refreshAfter: duration("Poll interval.", { default: "600s" }),
      rolloutRestartTargets,
      destination: req(Destination),
      syncConfig: obj(
        {
          dynamic: obj(
            {
              renewalPercent: int("Regenerate dynamic secrets at this percentage of their TTL.", {
                minimum: 0,
                maximum: 90,
                default: 67,
              }),
            },
            "Options for dynamic secrets.",
            { tsName: "HVSDynamicSyncConfig" },
          ),
        },
        "Sync options.",
        { tsName: "HVSSyncConfig" },
      ),
    },
    "HCPVaultSecretsAppSpec selects the app and its destination.",
  ),
  status: obj(
    {
      lastGeneration: int64("The .metadata.generation of the last successful sync."),
      secretMAC: str("Base64 HMAC-SHA256 of the last written Secret data."),
      dynamicSecrets: arr(HVSDynamicStatus, "Dynamic secrets of the app."),
      conditions,
    },
    "HCPVaultSecretsAppStatus is the observed state of the sync.",
  ),
});

const kvType = enumOf(["kv-v1", "kv-v2"], "KV secrets engine version.");

export const CSISecrets = defineKind({
  kind: "CSISecrets",
  plural: "csisecrets",
  description:
    "CSISecrets describes secrets served to pods by the CSI driver. Not served by this build of vso-ts.",
  served: false,
  printerColumns: [],
  spec: obj(
    {
      namespace: str("Vault namespace."),
      accessControl: req(
        obj(
          {
            serviceAccountPattern: req(str("Regular expression a pod's service account must match.")),
            namespacePatterns: arr(str(), "Regular expressions a pod's namespace must match."),
            podNamePatterns: arr(str(), "Regular expressions a pod's name must match."),
            podLabels: map(str(), "Labels a pod must carry."),
            matchPolicy: enumOf(["any", "all"], "Whether any or all of the patterns must match.", {
              default: "all",
            }),
          },
          "Which pods may mount the secrets.",
          { tsName: "CSIAccessControl" },
        ),
      ),
      secrets: req(
        obj(
          {
            transformation: Transformation,
            vaultAppRoleSecretIDs: arr(
              obj(
                {
                  mount: req(str("AppRole auth mount.")),
                  role: req(str("AppRole role.")),
                  metadata: map(str(), "Metadata of the secret-ID."),
                  cidrList: arr(str(), "CIDR blocks allowed to use the secret-ID."),
                  tokenBoundCIDRs: arr(str(), "CIDR blocks tokens from the secret-ID are bound to."),
                  ttl: duration("TTL of the secret-ID."),
                  numUses: int("Number of uses of the secret-ID; unlimited when 0."),
                  wrapTTL: duration("Response-wrapping TTL."),
                  syncRoleID: bool("Also write the role ID."),
                  transformation: Transformation,
                },
                "An AppRole secret-ID minted per pod.",
                { tsName: "CSIVaultAppRoleSecretID" },
              ),
              "AppRole secret-IDs minted per pod.",
            ),
            vaultStaticSecrets: arr(
              obj(
                {
                  mount: str("KV mount."),
                  path: str("Secret path."),
                  version: int("KV v2 version.", { minimum: 0 }),
                  type: kvType,
                  transformation: Transformation,
                },
                "A KV secret.",
                { tsName: "CSIVaultStaticSecret" },
              ),
              "KV secrets.",
            ),
          },
          "Content of the mount.",
          { tsName: "CSISecretsContent" },
        ),
      ),
      syncConfig: obj(
        {
          containerState: obj(
            {
              namePattern: str("Regular expression of container names."),
              imagePattern: str("Regular expression of container images."),
            },
            "Resync when a matching container is restarting.",
            { tsName: "CSIContainerState" },
          ),
        },
        "Sync options.",
        { tsName: "CSISyncConfig" },
      ),
      vaultAuthRef: obj(
        {
          name: req(str("Name of the VaultAuth.")),
          namespace: str("Namespace of the VaultAuth."),
          trustNamespace: bool("Take credentials from the VaultAuth's namespace instead of the consumer's."),
        },
        "The VaultAuth to use.",
        { tsName: "VaultAuthRef" },
      ),
    },
    "CSISecretsSpec describes what the CSI driver serves and to which pods.",
  ),
  status: obj({ conditions }, "CSISecretsStatus is the observed state."),
});
