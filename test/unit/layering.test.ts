// Lower layers never import higher ones: the runtime, the Kubernetes and Vault
// clients, the template engine, the API types and utilities know nothing of
// the operator or the developer tooling, and the operator knows nothing of the
// developer tooling or the CLI. Every import of every source file is checked,
// static, type-only and dynamic (`import("...")`) alike.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";

const SRC = resolve(import.meta.dirname, "../../src");

/** For each layer (a directory under src/), the layers it must never import. */
const FORBIDDEN: Record<string, string[]> = {
  util: ["operator", "dev", "cli", "doctor"],
  api: ["operator", "dev", "cli", "doctor"],
  template: ["operator", "dev", "cli", "doctor"],
  kube: ["operator", "dev", "cli", "doctor"],
  runtime: ["operator", "dev", "cli", "doctor"],
  vault: ["operator", "dev", "cli", "doctor"],
  operator: ["dev", "cli", "doctor"],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith(".ts") ? [p] : [];
  });
}

/** Relative module specifiers a file imports, by any form of import or re-export. */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  const forms = [
    /\b(?:import|export)\b[^"'`;]*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const re of forms) for (const m of text.matchAll(re)) out.push(m[1]);
  return out.filter((s) => s.startsWith("."));
}

/** The layer (first directory under src/) a path belongs to, if inside src/. */
function layerOf(path: string): string | undefined {
  const rel = relative(SRC, path);
  if (rel.startsWith("..")) return undefined;
  return rel.split(/[\\/]/)[0];
}

export function upwardImports(files: { path: string; text: string }[]): string[] {
  const found: string[] = [];
  for (const f of files) {
    const from = layerOf(f.path);
    const banned = from ? FORBIDDEN[from] : undefined;
    if (!banned) continue;
    for (const spec of importsOf(f.text)) {
      const to = layerOf(resolve(dirname(f.path), spec));
      if (to && banned.includes(to))
        found.push(`${relative(SRC, f.path)} imports ${spec} (${from} -> ${to})`);
    }
  }
  return found;
}

test("the import scanner sees every form of import", () => {
  const text = [
    'import { a } from "../operator/x.ts";',
    'import type { B } from "../dev/y.ts";',
    'export { c } from "../cli/z.ts";',
    'import "../doctor/side-effect.ts";',
    'type T = import("../operator/types.ts").T;',
    "import {\n  d,\n  e,\n} from '../operator/multi.ts';",
    'import { ok } from "./same-layer.ts";',
    'const s = "not an import from ../operator/q.ts";',
  ].join("\n");
  const files = [{ path: join(SRC, "vault", "f.ts"), text }];
  assert.deepEqual(
    upwardImports(files).map((l) => l.split(" imports ")[1]),
    [
      "../operator/x.ts (vault -> operator)",
      "../dev/y.ts (vault -> dev)",
      "../cli/z.ts (vault -> cli)",
      "../operator/multi.ts (vault -> operator)",
      "../doctor/side-effect.ts (vault -> doctor)",
      "../operator/types.ts (vault -> operator)",
    ],
  );
  // The same imports are fine from the operator, except the developer tooling.
  const fromOperator = upwardImports([{ path: join(SRC, "operator", "f.ts"), text }]);
  assert.deepEqual(
    fromOperator.map((l) => l.split(" (")[1]),
    ["operator -> dev)", "operator -> cli)", "operator -> doctor)"],
  );
});

test("no lower layer imports a higher one", () => {
  const files = sourceFiles(SRC).map((path) => ({ path, text: readFileSync(path, "utf8") }));
  assert.ok(files.length > 50, "the scan found the sources");
  assert.deepEqual(upwardImports(files), []);
});
