// Differential-test harness: loads the corpus, builds and runs the Go oracle, runs our engine.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { RE2JS } from "re2js";
import { builtinFuncs } from "../../src/template/builtins.ts";
import type { FuncMap } from "../../src/template/funcdef.ts";
import { buildTemplateInput, TemplateSet } from "../../src/template/index.ts";
import { marshalNoEscape, unmarshal } from "../../src/template/json.ts";
import { sprigFuncs } from "../../src/template/sprig/index.ts";
import { JsonNumber } from "../../src/template/values.ts";
import { GO_ORACLES, goOracle, runOracle } from "../support/go-oracle.ts";

const here = dirname(fileURLToPath(import.meta.url));
export const corpusDir = join(here, "corpus");

export interface Case {
  file: string;
  name: string;
  /** The case as decoded (numbers as json.Number), re-encodable for the oracle. */
  raw: Map<string, unknown>;
  templates: { name: string; text: string }[];
  execute: string;
  numbers: "json.Number" | "float64";
  /** RE2 pattern both outputs must match in full (non-deterministic functions). */
  random?: string;
}

export interface Result {
  name: string;
  output?: string;
  error?: string;
}

function str(m: Map<string, unknown>, k: string): string | undefined {
  const v = m.get(k);
  return typeof v === "string" ? v : undefined;
}

function loadDatasets(): Map<string, unknown> {
  const v = unmarshal(readFileSync(join(here, "datasets.json"), "utf8"), true);
  if (!(v instanceof Map)) throw new Error("datasets.json must hold an object");
  return v;
}

/**
 * A corpus entry with "matrix": {"vars": {"A": [...], "B": [...]}, "exclude": [...]} expands to
 * one case per combination, substituting each %A% in "template" (names get an index suffix).
 */
function expandMatrix(entry: unknown, file: string): unknown[] {
  if (!(entry instanceof Map) || !entry.has("matrix")) return [entry];
  const spec = entry.get("matrix");
  if (!(spec instanceof Map) || !(spec.get("vars") instanceof Map)) throw new Error(`${file}: bad matrix`);
  const vars = [...(spec.get("vars") as Map<string, unknown>)].map(([k, v]) => {
    if (!Array.isArray(v)) throw new Error(`${file}: matrix var ${k} must be a list`);
    return [k, v.map(String)] as const;
  });
  const exclude = new Set(Array.isArray(spec.get("exclude")) ? (spec.get("exclude") as string[]) : []);
  const template = str(entry, "template") ?? "";
  const name = str(entry, "name") ?? "";
  const out: Map<string, unknown>[] = [];
  const walk = (i: number, t: string, idx: number[]) => {
    if (i === vars.length) {
      if (exclude.has(t)) return;
      const c = new Map(entry);
      c.delete("matrix");
      c.set("name", `${name}/${idx.join("-")}`);
      c.set("template", t);
      out.push(c);
      return;
    }
    const [k, values] = vars[i];
    values.forEach((v, j) => {
      walk(i + 1, t.split(`%${k}%`).join(v), [...idx, j]);
    });
  };
  walk(0, template, []);
  return out;
}

export function loadCorpus(): Case[] {
  const cases: Case[] = [];
  const seen = new Set<string>();
  const datasets = loadDatasets();
  for (const f of readdirSync(corpusDir).sort()) {
    if (!f.endsWith(".json")) continue;
    const text = readFileSync(join(corpusDir, f), "utf8");
    const arr = unmarshal(text, true);
    if (!Array.isArray(arr)) throw new Error(`${f}: corpus file must hold a JSON array`);
    for (const c of arr.flatMap((x) => expandMatrix(x, f))) {
      if (!(c instanceof Map)) throw new Error(`${f}: each case must be an object`);
      const name = str(c, "name");
      if (!name) throw new Error(`${f}: case without name`);
      if (seen.has(name)) throw new Error(`${f}: duplicate case name ${name}`);
      seen.add(name);
      const ds = str(c, "dataset");
      if (ds !== undefined) {
        if (!datasets.has(ds)) throw new Error(`${f}: case ${name} uses unknown dataset ${ds}`);
        c.set("data", datasets.get(ds));
        c.delete("dataset");
      }
      const templates: { name: string; text: string }[] = [];
      const ts = c.get("templates");
      if (Array.isArray(ts)) {
        for (const t of ts) {
          const m = t as Map<string, unknown>;
          templates.push({ name: str(m, "name") ?? "", text: str(m, "text") ?? "" });
        }
      }
      const single = str(c, "template");
      if (single !== undefined) templates.push({ name: "tmpl", text: single });
      if (templates.length === 0) throw new Error(`${f}: case ${name} has no template`);
      cases.push({
        file: f,
        name,
        raw: c,
        templates,
        execute: str(c, "execute") ?? templates[templates.length - 1].name,
        numbers: str(c, "numbers") === "float64" ? "float64" : "json.Number",
        random: str(c, "random"),
      });
    }
  }
  return cases;
}

// ---- oracle ----

/** Run the prebuilt oracle (test/support/go-oracle.ts; `make deps` builds it) over the cases. */
export function runTemplateOracle(cases: Case[]): Map<string, Result> {
  const input = "[" + cases.map((c) => marshalNoEscape(c.raw)).join(",") + "]";
  const results = JSON.parse(runOracle(goOracle(GO_ORACLES.template), input)) as Result[];
  return new Map(results.map((x) => [x.name, x]));
}

// ---- our engine ----

function toFloat(v: unknown): unknown {
  if (v instanceof JsonNumber) return Number(v.s);
  if (Array.isArray(v)) return v.map(toFloat);
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, toFloat(x)]));
  return v;
}

function asMap(v: unknown, numbers: string): Map<string, unknown> | null {
  if (!(v instanceof Map)) return null;
  return (numbers === "float64" ? toFloat(v) : v) as Map<string, unknown>;
}

function asStringRecord(v: unknown): Record<string, string> | null {
  if (!(v instanceof Map)) return null;
  return Object.fromEntries([...v].map(([k, x]) => [k, String(x)]));
}

function restrictFuncs(names: unknown): FuncMap {
  if (!Array.isArray(names) || names.length === 0) return sprigFuncs;
  const m: FuncMap = {};
  for (const n of names) if (typeof n === "string" && sprigFuncs[n]) m[n] = sprigFuncs[n];
  return m;
}

export function runOurs(c: Case): Result {
  // Deep-copy the data for each run: templates may mutate it (set, unset, merge).
  const raw = unmarshal(marshalNoEscape(c.raw), true) as Map<string, unknown>;
  const data = buildTemplateInput({
    secrets: asMap(raw.get("data"), c.numbers),
    metadata: asMap(raw.get("metadata"), c.numbers),
    annotations: asStringRecord(raw.get("annotations")),
    labels: asStringRecord(raw.get("labels")),
  });
  try {
    const set = new TemplateSet(restrictFuncs(raw.get("funcs")));
    for (const t of c.templates) set.parse(t.name, t.text);
    return { name: c.name, output: set.execute(c.execute, data) };
  } catch (e) {
    return { name: c.name, error: (e as Error).message };
  }
}

export function fullMatch(pattern: string, s: string): boolean {
  return RE2JS.compile(`^(?:${pattern})$`, RE2JS.DOTALL).matches(s);
}

/** Functions a template text refers to (identifiers in actions), for coverage reporting. */
export function referencedNames(text: string): Set<string> {
  const out = new Set<string>();
  const known = new Set([...Object.keys(sprigFuncs), ...Object.keys(builtinFuncs)]);
  const actionRe = /\{\{([\s\S]*?)\}\}/g;
  for (const m of text.matchAll(actionRe)) {
    const body = m[1].replace(/"(?:[^"\\]|\\.)*"|`[^`]*`/g, " ");
    for (const w of body.match(/(?<![.$\w])[A-Za-z_][A-Za-z0-9_]*/g) ?? []) if (known.has(w)) out.add(w);
  }
  return out;
}
