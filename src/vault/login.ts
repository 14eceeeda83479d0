// Credential providers for the auth methods: where the login credentials come
// from (a service account token, a Secret, a file), the UID of the object that
// provides them (part of the client cache key), and the login request body.
// Providers are always resolved in the namespace of the consuming resource.
import { LRUCache } from "lru-cache";
import { CORE, type KubeClient, type KubeObject } from "../kube/client.ts";
import type { ResolvedAuth } from "./resolved-auth.ts";
import { NO_GUARDS, type TenantGuards, tenantTokenRequest } from "./tenant-guards.ts";

/** Why spec.appRole.secretIDPath is refused (the CRD's CEL rule says the same at apply time). */
export const SECRET_ID_PATH_REMOVED =
  "spec.appRole.secretIDPath is not supported (VSO removed it in 1.5.0: it made the operator send files of its own Pod to Vault); " +
  "put the secret_id in a Secret under key id and set spec.appRole.secretRef";

export class AuthConfigError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.name = "AuthConfigError";
    this.field = field;
  }
}

export interface CredentialProvider {
  /** UID of the ServiceAccount or Secret that supplies the credentials. */
  uid: string;
  /** The login request body; may mint a token, so it is called only on a cache miss. */
  loginBody(): Promise<Record<string, unknown>>;
}

interface SecretObj extends KubeObject {
  data?: Record<string, string>;
}

async function serviceAccountToken(
  kube: KubeClient,
  namespace: string,
  sa: string,
  audiences: string[] | undefined,
  expirationSeconds: number | undefined,
  guards: TenantGuards,
): Promise<string> {
  const req = tenantTokenRequest(namespace, audiences, expirationSeconds, guards);
  const spec: Record<string, unknown> = { expirationSeconds: req.expirationSeconds };
  if (req.audiences) spec.audiences = req.audiences;
  const res = (await kube.raw("POST", kube.path(CORE.serviceaccounts, namespace, sa, "token"), {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    spec,
  })) as { status: { token: string } };
  return res.status.token;
}

/** The UID of a ServiceAccount (part of the client cache key); an AuthConfigError naming `field` when it is missing. */
export type ServiceAccountUid = (namespace: string, name: string, field: string) => Promise<string>;

/** Asks the API server every time (the doctor, which must see the live state). */
export function liveServiceAccountUid(kube: KubeClient): ServiceAccountUid {
  return async (namespace, name, field) => {
    const sa = await kube.getOrNull(CORE.serviceaccounts, namespace, name);
    if (!sa) throw new AuthConfigError(field, `ServiceAccount ${namespace}/${name} not found`);
    return sa.metadata.uid ?? "";
  };
}

/**
 * Remembers each UID for `ttlMs`. The operator needs it on every reconcile only
 * to find its cached Vault client; asking the API server each time was one GET
 * per resource per refresh, nearly all of the operator's steady API load. A
 * ServiceAccount deleted or recreated is noticed within `ttlMs` (a recreated one
 * then gets a client of its own), as a controller-runtime cache would a moment
 * after its watch event.
 */
export function cachedServiceAccountUid(kube: KubeClient, ttlMs = 60_000): ServiceAccountUid {
  const live = liveServiceAccountUid(kube);
  // Promises, so the reconciles that miss together (a cold start) share one GET.
  const uids = new LRUCache<string, Promise<string>>({ max: 10_000, ttl: ttlMs });
  return (namespace, name, field) => {
    const key = `${namespace}/${name}`;
    const hit = uids.get(key);
    if (hit !== undefined) return hit;
    const uid = live(namespace, name, field);
    uids.set(key, uid);
    // A failed read is not remembered: the next reconcile asks again.
    uid.catch(() => {
      if (uids.get(key) === uid) uids.delete(key);
    });
    return uid;
  };
}

async function getSecretKey(kube: KubeClient, namespace: string, name: string, key: string, field: string) {
  const s = await kube.getOrNull<SecretObj>(CORE.secrets, namespace, name);
  if (!s) throw new AuthConfigError(field, `Secret ${namespace}/${name} not found`);
  const v = s.data?.[key];
  if (!v) throw new AuthConfigError(field, `Secret ${namespace}/${name} has no key "${key}"`);
  return { uid: s.metadata.uid ?? "", value: Buffer.from(v, "base64").toString("utf8").trim() };
}

export async function credentialProvider(
  kube: KubeClient,
  resolved: ResolvedAuth,
  consumerNamespace: string,
  serviceAccountUid: ServiceAccountUid = liveServiceAccountUid(kube),
  guards: TenantGuards = NO_GUARDS,
): Promise<CredentialProvider> {
  const { spec } = resolved;
  switch (spec.method) {
    case "kubernetes": {
      const k = spec.kubernetes ?? {};
      if (!k.role) throw new AuthConfigError("spec.kubernetes.role", "spec.kubernetes.role is required");
      if (!k.serviceAccount) {
        throw new AuthConfigError(
          "spec.kubernetes.serviceAccount",
          "spec.kubernetes.serviceAccount is required",
        );
      }
      const uid = await serviceAccountUid(
        consumerNamespace,
        k.serviceAccount,
        "spec.kubernetes.serviceAccount",
      );
      return {
        uid,
        loginBody: async () => ({
          role: k.role,
          jwt: await serviceAccountToken(
            kube,
            consumerNamespace,
            k.serviceAccount!,
            k.audiences,
            k.tokenExpirationSeconds,
            guards,
          ),
        }),
      };
    }
    case "jwt": {
      const j = spec.jwt ?? {};
      if (!j.role) throw new AuthConfigError("spec.jwt.role", "spec.jwt.role is required");
      if (j.secretRef) {
        const { uid } = await getSecretKey(kube, consumerNamespace, j.secretRef, "jwt", "spec.jwt.secretRef");
        return {
          uid,
          loginBody: async () => ({
            role: j.role,
            jwt: (await getSecretKey(kube, consumerNamespace, j.secretRef!, "jwt", "spec.jwt.secretRef"))
              .value,
          }),
        };
      }
      if (j.serviceAccount) {
        const uid = await serviceAccountUid(consumerNamespace, j.serviceAccount, "spec.jwt.serviceAccount");
        return {
          uid,
          loginBody: async () => ({
            role: j.role,
            jwt: await serviceAccountToken(
              kube,
              consumerNamespace,
              j.serviceAccount!,
              j.audiences,
              j.tokenExpirationSeconds,
              guards,
            ),
          }),
        };
      }
      throw new AuthConfigError("spec.jwt", "spec.jwt needs secretRef or serviceAccount");
    }
    case "appRole": {
      const a = spec.appRole ?? {};
      if (!a.roleId) throw new AuthConfigError("spec.appRole.roleId", "spec.appRole.roleId is required");
      if (a.secretIDPath) {
        // Removed in VSO 1.5.0, and refused here: the operator would read any file of its
        // own Pod (its ServiceAccount token included) and send it to the VaultConnection's
        // address, which a namespace tenant chooses (issue 22).
        throw new AuthConfigError("spec.appRole.secretIDPath", SECRET_ID_PATH_REMOVED);
      }
      if (a.secretRef) {
        const { uid } = await getSecretKey(
          kube,
          consumerNamespace,
          a.secretRef,
          "id",
          "spec.appRole.secretRef",
        );
        return {
          uid,
          loginBody: async () => ({
            role_id: a.roleId,
            secret_id: (
              await getSecretKey(kube, consumerNamespace, a.secretRef!, "id", "spec.appRole.secretRef")
            ).value,
          }),
        };
      }
      throw new AuthConfigError("spec.appRole.secretRef", "spec.appRole needs secretRef");
    }
    default:
      throw new AuthConfigError(
        "spec.method",
        `auth method "${spec.method}" is not supported by this build of vso-ts (supported: kubernetes, jwt, appRole)`,
      );
  }
}
