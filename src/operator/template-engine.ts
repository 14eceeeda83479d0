// The Go template engine (src/template with sprig, bound to the controllers by
// ./templates.ts) costs several MiB to evaluate; an operator whose resources
// use no templates never needs it. It is loaded by the first resource or
// SecretTransformation that has templates, once, and kept.
import type * as Templates from "./templates.ts";

export type TemplateEngine = typeof Templates;

let engine: Promise<TemplateEngine> | undefined;

export function templateEngine(): Promise<TemplateEngine> {
  engine ??= import("./templates.ts");
  return engine;
}

/** Parses templates without executing them; the parse error, or undefined. No templates: nothing loaded. */
export async function validateTemplates(
  sources: { name: string; text: string }[],
): Promise<string | undefined> {
  if (sources.length === 0) return undefined;
  return (await templateEngine()).validateTemplates(sources);
}
