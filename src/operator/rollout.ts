// Rollout restarts of workloads that consume a synced Secret: Deployments,
// StatefulSets and DaemonSets get a pod-template annotation (strategic merge
// patch), Argo Rollouts get spec.restartAt. The stamp has millisecond
// resolution and always differs from the previous one, so two restarts within
// one second cannot collapse into one (VSO #1228).
import type { RolloutRestartTarget } from "../api/index.ts";
import { RESTARTED_AT_ANNOTATION } from "../api/index.ts";
import { CORE, type KubeClient, type KubeObject, type ResourceType } from "../kube/client.ts";

export const ARGO_ROLLOUTS: ResourceType = {
  group: "argoproj.io",
  version: "v1alpha1",
  plural: "rollouts",
  kind: "Rollout",
  namespaced: true,
};

const KINDS: Record<string, ResourceType> = {
  Deployment: CORE.deployments,
  StatefulSet: CORE.statefulsets,
  DaemonSet: CORE.daemonsets,
  "argo.Rollout": ARGO_ROLLOUTS,
};

interface Workload extends KubeObject {
  spec?: {
    paused?: boolean;
    restartAt?: string;
    template?: { metadata?: { annotations?: Record<string, string> } };
  };
}

/**
 * A restart stamp in VSO's format (RFC 3339 in whole seconds, UTC), strictly
 * later than `previous`: two restarts within one second still differ (a second
 * is added), so the second one is not lost (VSO #1228).
 */
export function restartStamp(previous: string | undefined, now = Date.now()): string {
  let t = Math.floor(now / 1000) * 1000;
  const prev = previous ? Date.parse(previous) : Number.NaN;
  if (!Number.isNaN(prev) && prev >= t) t = Math.floor(prev / 1000) * 1000 + 1000;
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export async function rolloutRestart(
  kube: KubeClient,
  namespace: string,
  target: RolloutRestartTarget,
): Promise<string> {
  const rt = KINDS[target.kind];
  if (!rt) throw new Error(`unsupported rolloutRestartTargets kind "${target.kind}"`);
  const w = await kube.get<Workload>(rt, namespace, target.name);
  if (target.kind === "argo.Rollout") {
    const stamp = restartStamp(w.spec?.restartAt);
    await kube.patch(rt, namespace, target.name, { spec: { restartAt: stamp } }, "merge");
    return stamp;
  }
  if (target.kind === "Deployment" && w.spec?.paused) {
    throw new Error(`Deployment ${namespace}/${target.name} is paused; it cannot be restarted`);
  }
  const stamp = restartStamp(w.spec?.template?.metadata?.annotations?.[RESTARTED_AT_ANNOTATION]);
  await kube.patch(
    rt,
    namespace,
    target.name,
    { spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: stamp } } } } },
    "strategic",
  );
  return stamp;
}
