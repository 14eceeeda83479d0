// Writing the destination Secret: ownership (owner labels plus one
// ownerReference, as VSO sets them), create/overwrite rules, type changes
// (delete and recreate, since type is immutable; only for a Secret this
// resource created, never one taken over with overwrite), `create: false` (replace the
// data of an existing Secret and nothing else) and pruning of Secrets left
// behind when destination.name changes.
import type { Destination } from "../api/index.ts";
import { OwnerLabel, OwnerLabelValue, ownerLabels } from "../api/index.ts";
import {
  CORE,
  isNotFound,
  KubeApiError,
  type KubeClient,
  type KubeObject,
  type OwnerReference,
} from "../kube/client.ts";
import { toSecretData } from "./secret-data.ts";

export class DestinationError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.name = "DestinationError";
    this.field = field;
  }
}

export interface SecretObject extends KubeObject {
  type?: string;
  data?: Record<string, string>;
  immutable?: boolean;
}

export interface Owner {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid: string;
}

export function ownerReference(owner: Owner): OwnerReference {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, uid: owner.uid };
}

function sameOwnerRefs(refs: OwnerReference[] | undefined, want: OwnerReference): boolean {
  return (
    refs?.length === 1 &&
    refs[0].uid === want.uid &&
    refs[0].kind === want.kind &&
    refs[0].name === want.name &&
    refs[0].apiVersion === want.apiVersion
  );
}

export function hasOwnerLabels(s: KubeObject, uid?: string): boolean {
  const l = s.metadata.labels ?? {};
  return (
    l[OwnerLabel.ManagedBy] === OwnerLabelValue.ManagedBy &&
    l[OwnerLabel.OwnerRefUID] !== undefined &&
    (uid === undefined || l[OwnerLabel.OwnerRefUID] === uid)
  );
}

export function isOwnedBy(s: KubeObject, owner: Owner): boolean {
  return hasOwnerLabels(s, owner.uid) && sameOwnerRefs(s.metadata.ownerReferences, ownerReference(owner));
}

export interface WriteResult {
  secret: SecretObject;
  action: "created" | "updated" | "recreated";
}

function desiredObject(
  owner: Owner,
  dest: Destination,
  data: Record<string, Buffer>,
  base?: SecretObject,
): SecretObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      ...(base?.metadata ?? {}),
      name: dest.name,
      namespace: owner.namespace,
      labels: { ...(dest.labels ?? {}), ...ownerLabels(owner.uid) },
      annotations: dest.annotations ? { ...dest.annotations } : undefined,
      ownerReferences: [ownerReference(owner)],
    },
    type: dest.type || "Opaque",
    data: toSecretData(data),
  };
}

/** Throws unless this owner may write over `existing` (it owns it, or it is unowned and overwrite is set). */
function assertMayOverwrite(owner: Owner, dest: Destination, existing: SecretObject): void {
  if (isOwnedBy(existing, owner)) return;
  const where = `${owner.namespace}/${dest.name}`;
  if (hasOwnerLabels(existing)) {
    throw new DestinationError(
      "spec.destination.overwrite",
      `destination Secret ${where} is owned by another resource (uid ${existing.metadata.labels?.[OwnerLabel.OwnerRefUID]})`,
    );
  }
  if (!dest.overwrite) {
    throw new DestinationError(
      "spec.destination.overwrite",
      `destination Secret ${where} exists and is not owned by this resource; set spec.destination.overwrite: true to take it over`,
    );
  }
}

/**
 * A Secret whose type differs from spec.destination.type, or that is
 * immutable, can only be replaced by deleting it. That is done only for a
 * Secret this resource created; one it was told to overwrite (a ServiceAccount
 * token, a Helm release, anybody's data) is never deleted (issue 18): the
 * update is refused instead, as the API server refuses VSO's.
 */
function assertMayRecreate(owner: Owner, dest: Destination, existing: SecretObject): void {
  const sameType = (existing.type || "Opaque") === (dest.type || "Opaque");
  if ((sameType && !existing.immutable) || isOwnedBy(existing, owner)) return;
  const why = existing.immutable
    ? "is immutable"
    : `is of type ${existing.type || "Opaque"}, not ${dest.type || "Opaque"}`;
  throw new DestinationError(
    "spec.destination",
    `destination Secret ${owner.namespace}/${dest.name} ${why}, so it could only be replaced by deleting it, ` +
      "and a Secret taken over with spec.destination.overwrite is never deleted; " +
      "choose another spec.destination.name or a matching spec.destination.type",
  );
}

/**
 * Checks, without writing anything, that writeDestination would succeed for
 * data of the given keys: the ownership and create/overwrite rules here, and
 * the name, labels, annotations and type through a server-side dry run, so a
 * destination the API server refuses is known before Vault issues anything.
 * Data the dry run cannot judge (its real size) is checked on the real write.
 * `shapeAccepted`: the caller knows the API server took this very shape before
 * (it wrote it for the same spec), so the dry run is skipped.
 */
export async function checkDestinationWritable(
  kube: KubeClient,
  owner: Owner,
  dest: Destination,
  existing: SecretObject | null,
  shapeAccepted = false,
): Promise<void> {
  if (!dest.create) {
    if (!existing) {
      throw new DestinationError(
        "spec.destination.create",
        `destination Secret ${owner.namespace}/${dest.name} does not exist and spec.destination.create is false`,
      );
    }
    return;
  }
  if (existing) {
    assertMayOverwrite(owner, dest, existing);
    assertMayRecreate(owner, dest, existing);
  }
  if (shapeAccepted) return;
  const replace = existing && (existing.type || "Opaque") === (dest.type || "Opaque") && !existing.immutable;
  const desired = desiredObject(owner, dest, {}, replace ? existing : undefined);
  if (replace) desired.metadata.resourceVersion = existing.metadata.resourceVersion;
  // A kubernetes.io/tls Secret requires its two keys to be present.
  if (desired.type === "kubernetes.io/tls") desired.data = { "tls.crt": "", "tls.key": "" };
  try {
    if (replace) {
      await kube.raw("PUT", `${kube.path(CORE.secrets, owner.namespace, dest.name)}?dryRun=All`, desired);
    } else {
      // An existing Secret of another type is deleted and recreated: its name is
      // known to be valid, and the rest is tried under a generated one.
      const body = existing
        ? { ...desired, metadata: { ...desired.metadata, name: undefined, generateName: "vso-dry-run-" } }
        : desired;
      await kube.raw("POST", `${kube.path(CORE.secrets, owner.namespace)}?dryRun=All`, body);
    }
  } catch (err) {
    throw refusedAsDestinationError(err);
  }
}

/**
 * The API server refusing the Secret (name, labels, annotations, type, data)
 * is a configuration error of spec.destination; anything else is passed on.
 */
function refusedAsDestinationError(err: unknown): unknown {
  if (err instanceof KubeApiError && (err.status === 422 || err.status === 400)) {
    return new DestinationError(
      "spec.destination",
      `the API server refuses the destination Secret: ${err.message}`,
    );
  }
  return err;
}

/** Creates or replaces the Secret; a refusal names spec.destination. */
async function submit(
  kube: KubeClient,
  ns: string,
  name: string,
  desired: SecretObject,
  replace: boolean,
): Promise<SecretObject> {
  try {
    return replace
      ? await kube.replace<SecretObject>(CORE.secrets, ns, name, desired)
      : await kube.create<SecretObject>(CORE.secrets, ns, desired);
  } catch (err) {
    throw refusedAsDestinationError(err);
  }
}

/**
 * Writes `data` to the destination. `existing` is the live Secret (or null).
 * Throws DestinationError for ownership and configuration problems.
 */
export async function writeDestination(
  kube: KubeClient,
  owner: Owner,
  dest: Destination,
  data: Record<string, Buffer>,
  existing: SecretObject | null,
): Promise<WriteResult> {
  const ns = owner.namespace;
  if (!dest.create) {
    if (!existing) {
      throw new DestinationError(
        "spec.destination.create",
        `destination Secret ${ns}/${dest.name} does not exist and spec.destination.create is false`,
      );
    }
    // Replace .data only; labels, annotations, type and owners stay as the Secret's owner set them.
    const secret = await kube.patch<SecretObject>(
      CORE.secrets,
      ns,
      dest.name,
      [
        { op: "test", path: "/metadata/resourceVersion", value: existing.metadata.resourceVersion },
        { op: "add", path: "/data", value: toSecretData(data) },
      ],
      "json",
    );
    return { secret, action: "updated" };
  }
  if (!existing) {
    const secret = await submit(kube, ns, dest.name, desiredObject(owner, dest, data), false);
    return { secret, action: "created" };
  }
  assertMayOverwrite(owner, dest, existing);
  assertMayRecreate(owner, dest, existing);
  if ((existing.type || "Opaque") !== (dest.type || "Opaque") || existing.immutable) {
    await kube.delete(CORE.secrets, ns, dest.name, { uid: existing.metadata.uid });
    const secret = await submit(kube, ns, dest.name, desiredObject(owner, dest, data), false);
    return { secret, action: "recreated" };
  }
  const desired = desiredObject(owner, dest, data, existing);
  desired.metadata.resourceVersion = existing.metadata.resourceVersion;
  const secret = await submit(kube, ns, dest.name, desired, true);
  return { secret, action: "updated" };
}

/** Deletes other Secrets in the namespace that this owner created (after a rename of destination.name). */
export async function pruneOrphans(
  kube: KubeClient,
  owner: Owner,
  keepName: string,
  candidates: KubeObject[],
): Promise<string[]> {
  const pruned: string[] = [];
  for (const s of candidates) {
    if (s.metadata.name === keepName || s.metadata.namespace !== owner.namespace) continue;
    if (!hasOwnerLabels(s, owner.uid)) continue;
    if (!(s.metadata.ownerReferences ?? []).some((r) => r.uid === owner.uid)) continue;
    try {
      await kube.delete(CORE.secrets, owner.namespace, s.metadata.name ?? "", { uid: s.metadata.uid });
      pruned.push(s.metadata.name ?? "");
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return pruned;
}
