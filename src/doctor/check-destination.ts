// Step 8: the destination Secret (exists when it must, owned by this resource
// when the operator creates it, by the operator's own ownership rules) and the
// workloads the operator restarts when the data changes.
import { OwnerLabel } from "../api/index.ts";
import { CORE, type ResourceType } from "../kube/client.ts";
import { hasOwnerLabels, isOwnedBy, type Owner } from "../operator/destination.ts";
import { fail, pass, type Step, warn } from "./report.ts";
import type { Session } from "./session.ts";

const ROLLOUT: ResourceType = {
  group: "argoproj.io",
  version: "v1alpha1",
  plural: "rollouts",
  kind: "Rollout",
  namespaced: true,
};

const WORKLOADS: Record<string, ResourceType> = {
  Deployment: CORE.deployments,
  StatefulSet: CORE.statefulsets,
  DaemonSet: CORE.daemonsets,
  "argo.Rollout": ROLLOUT,
};

export async function checkDestination(s: Session): Promise<Step> {
  const title = "destination Secret";
  const obj = s.obj!;
  const dest = obj.spec.destination;
  const where = `Secret ${s.namespace}/${dest.name}`;
  const existing = await s.opts.kube.getOrNull(CORE.secrets, s.namespace, dest.name);
  const owner: Owner = {
    apiVersion: obj.apiVersion ?? "secrets.hashicorp.com/v1beta1",
    kind: s.kind,
    name: s.name,
    namespace: s.namespace,
    uid: obj.metadata.uid ?? "",
  };
  if (!dest.create) {
    return existing
      ? pass(
          "destination",
          title,
          `${where} exists (spec.destination.create is false: the operator replaces only its data)`,
        )
      : fail(
          "destination",
          title,
          `${where} does not exist and spec.destination.create is false`,
          `create the Secret (kubectl create secret generic ${dest.name} -n ${s.namespace}), or set spec.destination.create: true`,
        );
  }
  if (!existing) {
    return pass(
      "destination",
      title,
      `${where} does not exist yet; the operator creates it (spec.destination.create: true)`,
    );
  }
  if (isOwnedBy(existing, owner))
    return pass("destination", title, `${where} exists and is owned by this ${s.kind}`);
  if (hasOwnerLabels(existing)) {
    return fail(
      "destination",
      title,
      `${where} is owned by another resource (label ${OwnerLabel.OwnerRefUID}=${existing.metadata.labels?.[OwnerLabel.OwnerRefUID]})`,
      `two resources write the same Secret: give spec.destination.name of ${s.kind} ${s.namespace}/${s.name} another name, or delete the other resource`,
    );
  }
  if (dest.overwrite) {
    return pass(
      "destination",
      title,
      `${where} exists, unowned; the operator takes it over (spec.destination.overwrite: true)`,
    );
  }
  return fail(
    "destination",
    title,
    `${where} exists and is not owned by this ${s.kind}`,
    `set spec.destination.overwrite: true to let the operator take it over, or delete the Secret (kubectl delete secret ${dest.name} -n ${s.namespace})`,
  );
}

export async function checkRolloutTargets(s: Session): Promise<Step | undefined> {
  const targets = s.obj!.spec.rolloutRestartTargets ?? [];
  if (targets.length === 0) return undefined;
  const title = "rollout targets";
  const problems: string[] = [];
  const fine: string[] = [];
  for (const [i, t] of targets.entries()) {
    const rt = WORKLOADS[t.kind];
    if (!rt) {
      problems.push(
        `rolloutRestartTargets[${i}]: kind ${t.kind} is not one of ${Object.keys(WORKLOADS).join(", ")}`,
      );
      continue;
    }
    const w = await s.opts.kube.getOrNull(rt, s.namespace, t.name).catch(() => null);
    if (w) fine.push(`${t.kind} ${t.name}`);
    else problems.push(`rolloutRestartTargets[${i}]: ${t.kind} ${s.namespace}/${t.name} not found`);
  }
  if (problems.length > 0) {
    return fail(
      "rollout-targets",
      title,
      problems.join("\n"),
      `fix the names in spec.rolloutRestartTargets (they are looked up in ${s.namespace}), or create the workloads`,
    );
  }
  if (s.kind === "VaultStaticSecret" && s.obj!.spec.hmacSecretData === false) {
    return warn(
      "rollout-targets",
      title,
      `${fine.join(", ")}: found, but with hmacSecretData: false the operator cannot tell changes and never restarts them`,
      "remove hmacSecretData: false (the default is true) for restarts to happen",
    );
  }
  return pass("rollout-targets", title, `${fine.join(", ")}: found; restarted when the data changes`);
}
