// Generates the CRD manifests (deploy/crds/, and the identical copy in the
// Helm chart's deploy/chart/vault-secrets-operator/crds/) and src/api/types.generated.ts from src/api/schema/.
//
//   node scripts/generate-crds.ts           write the files
//   node scripts/generate-crds.ts --check   write nothing; exit 1 and name every
//                                           stale, missing or extra file
//   --root <dir>                            operate on another checkout (tests)
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { ALL_KINDS, GROUP } from "../src/api/schema/index.ts";
import { CRD_DIRS, generatedFiles } from "../src/api/schema/render.ts";

let root = resolve(import.meta.dirname, "..");
let check = false;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--check") check = true;
  else if (args[i] === "--root" && i + 1 < args.length) root = resolve(args[++i]);
  else {
    console.error(`usage: node scripts/generate-crds.ts [--check] [--root <dir>] (unexpected: ${args[i]})`);
    process.exit(2);
  }
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

const files = generatedFiles(ALL_KINDS);
const stale: string[] = [];
for (const [rel, content] of files) {
  if (readOrNull(join(root, rel)) !== content) stale.push(rel);
}
// CRD files of kinds that no longer exist.
const extra: string[] = [];
for (const dir of CRD_DIRS) {
  let names: string[] = [];
  try {
    names = readdirSync(join(root, dir));
  } catch {
    continue;
  }
  for (const name of names) {
    const rel = `${dir}/${name}`;
    if (name.startsWith(`${GROUP}_`) && name.endsWith(".yaml") && !files.has(rel)) extra.push(rel);
  }
}

if (check) {
  if (stale.length === 0 && extra.length === 0) {
    console.log(`generated files are up to date (${files.size} files)`);
    process.exit(0);
  }
  for (const f of stale) console.error(`stale: ${f}`);
  for (const f of extra) console.error(`not generated (delete it): ${f}`);
  console.error("run: node scripts/generate-crds.ts");
  process.exit(1);
}

for (const rel of stale) {
  const path = join(root, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, files.get(rel)!);
  console.log(`wrote ${rel}`);
}
for (const rel of extra) {
  rmSync(join(root, rel));
  console.log(`removed ${rel}`);
}
if (stale.length === 0 && extra.length === 0)
  console.log(`generated files are up to date (${files.size} files)`);
