// Differential test: every corpus case renders byte-identically to Go's text/template +
// sprig v3.3.0 (the oracle under test/template/oracle), or fails in both.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { builtinFuncs } from "../../src/template/builtins.ts";
import { sprigFuncs } from "../../src/template/sprig/index.ts";
import {
  type Case,
  corpusDir,
  fullMatch,
  loadCorpus,
  type Result,
  referencedNames,
  runOurs,
  runTemplateOracle,
} from "../template/harness.ts";

const cases = loadCorpus();

function allowedNames(): string[] {
  // The list in the Go oracle mirrors vso-compat.md section 2.5.
  const src = readFileSync(join(corpusDir, "..", "oracle", "allowed.go"), "utf8");
  return [...src.matchAll(/^\t"([A-Za-z0-9]+)",$/gm)].map((m) => m[1]);
}

test("the corpus has at least 500 cases", () => {
  assert.ok(cases.length >= 500, `only ${cases.length} cases`);
});

test("our function map is exactly VSO's allow-list", () => {
  const allowed = allowedNames();
  assert.equal(allowed.length, 179);
  assert.deepEqual(Object.keys(sprigFuncs).sort(), [...allowed].sort());
});

test("every allowed function and every builtin appears in the corpus", () => {
  const used = new Set<string>();
  for (const c of cases) for (const t of c.templates) for (const n of referencedNames(t.text)) used.add(n);
  const missing = [...allowedNames(), ...Object.keys(builtinFuncs)].filter((n) => !used.has(n));
  assert.deepEqual(missing, []);
});

test("corpus renders like Go text/template + sprig", () => {
  const expected = runTemplateOracle(cases);
  const failures: string[] = [];
  let outputSame = 0;
  let bothFailed = 0;
  let sameError = 0;
  let randomOk = 0;
  const errorDiffs: string[] = [];
  const describe = (r: Result | undefined) =>
    r === undefined
      ? "<missing>"
      : r.error !== undefined
        ? `error ${JSON.stringify(r.error)}`
        : JSON.stringify(r.output);
  for (const c of cases) {
    const want = expected.get(c.name);
    const got = runOurs(c);
    if (want === undefined) {
      failures.push(`${c.name}: no oracle result`);
      continue;
    }
    if (c.random !== undefined) {
      const ok =
        want.output !== undefined &&
        got.output !== undefined &&
        fullMatch(c.random, want.output) &&
        fullMatch(c.random, got.output);
      if (ok) randomOk++;
      else failures.push(`${c.name} (random ${c.random}): go=${describe(want)} ours=${describe(got)}`);
      continue;
    }
    if (want.error !== undefined && got.error !== undefined) {
      bothFailed++;
      if (want.error === got.error) sameError++;
      else if (c.raw.get("errorMayDiffer") === true)
        errorDiffs.push(`${c.name}:\n    go:   ${want.error}\n    ours: ${got.error}`);
      else failures.push(`${c.name} (error message):\n    go:   ${want.error}\n    ours: ${got.error}`);
      continue;
    }
    if (want.output !== undefined && got.output === want.output) {
      outputSame++;
      continue;
    }
    failures.push(`${c.name} [${templateOf(c)}]:\n    go:   ${describe(want)}\n    ours: ${describe(got)}`);
  }
  const funcs = new Set<string>();
  for (const c of cases) for (const t of c.templates) for (const n of referencedNames(t.text)) funcs.add(n);
  console.log(
    `template differential: ${cases.length} cases, ${outputSame} identical outputs, ${bothFailed} failing in both ` +
      `(${sameError} with identical messages), ${randomOk} non-deterministic by shape, ${failures.length} mismatches; ` +
      `${funcs.size} functions covered`,
  );
  if (process.env.TEMPLATE_DIFF_VERBOSE)
    for (const d of errorDiffs) console.log(`error message differs: ${d}`);
  assert.equal(failures.length, 0, `mismatches:\n${failures.join("\n")}`);
});

function templateOf(c: Case): string {
  return c.templates.map((t) => t.text).join(" ‖ ");
}
