// Public API of the Go text/template + sprig engine.
//
// Numbers in template data: VSO reads secrets with the Vault API client, whose ParseSecret
// decodes response bodies with encoding/json's Decoder.UseNumber(). Every JSON number in
// `.Secrets` and `.Metadata` is therefore a json.Number (a string type with methods), not a
// float64: `{{ .Secrets.port }}` prints the literal text, `typeOf` says "json.Number",
// `printf "%d"` gives `%!d(json.Number=5432)`, `add` works through cast.ToInt64 (which parses
// the string) and comparing with `eq .Secrets.port 5432` fails with "incompatible types".
// vaultDataFromJSON() below reproduces this; fromJS() does the same for already-parsed data.
// Labels and annotations are strings copied into map[string]interface{} (nil when absent).
import { LRUCache } from "lru-cache";
import { Budget } from "./budget.ts";
import { builtinFuncs } from "./builtins.ts";
import { ExecError, execute } from "./exec.ts";
import type { FuncMap } from "./funcdef.ts";
import { JsonError, unmarshal } from "./json.ts";
import { isEmptyTree, ParseError, parse, type Tree } from "./parse.ts";
import { GoRegexp } from "./sprig/goregexp.ts";
import { sprigFuncs } from "./sprig/index.ts";
import { quote } from "./strconv.ts";
import { fromJS, type GoMap, GoStruct, nilMap } from "./values.ts";

export {
  Budget,
  type BudgetLimits,
  DEFAULT_BUDGET,
  MAX_TEMPLATE_MILLIS,
  MAX_TEMPLATE_STEPS,
} from "./budget.ts";
export { ExecError } from "./exec.ts";
export { ParseError } from "./parse.ts";
export { sprigFuncs } from "./sprig/index.ts";
export { fromJS, GoInt, JsonNumber } from "./values.ts";

/** A template error (parse or execution); the message follows Go's format. */
export class TemplateError extends Error {
  readonly kind: "parse" | "exec";
  /**
   * The message with every detail that may carry data from a value withheld (see
   * ExecError.safeMessage): what may reach a condition, an Event or a log. A parse
   * error quotes only the template's own text.
   */
  readonly safeMessage: string;
  constructor(message: string, kind: "parse" | "exec", safeMessage: string = message) {
    super(message);
    this.kind = kind;
    this.safeMessage = safeMessage;
  }
}

const parseCache = new LRUCache<string, Map<string, Tree>>({ max: 1000 });
let cacheEnabled = true;
const cacheStats = { hits: 0, misses: 0 };

/** Parse-cache counters (for tests and benchmarks). */
export function parseCacheStats(): { hits: number; misses: number; size: number } {
  return { ...cacheStats, size: parseCache.size };
}

/** Turn the parse cache on or off (benchmarks). */
export function setParseCache(enabled: boolean): void {
  cacheEnabled = enabled;
  if (!enabled) parseCache.clear();
}

function parseCached(name: string, text: string, funcs: FuncMap): Map<string, Tree> {
  const key = name + "\u0000" + text;
  if (cacheEnabled && funcs === sprigFuncs) {
    const hit = parseCache.get(key);
    if (hit) {
      cacheStats.hits++;
      return hit;
    }
    cacheStats.misses++;
  }
  const check = { has: (n: string) => Object.hasOwn(funcs, n) || Object.hasOwn(builtinFuncs, n) };
  const trees = parse(name, text, check);
  if (cacheEnabled && funcs === sprigFuncs) parseCache.set(key, trees);
  return trees;
}

/**
 * A set of associated templates, like a Go *template.Template after several
 * t.New(name).Parse(text) calls: {{define}} blocks are shared by every template in the set.
 */
export class TemplateSet {
  readonly funcs: FuncMap;
  private readonly trees = new Map<string, Tree>();

  constructor(funcs: FuncMap = sprigFuncs) {
    this.funcs = funcs;
  }

  /** Parse text as template `name` (and every template it defines). Throws TemplateError. */
  parse(name: string, text: string): this {
    let trees: Map<string, Tree>;
    try {
      trees = parseCached(name, text, this.funcs);
    } catch (e) {
      if (e instanceof ParseError) throw new TemplateError(e.message, "parse");
      throw e;
    }
    for (const [n, tree] of trees) {
      const old = this.trees.get(n);
      if (old !== undefined && isEmptyTree(tree.root)) continue;
      this.trees.set(n, tree);
    }
    if (!trees.has(name)) this.trees.set(name, { name, parseName: name, root: null, text });
    return this;
  }

  has(name: string): boolean {
    return this.trees.has(name);
  }

  /**
   * Execute template `name` with data (a value of the Go value model) within a step and
   * time budget (src/template/budget.ts): its own, or one shared by several executions.
   * Throws TemplateError.
   */
  execute(name: string, data: unknown, budget: Budget = new Budget()): string {
    const tree = this.trees.get(name);
    if (tree === undefined) {
      throw new TemplateError(`template: no template ${quote(name)} associated with template ""`, "exec");
    }
    try {
      return execute(tree, { lookup: (n) => this.trees.get(n), funcs: this.funcs }, data, budget);
    } catch (e) {
      if (e instanceof ExecError) throw new TemplateError(e.message, "exec", e.safeMessage);
      throw e;
    }
  }
}

export interface TemplateSource {
  name: string;
  text: string;
}

/**
 * Render one template from `templates` (source-only templates first, like VSO) with data.
 * `execute` defaults to the last template.
 */
export function render(templates: TemplateSource[], data: unknown, executeName?: string): string {
  const set = new TemplateSet();
  for (const t of templates) set.parse(t.name, t.text);
  return set.execute(executeName ?? templates[templates.length - 1].name, data);
}

export interface TemplateInput {
  /** `.Secrets`: the secret data map (for kv-v2, the inner `data`). */
  secrets?: Map<string, unknown> | null;
  /** `.Metadata`: kv-v2 metadata. */
  metadata?: Map<string, unknown> | null;
  annotations?: Record<string, string> | null;
  labels?: Record<string, string> | null;
}

function stringMap(m: Record<string, string> | null | undefined): GoMap {
  if (m === null || m === undefined) return nilMap();
  return new Map(Object.entries(m)) as GoMap;
}

/** Build VSO's template input (`*helpers.SecretInput`): .Secrets .Metadata .Annotations .Labels. */
export function buildTemplateInput(input: TemplateInput): GoStruct {
  return new GoStruct(
    "helpers.SecretInput",
    [
      ["Secrets", input.secrets ?? nilMap()],
      ["Metadata", input.metadata ?? nilMap()],
      ["Annotations", stringMap(input.annotations)],
      ["Labels", stringMap(input.labels)],
    ],
    true,
  );
}

export interface VaultDataOptions {
  /** KV v2 response: `.Secrets` is `data.data` and `.Metadata` is `data.metadata`. */
  kvV2?: boolean;
  annotations?: Record<string, string> | null;
  labels?: Record<string, string> | null;
}

/**
 * Build the template input from a Vault response's `data` object, as VSO's secret data
 * builder does: `.Secrets` is the response data (kv-v2: its inner `data` map, nil when not a
 * map) and `.Metadata` is `data["metadata"]` when that is a map, else an empty (non-nil) map.
 */
export function templateInputFromVaultData(
  responseData: Map<string, unknown> | null,
  opts: VaultDataOptions = {},
): GoStruct {
  let secrets: Map<string, unknown> | null = responseData;
  if (opts.kvV2) {
    const inner = responseData?.get("data");
    secrets = inner instanceof Map ? inner : null;
  }
  const md = responseData?.get("metadata");
  return buildTemplateInput({
    secrets,
    metadata: md instanceof Map ? md : new Map(),
    annotations: opts.annotations,
    labels: opts.labels,
  });
}

/** Decode a Vault JSON object the way VSO's Vault client does (numbers become json.Number). */
export function vaultDataFromJSON(json: string): Map<string, unknown> | null {
  let v: unknown;
  try {
    v = unmarshal(json, true);
  } catch (e) {
    if (e instanceof JsonError) throw new Error(`invalid Vault JSON: ${e.message}`);
    throw e;
  }
  if (v === null) return null;
  if (!(v instanceof Map)) throw new Error("invalid Vault JSON: not an object");
  return v;
}

/** Convert already-parsed JSON data (numbers as JS numbers) to template data. */
export function vaultDataFromJS(
  obj: Record<string, unknown> | null | undefined,
): Map<string, unknown> | null {
  if (obj === null || obj === undefined) return null;
  return fromJS(obj) as Map<string, unknown>;
}

// VSO's redaction patterns (internal/template/template.go), with its ungrouped alternation:
// the location prefix only binds to the first alternative.
const vsoRedactRes = [
  GoRegexp.compile(
    "^template: .+ executing .+ at .+: range can't iterate over|range over send-only channel|if/with can't use",
  ),
  GoRegexp.compile("^template: range can't iterate over|range over send-only channel|if/with can't use"),
];

/**
 * Redact secret values from a template error. Every occurrence of each secret string is
 * replaced with `<redacted>`, and errors that print a value (range/if/with on a value) are cut
 * after the location the way VSO does.
 */
export function redactError(err: unknown, secrets: Iterable<string>): string {
  let msg = err instanceof Error ? err.message : String(err);
  for (const re of vsoRedactRes) {
    const m = re.findStringSubmatch(msg);
    if (m !== null) {
      msg = `${m[0]} <redacted>`;
      break;
    }
  }
  const values = [...new Set(secrets)].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  for (const s of values) msg = msg.split(s).join("<redacted>");
  return msg;
}

/** All string leaves of a value (for redactError). */
export function secretStrings(v: unknown, out: Set<string> = new Set()): Set<string> {
  if (typeof v === "string") out.add(v);
  else if (v instanceof Map) for (const x of v.values()) secretStrings(x, out);
  else if (Array.isArray(v)) for (const x of v) secretStrings(x, out);
  else if (v !== null && typeof v === "object" && "s" in v && typeof (v as { s: unknown }).s === "string") {
    out.add((v as { s: string }).s);
  }
  return out;
}
