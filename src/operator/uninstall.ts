// `vso run --uninstall`, run by the Helm chart's pre-delete hook: leave no
// finalizer of the operator behind, so that once the operator is gone nothing
// blocks the deletion of a secrets.hashicorp.com resource (or of its namespace).
//
// A running operator puts a finalizer back on its next reconcile, and removing
// one is itself an update that triggers a reconcile. So the operator is stopped
// first: its Deployment is scaled to zero, its Pods are waited out, and the
// leader Lease must be released or expired (which also catches an operator
// started some other way, e.g. run by hand without OPERATOR_DEPLOYMENT_NAME).
// Then the finalizers are removed from every resource of every kind that
// carries one, in every namespace the operator watches: all of them unless
// --watch-namespaces limits it (VSO clears only the operator namespace, which
// leaves resources elsewhere undeletable; see vso-compat.md §5.8). The
// resources and their Secrets stay; nothing is revoked in Vault. A second run
// finds nothing to do.
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { Finalizer } from "../api/index.ts";
import { CORE, isConflict, isNotFound, type KubeClient, type KubeObject } from "../kube/client.ts";
import { VSO } from "./resources.ts";

/** Every finalizer name the operator (or VSO before it) puts on a resource. */
const OUR_FINALIZERS: ReadonlySet<string> = new Set(Object.values(Finalizer));

/** The kinds that carry one of those finalizers. */
const KINDS_WITH_FINALIZERS = Object.keys(Finalizer) as (keyof typeof Finalizer)[];

export interface UninstallOptions {
  /** Namespace of the operator Deployment. */
  operatorNamespace: string;
  /** The operator Deployment to stop first; none when the operator runs elsewhere (or not at all). */
  deployment?: string;
  /** The namespaces the operator watches; empty means all. */
  namespaces: string[];
  /** Name of the leader-election Lease in the operator namespace. */
  leaderLease: string;
  /** Give up (and fail) at this time, epoch milliseconds. */
  deadline: number;
  log: Logger;
}

export async function uninstall(kube: KubeClient, opts: UninstallOptions): Promise<void> {
  const scaledDown = opts.deployment ? await stopOperator(kube, opts, opts.deployment) : false;
  await waitForLeaderGone(kube, opts);
  let cleared = 0;
  for (const kind of KINDS_WITH_FINALIZERS) {
    for (const obj of await listAll(kube, kind, opts.namespaces)) {
      if (!(obj.metadata.finalizers ?? []).some((f) => OUR_FINALIZERS.has(f))) continue;
      if (await clearFinalizers(kube, kind, obj, opts.deadline)) {
        opts.log.info(
          { resource: `${kind} ${obj.metadata.namespace}/${obj.metadata.name}` },
          "finalizer removed",
        );
        cleared++;
      }
    }
  }
  opts.log.info({ cleared, scaledDown }, "operator finalizers removed");
}

/** Scales the Deployment to zero and waits until none of its Pods exists. */
async function stopOperator(kube: KubeClient, opts: UninstallOptions, name: string): Promise<boolean> {
  const deployment = await kube.getOrNull<
    KubeObject & { spec?: { replicas?: number; selector?: { matchLabels?: Record<string, string> } } }
  >(CORE.deployments, opts.operatorNamespace, name);
  if (!deployment) {
    opts.log.info({ deployment: name }, "operator Deployment not found; nothing to stop");
    return false;
  }
  const scaledDown = deployment.spec?.replicas !== 0;
  if (scaledDown) {
    await kube.patch(CORE.deployments, opts.operatorNamespace, name, { spec: { replicas: 0 } }, "merge");
    opts.log.info({ deployment: name }, "operator Deployment scaled to zero");
  }
  const labels = deployment.spec?.selector?.matchLabels ?? {};
  const selector = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  if (!selector) throw new Error(`Deployment ${name} has no matchLabels selector; cannot tell its Pods`);
  for (;;) {
    const pods = await kube.list(CORE.pods, opts.operatorNamespace, { labelSelector: selector });
    if (pods.items.length === 0) return scaledDown;
    if (Date.now() > opts.deadline) {
      throw new Error(
        `operator Pods still running at the deadline: ${pods.items.map((p) => p.metadata.name).join(", ")}`,
      );
    }
    await sleep(500);
  }
}

interface Lease extends KubeObject {
  spec?: { holderIdentity?: string; renewTime?: string; leaseDurationSeconds?: number };
}

/** Waits until no operator leads: the leader Lease is absent, released (no holder) or expired. */
async function waitForLeaderGone(kube: KubeClient, opts: UninstallOptions): Promise<void> {
  for (;;) {
    const lease = await kube.getOrNull<Lease>(CORE.leases, opts.operatorNamespace, opts.leaderLease);
    const holder = lease?.spec?.holderIdentity;
    const renewed = Date.parse(lease?.spec?.renewTime ?? "");
    const expires = renewed + (lease?.spec?.leaseDurationSeconds ?? 15) * 1000;
    if (!holder || Number.isNaN(renewed) || Date.now() > expires) return;
    if (Date.now() > opts.deadline) {
      throw new Error(
        `an operator (${holder}) still holds the leader Lease ${opts.operatorNamespace}/${opts.leaderLease} ` +
          "and would put the finalizers back: stop it first (scale its Deployment to zero, or name the " +
          "Deployment in OPERATOR_DEPLOYMENT_NAME)",
      );
    }
    await sleep(500);
  }
}

async function listAll(
  kube: KubeClient,
  kind: keyof typeof VSO,
  namespaces: string[],
): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  for (const ns of namespaces.length > 0 ? namespaces : [undefined]) {
    let cont: string | undefined;
    do {
      try {
        const page = await kube.list(VSO[kind], ns, { limit: 500, continue: cont });
        out.push(...page.items);
        cont = page.metadata.continue || undefined;
      } catch (err) {
        // A kind whose CRD is not installed has nothing to clean.
        if (isNotFound(err)) return out;
        throw err;
      }
    } while (cont);
  }
  return out;
}

/**
 * Removes our finalizers and keeps any other. The patch carries the
 * resourceVersion it was computed from, so a concurrent change fails with a
 * conflict and is retried on a fresh read rather than overwritten.
 */
async function clearFinalizers(
  kube: KubeClient,
  kind: keyof typeof VSO,
  initial: KubeObject,
  deadline: number,
): Promise<boolean> {
  let obj: KubeObject | null = initial;
  for (;;) {
    const current: string[] = obj.metadata.finalizers ?? [];
    const kept = current.filter((f) => !OUR_FINALIZERS.has(f));
    if (kept.length === current.length) return false;
    try {
      await kube.patch(
        VSO[kind],
        obj.metadata.namespace,
        obj.metadata.name ?? "",
        { metadata: { finalizers: kept, resourceVersion: obj.metadata.resourceVersion } },
        "merge",
      );
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      if (!isConflict(err) || Date.now() > deadline) throw err;
    }
    obj = await kube.getOrNull(VSO[kind], obj.metadata.namespace, obj.metadata.name ?? "");
    if (!obj) return false;
  }
}
