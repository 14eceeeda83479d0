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

export async function ensureFinalizer(
  kube: KubeClient,
  rt: ResourceType,
  obj: KubeObject,
  finalizer: string,
): Promise<void> {
  const list = obj.metadata.finalizers ?? [];
  if (list.includes(finalizer)) return;
  await kube.patch(
    rt,
    obj.metadata.namespace,
    obj.metadata.name ?? "",
    [
      { op: "test", path: "/metadata/resourceVersion", value: obj.metadata.resourceVersion },
      list.length === 0
        ? { op: "add", path: "/metadata/finalizers", value: [finalizer] }
        : { op: "add", path: "/metadata/finalizers/-", value: finalizer },
    ],
    "json",
  );
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
