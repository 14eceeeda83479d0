// What every reconciler gets: clients, caches, configuration, event recorders,
// metrics; plus helpers for status writes and finalizers.
import type { Logger } from "pino";
import type { VaultAuth, VaultAuthGlobal, VaultConnection } from "../api/index.ts";
import { isNotFound, type KubeClient, type KubeObject, type ResourceType } from "../kube/client.ts";
import { EventRecorder } from "../runtime/events.ts";
import { mergePatch } from "../runtime/merge-patch.ts";
import type { MultiInformer } from "../runtime/multi-informer.ts";
import type { VaultClientFactory } from "../vault/client-factory.ts";
import type { BackoffRegistry } from "./backoff.ts";
import type { OperatorConfig } from "./config.ts";
import type { OperatorMetrics } from "./metrics.ts";
import type { ObjectLookup } from "./refs.ts";

export interface Informers {
  connections: MultiInformer<VaultConnection>;
  auths: MultiInformer<VaultAuth>;
  authGlobals: MultiInformer<VaultAuthGlobal>;
  /** Destination Secrets, metadata only, selected by the owner labels. */
  ownedSecrets: MultiInformer<KubeObject>;
  staticSecrets: MultiInformer<KubeObject>;
  dynamicSecrets: MultiInformer<KubeObject>;
  pkiSecrets: MultiInformer<KubeObject>;
  secretTransformations: MultiInformer<KubeObject>;
  /** Kinds whose CRDs install but that this build does not act on. */
  unserved: Record<string, MultiInformer<KubeObject>>;
}

export interface OperatorContext {
  cfg: OperatorConfig;
  kube: KubeClient;
  log: Logger;
  metrics: OperatorMetrics;
  clients: VaultClientFactory;
  hmacKey: Buffer;
  informers: Informers;
  lookup: ObjectLookup;
  backoff: BackoffRegistry;
  recorder(component: string): EventRecorder;
}

export function makeRecorders(kube: KubeClient, log: Logger): (component: string) => EventRecorder {
  const recorders = new Map<string, EventRecorder>();
  return (component) => {
    let r = recorders.get(component);
    if (!r) {
      r = new EventRecorder(kube, component, log);
      recorders.set(component, r);
    }
    return r;
  };
}

/**
 * Writes status through the status subresource as a computed patch (Flux's
 * runtime/patch manner): the JSON merge patch from `obj.status`, the status
 * as read (or as we last wrote it), to `status`, the status computed. Changed
 * and added fields are set, fields the computation dropped are deleted (null),
 * arrays such as conditions are replaced whole, and nothing is sent when
 * nothing changed. Returns the resourceVersion the write produced, or
 * undefined when nothing was written (no change, or the object is gone).
 * `obj` (often a cached object) is left as it is.
 */
export async function updateStatus(
  kube: KubeClient,
  rt: ResourceType,
  obj: KubeObject & { status?: unknown },
  status: unknown,
): Promise<string | undefined> {
  const patch = statusPatch(obj.status, status);
  if (patch === undefined) return undefined;
  try {
    const written = await kube.patch(rt, obj.metadata.namespace, obj.metadata.name ?? "", patch, "merge", {
      subresource: "status",
    });
    return written.metadata.resourceVersion ?? "";
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** The body of a status write from `before` to `after` (a merge patch), or undefined when nothing changed. */
export function statusPatch(before: unknown, after: unknown): { status: unknown } | undefined {
  const d = mergePatch(before ?? {}, after ?? {});
  return d === undefined ? undefined : { status: d };
}

/**
 * Adds a finalizer and returns the object's finalizers as written (`obj` is
 * left as it is). The patch tests the finalizer list it read rather than the
 * resourceVersion, so a status write in between does not make it fail, while a
 * concurrent change of the finalizers does (and the next reconcile retries).
 */
export async function ensureFinalizer(
  kube: KubeClient,
  rt: ResourceType,
  obj: KubeObject,
  finalizer: string,
): Promise<string[]> {
  const list = obj.metadata.finalizers ?? [];
  if (list.includes(finalizer)) return list;
  const ops =
    list.length === 0
      ? [{ op: "add", path: "/metadata/finalizers", value: [finalizer] }]
      : [
          { op: "test", path: "/metadata/finalizers", value: list },
          { op: "add", path: "/metadata/finalizers/-", value: finalizer },
        ];
  const updated = await kube.patch(rt, obj.metadata.namespace, obj.metadata.name ?? "", ops, "json");
  return updated.metadata.finalizers ?? [];
}

export async function removeFinalizer(
  kube: KubeClient,
  rt: ResourceType,
  obj: KubeObject,
  finalizer: string,
): Promise<void> {
  const list = obj.metadata.finalizers ?? [];
  const i = list.indexOf(finalizer);
  if (i < 0) return;
  try {
    await kube.patch(
      rt,
      obj.metadata.namespace,
      obj.metadata.name ?? "",
      [
        { op: "test", path: `/metadata/finalizers/${i}`, value: finalizer },
        { op: "remove", path: `/metadata/finalizers/${i}` },
      ],
      "json",
    );
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The last status each controller wrote, per object, kept until the informer
 * has caught up with that write. The cache can lag behind our own writes;
 * reconciling from a stale status would redo work already done (a second
 * lease, a second rollout restart). While this process runs it is the only
 * writer of these statuses, so its own last write is the freshest view until
 * the cached object carries that write's resourceVersion (or a later one);
 * then the entry is dropped, so a settled resource costs nothing here.
 */
export class StatusMemory<S> {
  private readonly mem = new Map<string, { uid: string; resourceVersion: string; status: S }>();

  remember(key: string, uid: string | undefined, resourceVersion: string, status: S): void {
    this.mem.set(key, { uid: uid ?? "", resourceVersion, status: structuredClone(status) });
  }

  /** The status to reconcile from: ours while the cached object has not caught up with it. */
  freshest(key: string, cached: KubeObject & { status?: S }): S | undefined {
    this.settle(key, cached);
    const m = this.mem.get(key);
    return m ? structuredClone(m.status) : cached.status;
  }

  /** Lets go of our write once `cached` (the informer's copy, e.g. from a watch event) includes it. */
  settle(key: string, cached: KubeObject): void {
    const m = this.mem.get(key);
    if (!m) return;
    const caughtUp = includesWrite(cached.metadata.resourceVersion, m.resourceVersion);
    if (caughtUp || m.uid !== (cached.metadata.uid ?? "")) this.mem.delete(key);
  }

  forget(key: string): void {
    this.mem.delete(key);
  }
}

/**
 * Whether an object at resourceVersion `seen` includes the write that produced
 * `written`. The API server's resourceVersions are etcd revisions, decimal
 * integers that only grow; anything else is only trusted when equal.
 */
function includesWrite(seen: string | undefined, written: string): boolean {
  if (seen === undefined) return false;
  if (seen === written) return true;
  if (!/^\d{1,30}$/.test(seen) || !/^\d{1,30}$/.test(written)) return false;
  return BigInt(seen) >= BigInt(written);
}
