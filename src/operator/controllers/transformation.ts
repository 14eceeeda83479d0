// Gathers a resource's transformation: inline includes/excludes and templates,
// plus those of referenced SecretTransformations (with templateRefs,
// keyOverride, ignoreIncludes, ignoreExcludes), and renders the templates.
// Ordering follows VSO: inline templates first and they win; then referenced
// ones; duplicate template names are an error.
import type { SecretTransformation, Transformation } from "../../api/index.ts";
import type { KubeObject } from "../../kube/client.ts";
import type { OperatorContext } from "../context.ts";
import { RefError } from "../refs.ts";
import { type FilterSpec, SecretDataError } from "../secret-data.ts";
import { templateEngine, validateTemplates } from "../template-engine.ts";

export interface TemplateSpec {
  /** The Secret data key the output is written to. */
  key: string;
  /** The template's name (used by `template` actions and in errors). */
  name: string;
  text: string;
}

export interface TemplateInput {
  templates: TemplateSpec[];
  /** Shared `define` blocks (SecretTransformation sourceTemplates). */
  sourceTemplates: { name: string; text: string }[];
  data: {
    Secrets: Record<string, unknown>;
    Metadata: Record<string, unknown>;
    Annotations: Record<string, string>;
    Labels: Record<string, string>;
  };
}

export interface RenderedTransformation {
  filter: FilterSpec;
  values?: Record<string, string>;
}

export function collectTransformation(
  ctx: Pick<OperatorContext, "informers">,
  obj: KubeObject,
  tr: Transformation | undefined,
): { filter: FilterSpec; templates: TemplateSpec[]; sourceTemplates: { name: string; text: string }[] } {
  const ns = obj.metadata.namespace ?? "";
  const filter: FilterSpec = { includes: [...(tr?.includes ?? [])], excludes: [...(tr?.excludes ?? [])] };
  const templates: TemplateSpec[] = [];
  const sourceTemplates: { name: string; text: string }[] = [];
  const names = new Set<string>();
  const keys = new Set<string>();
  const add = (t: TemplateSpec, field: string) => {
    if (keys.has(t.key)) return; // first one wins (inline before referenced)
    if (names.has(t.name)) throw new SecretDataError(field, `duplicate template name "${t.name}"`);
    names.add(t.name);
    keys.add(t.key);
    templates.push(t);
  };
  for (const key of Object.keys(tr?.templates ?? {}).sort()) {
    const t = tr!.templates![key];
    add(
      { key, name: t.name || `${ns}/${obj.metadata.name}/${key}`, text: t.text },
      `spec.destination.transformation.templates.${key}`,
    );
  }
  const informer = ctx.informers.secretTransformations as unknown as
    | { get(ns: string, name: string): SecretTransformation | undefined }
    | undefined;
  (tr?.transformationRefs ?? []).forEach((ref, i) => {
    const field = `spec.destination.transformation.transformationRefs[${i}]`;
    const refNs = ref.namespace || ns;
    const st = informer?.get(refNs, ref.name);
    if (!st) throw new RefError(field, `SecretTransformation ${refNs}/${ref.name} not found`);
    if (st.status?.valid !== true) {
      throw new RefError(
        field,
        `SecretTransformation ${refNs}/${ref.name} is not valid${st.status?.error ? `: ${st.status.error}` : ""}`,
      );
    }
    const stTemplates = st.spec?.templates ?? {};
    const selected =
      (ref.templateRefs ?? []).length > 0
        ? ref.templateRefs!
        : Object.keys(stTemplates)
            .sort()
            .map((name) => ({ name }));
    for (const tref of selected) {
      const t = stTemplates[tref.name];
      if (!t)
        throw new RefError(field, `SecretTransformation ${refNs}/${ref.name} has no template "${tref.name}"`);
      const key = (tref as { keyOverride?: string }).keyOverride || tref.name;
      add({ key, name: t.name || `${refNs}/${ref.name}/${tref.name}`, text: t.text }, field);
    }
    for (const s of st.spec?.sourceTemplates ?? []) {
      sourceTemplates.push({ name: s.name || `${refNs}/${ref.name}/source`, text: s.text });
    }
    if (!ref.ignoreIncludes) filter.includes.push(...(st.spec?.includes ?? []));
    if (!ref.ignoreExcludes) filter.excludes.push(...(st.spec?.excludes ?? []));
  });
  return { filter, templates, sourceTemplates };
}

/**
 * Checks a transformation before any credentials are requested: the
 * references resolve, template names do not clash, and every template parses.
 * What only the real data can reveal (an execution error) shows at render time.
 * Returns what else may change the outcome of rendering (for IssueHolds).
 */
export async function checkTransformation(
  ctx: Pick<OperatorContext, "informers">,
  obj: KubeObject,
  tr: Transformation | undefined,
): Promise<unknown> {
  const collected = collectTransformation(ctx, obj, tr);
  const parseError = await validateTemplates([...collected.sourceTemplates, ...collected.templates]);
  if (parseError !== undefined) {
    throw new SecretDataError(
      "spec.destination.transformation.templates",
      `template parse error: ${parseError}`,
    );
  }
  return collected;
}

export async function renderTransformation(
  ctx: Pick<OperatorContext, "informers">,
  obj: KubeObject,
  tr: Transformation | undefined,
  secrets: Record<string, unknown>,
  metadata: Record<string, unknown>,
): Promise<RenderedTransformation> {
  const { filter, templates, sourceTemplates } = collectTransformation(ctx, obj, tr);
  if (templates.length === 0) return { filter };
  // The Go template engine is loaded on the first resource with templates (../template-engine.ts).
  const engine = await templateEngine();
  const values = engine.renderGoTemplates({
    templates,
    sourceTemplates,
    data: {
      Secrets: secrets,
      Metadata: metadata,
      Annotations: { ...(obj.metadata.annotations ?? {}) },
      Labels: { ...(obj.metadata.labels ?? {}) },
    },
  });
  return { filter, values };
}
