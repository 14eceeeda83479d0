// Step 1: the resource itself and what its conditions say.
import { VSO } from "../operator/resources.ts";
import { fail, pass, type Step, warn } from "./report.ts";
import type { SecretResource, Session } from "./session.ts";

export async function checkResource(s: Session): Promise<Step> {
  const title = "resource";
  const obj = await s.opts.kube.getOrNull<SecretResource>(VSO[s.kind], s.namespace, s.name);
  if (!obj) {
    return fail(
      "resource",
      title,
      `${s.kind} ${s.namespace}/${s.name} not found`,
      `check the name and namespace: kubectl get ${s.kind.toLowerCase()} -n ${s.namespace}`,
    );
  }
  s.obj = obj;
  const conds = obj.status?.conditions ?? [];
  const ready = conds.find((c) => c.type === "Ready");
  const synced = conds.find((c) => c.type === "SecretSynced");
  const summary = conds.map((c) => `${c.type}=${c.status}`).join(", ");
  if (!ready) {
    return warn(
      "resource",
      title,
      `${s.kind} ${s.namespace}/${s.name} has no Ready condition yet: the operator has not reconciled it`,
      `is the operator running and watching namespace ${s.namespace}? run \`vso doctor\` without arguments`,
    );
  }
  if (ready.status !== "True") {
    const why = synced?.status === "False" && synced.message ? synced.message : (ready.message ?? "");
    return fail(
      "resource",
      title,
      `${s.kind} ${s.namespace}/${s.name} is not Ready (${summary})\n${why}`,
      "the steps below locate the cause; the operator retries by itself once it is fixed",
    );
  }
  return pass("resource", title, `${s.kind} ${s.namespace}/${s.name} is Ready (${summary})`);
}
