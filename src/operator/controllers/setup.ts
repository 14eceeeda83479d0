// How a controller joins the manager, in the manner of controller-runtime's
// SetupWithManager: each kind's module declares, next to its reconciler, the
// controller it needs, the informer events that enqueue its own objects, and
// the events of other kinds that re-queue them. The manager only creates the
// informers, calls each setup, and starts and stops what was registered.
import type { Destination } from "../../api/index.ts";
import type { KubeObject } from "../../kube/client.ts";
import type { Controller, Reconciler } from "../../runtime/controller.ts";
import type { MultiInformer } from "../../runtime/multi-informer.ts";
import type { OperatorContext } from "../context.ts";

export interface Manager {
  readonly ctx: OperatorContext;
  /** Registers a controller (started once the manager leads, stopped with it). */
  addController(name: string, reconcile: Reconciler, opts?: { workers?: number }): Controller;
}

/** A controller's setup: what `manager.ts` calls once per kind. */
export type Setup = (mgr: Manager) => void;

export function keyOf(o: KubeObject): string {
  return `${o.metadata.namespace}/${o.metadata.name}`;
}

/**
 * A change a reconciler acts on: the spec (generation), deletion, or a
 * finalizer removed by someone else. A finalizer added is not: it is the first
 * reconcile's own write, and acting on it reconciled every resource twice at
 * start (one more Vault read each).
 */
export function generationChanged(a: KubeObject, b: KubeObject): boolean {
  return (
    a.metadata.generation !== b.metadata.generation ||
    a.metadata.deletionTimestamp !== b.metadata.deletionTimestamp ||
    (b.metadata.finalizers ?? []).length < (a.metadata.finalizers ?? []).length
  );
}

function labelsOrAnnotationsChanged(a: KubeObject, b: KubeObject): boolean {
  return (
    JSON.stringify(a.metadata.labels ?? {}) !== JSON.stringify(b.metadata.labels ?? {}) ||
    JSON.stringify(a.metadata.annotations ?? {}) !== JSON.stringify(b.metadata.annotations ?? {})
  );
}

/**
 * Enqueues a kind's own objects: on add and delete, and on an update that
 * changes what the reconciler acts on (with `labelsToo`, labels and
 * annotations as well: the secret kinds force a new sync on those).
 */
export function watchOwnKind(
  informer: MultiInformer<KubeObject>,
  c: Controller,
  opts: { labelsToo?: boolean } = {},
): void {
  informer.on({
    add: (o) => c.enqueue(keyOf(o)),
    update: (a, b) => {
      if (generationChanged(a, b) || (opts.labelsToo && labelsOrAnnotationsChanged(a, b)))
        c.enqueue(keyOf(b));
    },
    delete: (o) => c.enqueue(keyOf(o)),
  });
}

/** A secret kind's resource as its cross-kind watches see it. */
type SecretResource = KubeObject & {
  spec?: { destination?: Destination };
  status?: { conditions?: { type: string; status: string }[] };
};

/**
 * The watches every secret kind (VaultStaticSecret, VaultDynamicSecret,
 * VaultPKISecret) declares besides its own objects:
 * - a SecretTransformation that changes re-syncs the resources using it;
 * - a VaultConnection, VaultAuth or VaultAuthGlobal that appears or changes
 *   re-queues the resources still failing, so manifests applied in any order
 *   converge without waiting for a backoff;
 * - an owned Secret edited or deleted out of band re-queues its owner at once
 *   (`ownerOf` says which, and ignores our own writes).
 * A changed reference also starts the resource's configuration recheck over
 * (backoff.ts: a failure after it is rechecked soon again, not minutes later).
 */
export function watchSecretKindDependencies(
  ctx: OperatorContext,
  informer: MultiInformer<KubeObject>,
  c: Controller,
  ownerOf: (secret: KubeObject, deleted: boolean) => string | undefined,
): void {
  const { informers, backoff } = ctx;
  const referenceChanged = (key: string, delayMs = 0) => {
    backoff.clearConfig(c.name, key);
    if (delayMs > 0) c.enqueueAfter(key, delayMs, "high");
    else c.enqueue(key);
  };
  const requeueUsers = (st: KubeObject) => {
    for (const o of informer.list() as SecretResource[]) {
      const refs = o.spec?.destination?.transformation?.transformationRefs ?? [];
      const uses = refs.some(
        (r) => r.name === st.metadata.name && (r.namespace || o.metadata.namespace) === st.metadata.namespace,
      );
      if (uses) referenceChanged(keyOf(o), Math.random() * 1000);
    }
  };
  informers.secretTransformations.on({
    add: requeueUsers,
    update: (_a, b) => requeueUsers(b),
    delete: requeueUsers,
  });

  const requeueFailing = () => {
    for (const o of informer.list() as SecretResource[]) {
      const synced = o.status?.conditions?.find((x) => x.type === "SecretSynced");
      if (synced?.status !== "True") referenceChanged(keyOf(o));
    }
  };
  for (const inf of [
    informers.connections,
    informers.auths,
    informers.authGlobals,
  ] as unknown as MultiInformer<KubeObject>[]) {
    inf.on({ add: requeueFailing, update: (a, b) => generationChanged(a, b) && requeueFailing() });
  }

  const onOwned = (secret: KubeObject, deleted: boolean) => {
    const key = ownerOf(secret, deleted);
    if (key) c.enqueue(key, "high");
  };
  informers.ownedSecrets.on({
    update: (_a, b) => onOwned(b, false),
    delete: (o) => onOwned(o, true),
  });
}

/** What a secret kind's reconciler offers its setup. */
export interface SecretKindReconciler {
  reconcile: Reconciler;
  /** The key of the resource an owned-Secret event concerns, unless it is none of ours or our own write. */
  ownerOfSecretEvent(secret: KubeObject, deleted: boolean): string | undefined;
  /** The informer's copy of one of its resources changed (the reconciler may drop what it kept ahead of the cache). */
  observed(obj: KubeObject): void;
}

/** The controller of a secret kind with its watches: its own objects (labels too) and its dependencies. */
export function setupSecretKind(
  mgr: Manager,
  name: string,
  informer: MultiInformer<KubeObject>,
  rec: SecretKindReconciler,
  opts: { workers?: number } = {},
): Controller {
  const c = mgr.addController(name, (key, rc) => rec.reconcile(key, rc), opts);
  watchOwnKind(informer, c, { labelsToo: true });
  informer.on({ update: (_a, b) => rec.observed(b) });
  watchSecretKindDependencies(mgr.ctx, informer, c, (s, deleted) => rec.ownerOfSecretEvent(s, deleted));
  return c;
}
