// What every reconciler gets: clients, caches, configuration, event recorders,
// metrics; plus helpers for status writes and finalizers.
import { isDeepStrictEqual } from "node:util";
import type { Logger } from "pino";
import type { VaultAuth, VaultAuthGlobal, VaultConnection } from "../api/index.ts";
import { isNotFound, type KubeClient, type KubeObject, type ResourceType } from "../kube/client.ts";
import { EventRecorder } from "../runtime/events.ts";
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

/** Writes status through the status subresource, only when it changed. */
export async function updateStatus(
  kube: KubeClient,
  rt: ResourceType,
  obj: KubeObject & { status?: unknown },
  status: unknown,
): Promise<boolean> {
  if (isDeepStrictEqual(obj.status, status)) return false;
  try {
    await kube.patch(rt, obj.metadata.namespace, obj.metadata.name ?? "", { status }, "merge", {
      subresource: "status",
    });
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
  obj.status = status;
  return true;
}

/**
 * Adds a finalizer. The patch tests the finalizer list it read rather than the
 * resourceVersion, so a status write in between does not make it fail, while a
 * concurrent change of the finalizers does (and the next reconcile retries).
 */
export async function ensureFinalizer(
  kube: KubeClient,
  rt: ResourceType,
  obj: KubeObject,
  finalizer: string,
): Promise<void> {
  const list = obj.metadata.finalizers ?? [];
  if (list.includes(finalizer)) return;
  const ops =
    list.length === 0
      ? [{ op: "add", path: "/metadata/finalizers", value: [finalizer] }]
      : [
          { op: "test", path: "/metadata/finalizers", value: list },
          { op: "add", path: "/metadata/finalizers/-", value: finalizer },
        ];
  const updated = await kube.patch(rt, obj.metadata.namespace, obj.metadata.name ?? "", ops, "json");
  obj.metadata.finalizers = updated.metadata.finalizers;
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
 * The last status each controller wrote, per object. The informer cache can
 * lag behind our own writes; reconciling from a stale status would redo work
 * already done (a second lease, a second rollout restart). While this process
 * runs it is the only writer of these statuses, so its own last write is the
 * freshest view; the cache is used after a restart or for a recreated object.
 */
export class StatusMemory<S> {
  private readonly mem = new Map<string, { uid: string; status: S }>();

  remember(key: string, uid: string | undefined, status: S): void {
    this.mem.set(key, { uid: uid ?? "", status: structuredClone(status) });
  }

  freshest(key: string, uid: string | undefined, cached: S | undefined): S | undefined {
    const m = this.mem.get(key);
    return m && m.uid === (uid ?? "") ? structuredClone(m.status) : cached;
  }

  forget(key: string): void {
    this.mem.delete(key);
  }
}
