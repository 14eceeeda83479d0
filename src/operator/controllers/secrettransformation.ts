// SecretTransformation: validates its templates (parsed with the Go template
// engine, shared sourceTemplates included) and its RE2 includes/excludes, and
// reports status.valid, status.error and conditions. Resources that reference
// it are re-queued by the manager when it changes.
import type { SecretTransformation } from "../../api/index.ts";
import { EventReason } from "../../api/index.ts";
import type { KubeObject } from "../../kube/client.ts";
import type { ReconcileResult } from "../../runtime/controller.ts";
import type { MultiInformer } from "../../runtime/multi-informer.ts";
import type { OperatorContext } from "../context.ts";
import { updateStatus } from "../context.ts";
import { VSO } from "../resources.ts";
import { compileRE2 } from "../secret-data.ts";
import { validateTemplates } from "../template-engine.ts";
import { healthConditions } from "./common.ts";
import { type Setup, watchOwnKind } from "./setup.ts";

const KIND = "SecretTransformation";

export async function validateSecretTransformation(st: SecretTransformation): Promise<string | undefined> {
  const ns = st.metadata.namespace ?? "";
  const spec = st.spec ?? {};
  const sources = (spec.sourceTemplates ?? []).map((s, i) => ({
    name: s.name || `${ns}/${st.metadata.name}/source-${i}`,
    text: s.text,
  }));
  const templates = Object.entries(spec.templates ?? {}).map(([key, t]) => ({
    name: t.name || `${ns}/${st.metadata.name}/${key}`,
    text: t.text,
  }));
  const names = new Set<string>();
  for (const t of [...sources, ...templates]) {
    if (names.has(t.name)) return `duplicate template name "${t.name}"`;
    names.add(t.name);
  }
  try {
    for (const p of spec.includes ?? []) compileRE2(p, "spec.includes");
    for (const p of spec.excludes ?? []) compileRE2(p, "spec.excludes");
  } catch (err) {
    return (err as Error).message;
  }
  const parseError = await validateTemplates([...sources, ...templates]);
  return parseError ? `spec.templates: ${parseError}` : undefined;
}

export class SecretTransformationReconciler {
  private readonly ctx: OperatorContext;
  constructor(ctx: OperatorContext) {
    this.ctx = ctx;
  }

  async reconcile(key: { namespace: string; name: string }): Promise<ReconcileResult | undefined> {
    const { ctx } = this;
    const inf = ctx.informers.secretTransformations as unknown as MultiInformer<
      SecretTransformation & KubeObject
    >;
    const st = inf.get(key.namespace, key.name);
    if (!st) return;
    const error = (await validateSecretTransformation(st)) ?? "";
    const valid = error === "";
    const generation = st.metadata.generation;
    const conditions = healthConditions(st.status?.conditions, KIND, valid, error, generation);
    const changed = await updateStatus(ctx.kube, VSO.SecretTransformation, st, { valid, error, conditions });
    if (changed) {
      const rec = ctx.recorder(KIND);
      if (valid) rec.normal(st, EventReason.Accepted, "SecretTransformation is valid");
      else rec.warning(st, EventReason.TransformationError, error);
    }
    ctx.metrics.resourceStatus.set(
      { controller: "secrettransformation", name: key.name, namespace: key.namespace },
      valid ? 1 : 0,
    );
    return undefined;
  }
}

/** The SecretTransformation controller: its own objects (their users re-sync through their own watches). */
export const setupSecretTransformation: Setup = (mgr) => {
  const rec = new SecretTransformationReconciler(mgr.ctx);
  const c = mgr.addController("secrettransformation", (k) => rec.reconcile(k));
  watchOwnKind(mgr.ctx.informers.secretTransformations, c);
};
