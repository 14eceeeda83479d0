// Connects the Go text/template + sprig engine (src/template) to the secret
// controllers: VSO's template input (.Secrets, .Metadata, .Annotations,
// .Labels, with Vault numbers as json.Number), VSO's parse order (source
// templates first, then templates sorted by key+"0"+name), one execution
// budget (steps and time, src/template/budget.ts) shared by all the templates
// of a resource, and errors that carry no data from a value: the engine's safe
// message (function name, template name, position; never a function's
// arguments or error text), with every secret value, and every fragment of
// one, redacted as well before it reaches a condition, an event or the log.
import {
  Budget,
  buildTemplateInput,
  redactError,
  secretStrings,
  TemplateError,
  TemplateSet,
  vaultDataFromJSON,
} from "../template/index.ts";
import { goMarshal } from "../util/gojson.ts";
import type { TemplateInput } from "./controllers/transformation.ts";
import { redactFragments } from "./redact.ts";
import { keyedMap, SecretDataError } from "./secret-data.ts";

function toTemplateMap(v: Record<string, unknown>): Map<string, unknown> | null {
  // Round-trip through Go-compatible JSON so numbers keep their source text (json.Number).
  return vaultDataFromJSON(goMarshal(v));
}

/** What of a rendering error may be told: the engine's data-free message, nothing of any other error. */
function safeText(err: unknown): string {
  if (err instanceof TemplateError) return err.safeMessage;
  return "internal error (detail withheld: it may carry secret data)";
}

export function renderGoTemplates(input: TemplateInput): Record<string, string> {
  const secrets = toTemplateMap(input.data.Secrets);
  const metadata = toTemplateMap(input.data.Metadata) ?? new Map();
  const values = secretStrings(secrets);
  const redact = (err: unknown) => redactFragments(redactError(safeText(err), values), values);
  const set = new TemplateSet();
  const ordered = [...input.templates].sort((a, b) => (a.key + "0" + a.name < b.key + "0" + b.name ? -1 : 1));
  try {
    for (const s of input.sourceTemplates) set.parse(s.name, s.text);
    for (const t of ordered) set.parse(t.name, t.text);
  } catch (err) {
    throw new SecretDataError(
      "spec.destination.transformation.templates",
      `template parse error: ${redact(err)}`,
    );
  }
  const data = buildTemplateInput({
    secrets,
    metadata,
    annotations: input.data.Annotations,
    labels: input.data.Labels,
  });
  const out = keyedMap<string>();
  const budget = new Budget();
  for (const t of input.templates) {
    try {
      out[t.key] = set.execute(t.name, data, budget);
    } catch (err) {
      throw new SecretDataError(
        `spec.destination.transformation.templates.${t.key}`,
        `template error: ${redact(err)}`,
      );
    }
  }
  return out;
}

/** Parses templates without executing them (SecretTransformation validation, `vso render`). */
export function validateTemplates(sources: { name: string; text: string }[]): string | undefined {
  const set = new TemplateSet();
  try {
    for (const s of sources) set.parse(s.name, s.text);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
