// Spec §1.5 VaultStaticSecret, §1.6 VaultDynamicSecret and §1.7 VaultPKISecret.
import {
  COL_AGE,
  COL_HEALTHY,
  COL_READY,
  COL_SYNCED,
  conditions,
  Destination,
  DUR_WITH_DAYS,
  duration,
  rolloutRestartTargets,
  VaultClientMeta,
  vaultPath,
  vaultPathSegment,
} from "../common.ts";
import { arr, bool, enumOf, int, int64, map, obj, req, str } from "../dsl.ts";
import { defineKind } from "../kind.ts";

const vaultAuthRef = str(
  "VaultAuth as [namespace/]name; a bare name resolves in this namespace. Empty: default in the operator namespace.",
);
const vaultNamespace = str("Vault namespace of the mount; the VaultAuth's namespace when empty.");
const destination = req(Destination);
const secretMAC = str("Base64 HMAC-SHA256 of the last written Secret data.");
const lastGeneration = int64("The .metadata.generation of the last successful sync.");

/**
 * Credentials obtained from Vault that are still to be revoked. Recorded in
 * status before anything else can fail, so that an operator restart, a leader
 * change or a deletion still revokes them.
 */
const pendingRevocations = arr(
  obj(
    {
      id: req(str("Lease ID, or certificate serial number.")),
      reason: req(
        enumOf(
          ["Issued", "Unused", "Replaced"],
          "Issued: obtained, its delivery to the destination not yet confirmed; Unused: obtained but never delivered; Replaced: superseded by newer credentials, revoked after a grace period.",
        ),
      ),
      revokeAfter: req(int64("Unix time from which it is revoked.")),
    },
    "A credential awaiting revocation.",
    { tsName: "PendingRevocation" },
  ),
  "Credentials this resource obtained that are not current and still to be revoked.",
);

/**
 * Ours (VSO's statuses have no such field; a VSO CRD prunes it, harmlessly
 * but for durability: the hold then lasts only while this process keeps its
 * own last status write): the inputs whose
 * credentials were issued and then failed for a configuration reason. No new
 * credentials are requested while the inputs' digest is unchanged.
 */
const issueHold = obj(
  {
    digest: req(
      str(
        "Digest of the inputs that failed (generation, labels and annotations, transformation); a change of any lifts the hold.",
      ),
    ),
    reason: req(str("Why the credentials issued for those inputs could not be delivered.")),
    field: str("The spec field the failure is about, when known."),
    since: req(str("When the hold was set (RFC 3339).", { format: "date-time" })),
  },
  "Ours, not VSO's: no new credentials are requested from Vault until the resource, its labels and annotations, or its transformation change. The IssueHold condition says the same for humans.",
  { tsName: "IssueHold" },
);

export const VaultStaticSecret = defineKind({
  kind: "VaultStaticSecret",
  description: "VaultStaticSecret syncs a KV (v1 or v2) secret from Vault into a Kubernetes Secret.",
  served: true,
  printerColumns: [COL_SYNCED, COL_HEALTHY, COL_READY, COL_AGE],
  spec: obj(
    {
      vaultAuthRef,
      namespace: vaultNamespace,
      mount: req(vaultPath("KV secrets engine mount.", { minLength: 1 })),
      path: req(vaultPath("Path of the secret, relative to the mount.", { minLength: 1 })),
      version: int("KV v2 version to read; the latest when unset.", { minimum: 0 }),
      type: req(enumOf(["kv-v1", "kv-v2"], "KV secrets engine version.")),
      refreshAfter: duration(
        "Poll interval, e.g. 30s (requeued at 80-90 % of it). With HMAC on and this unset, about every 60s.",
      ),
      hmacSecretData: bool(
        "Keep an HMAC of the data in status.secretMAC for change and drift detection. When false, the data is rewritten on every reconcile and rolloutRestartTargets are ignored.",
        { default: true },
      ),
      rolloutRestartTargets,
      destination,
      syncConfig: obj(
        {
          instantUpdates: bool(
            "Subscribe to Vault event notifications (Vault Enterprise 1.16+) for near-instant updates.",
            { default: false },
          ),
        },
        "Sync options.",
        { tsName: "VaultStaticSecretSyncConfig" },
      ),
    },
    "VaultStaticSecretSpec selects the KV secret and its destination.",
  ),
  status: obj(
    {
      lastGeneration: req(lastGeneration),
      secretMAC,
      vaultClientMeta: VaultClientMeta,
      conditions,
    },
    "VaultStaticSecretStatus is the observed state of the sync.",
  ),
});

export const VaultSecretLease = obj(
  {
    id: str("Lease ID."),
    duration: int("Lease duration in seconds."),
    renewable: bool("Whether the lease is renewable."),
    requestID: str("ID of the Vault request that produced the lease."),
  },
  "The current Vault lease.",
  { tsName: "VaultSecretLease" },
);

export const VaultStaticCredsMetaData = obj(
  {
    lastVaultRotation: int64("Unix time of the last rotation in Vault."),
    rotationPeriod: int64("Rotation period in seconds."),
    rotationSchedule: str("Rotation schedule (cron)."),
    ttl: int64("Seconds until the next rotation when the credentials were read."),
  },
  "Rotation metadata of static credentials.",
  { tsName: "VaultStaticCredsMetaData" },
);

export const VaultDynamicSecret = defineKind({
  kind: "VaultDynamicSecret",
  description:
    "VaultDynamicSecret syncs credentials from any Vault secrets engine (database, aws, ssh, ...) into a Kubernetes Secret and renews their lease.",
  served: true,
  printerColumns: [COL_SYNCED, COL_HEALTHY, COL_READY, COL_AGE],
  spec: obj(
    {
      vaultAuthRef,
      namespace: vaultNamespace,
      mount: req(vaultPath("Secrets engine mount.", { minLength: 1 })),
      path: req(
        vaultPath("Path relative to the mount, e.g. creds/my-role or static-creds/my-role.", {
          minLength: 1,
        }),
      ),
      requestHTTPMethod: enumOf(
        ["GET", "POST", "PUT"],
        "HTTP method of the request; GET, or PUT when params are set. POST is sent as PUT.",
      ),
      params: map(str(), "Request body parameters; they force a write (PUT) request."),
      renewalPercent: int("Renew at this percentage of the lease TTL (plus up to 10 % jitter).", {
        minimum: 0,
        maximum: 90,
        default: 67,
      }),
      revoke: bool("Revoke the lease when the resource is deleted.", { default: false }),
      allowStaticCreds: bool(
        "The path returns rotated static credentials (database or LDAP static roles); follow their rotation instead of a lease.",
        { default: false },
      ),
      rolloutRestartTargets,
      destination,
      refreshAfter: duration("Refresh interval used when the response has no lease TTL."),
    },
    "VaultDynamicSecretSpec selects the credentials and their destination.",
  ),
  status: obj(
    {
      lastRenewalTime: req(int64("Unix time of the last sync or renewal.")),
      lastGeneration: req(lastGeneration),
      secretLease: req(VaultSecretLease),
      staticCredsMetaData: VaultStaticCredsMetaData,
      lastRuntimePodUID: str("UID of the operator pod that last synced or renewed."),
      secretMAC: str("Base64 HMAC-SHA256 of the last written data (static credentials only)."),
      vaultClientMeta: VaultClientMeta,
      pendingRevocations,
      issueHold,
      conditions,
    },
    "VaultDynamicSecretStatus is the observed state of the credentials.",
  ),
});

export const VaultPKISecret = defineKind({
  kind: "VaultPKISecret",
  description:
    "VaultPKISecret issues a certificate from a Vault PKI secrets engine into a Kubernetes Secret.",
  served: true,
  printerColumns: [COL_SYNCED, COL_HEALTHY, COL_READY, COL_AGE],
  spec: obj(
    {
      vaultAuthRef,
      namespace: vaultNamespace,
      mount: req(vaultPath("PKI secrets engine mount.", { minLength: 1 })),
      role: req(vaultPathSegment("PKI role to issue with.", { minLength: 1 })),
      issuerRef: vaultPathSegment("Issuer to issue with; the mount's default issuer when empty."),
      revoke: bool("Revoke the previous certificate on renewal, and the current one on deletion.", {
        default: false,
      }),
      clear: bool("On deletion, blank the Secret's data (only with create: false).", { default: false }),
      expiryOffset: duration("Renew this long before the certificate expires, e.g. 1h."),
      rolloutRestartTargets,
      destination,
      commonName: str("Requested common name (common_name)."),
      altNames: arr(str(), "Subject alternative DNS names (alt_names)."),
      ipSans: arr(str(), "IP subject alternative names (ip_sans)."),
      uriSans: arr(str(), "URI subject alternative names (uri_sans)."),
      otherSans: arr(str(), "Other SANs in the form oid;type:value (other_sans)."),
      userIDs: arr(str(), "User IDs (user_ids)."),
      ttl: str("Requested TTL, e.g. 24h or 30d; the role's default when unset.", { pattern: DUR_WITH_DAYS }),
      format: enumOf(["pem", "der", "pem_bundle"], "Certificate format; pem when unset."),
      privateKeyFormat: enumOf(["der", "pkcs8"], "Private key format; der when unset."),
      notAfter: str("Explicit expiry in UTC, YYYY-MM-DDTHH:MM:SSZ.", {
        pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$",
      }),
      excludeCNFromSans: bool("Do not add the common name to the SANs.", { default: false }),
    },
    "VaultPKISecretSpec describes the certificate and its destination.",
  ),
  status: obj(
    {
      serialNumber: str("Serial number of the current certificate."),
      expiration: int64("Unix time the current certificate expires."),
      lastGeneration: req(lastGeneration),
      lastRotation: req(int64("Unix time of the last issue.")),
      secretMAC,
      valid: req(bool("Whether the last sync succeeded.")),
      error: req(str("Last error.")),
      // Ours (VSO's PKI status has none): the client that issued the certificate, so that a deletion
      // whose VaultAuth is gone already can still revoke it with that client's token.
      vaultClientMeta: VaultClientMeta,
      pendingRevocations,
      issueHold,
      conditions,
    },
    "VaultPKISecretStatus is the observed state of the certificate.",
  ),
});
