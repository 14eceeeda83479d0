// `vso render`: offline rendering of a resource's transformation, with masking,
// JSON output, SecretTransformation refs from the same file and redacted errors.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "../../src/dev/paths.ts";

const FIX = join(import.meta.dirname, "fixtures", "render");

function vso(args: string[]) {
  const r = spawnSync(
    process.execPath,
    ["--disable-warning=ExperimentalWarning", join(REPO_ROOT, "src/cli/main.ts"), ...args],
    {
      encoding: "utf8",
    },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("renders as the operator would: refs, templates, excludes, _raw, numbers verbatim", () => {
  const r = vso([
    "render",
    "-f",
    join(FIX, "vss.yaml"),
    "--data",
    join(FIX, "data.json"),
    "--show-values",
    "-o",
    "json",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), {
    _raw: '{"data":{"password":"s3cret","port":5432.0,"username":"app"},"metadata":{}}',
    port: "5432.0",
    team: "blue-5432.0",
    url: "postgresql://app:s3cret@db:5432/app",
    username: "app",
  });
});

test("values are masked unless --show-values", () => {
  const r = vso(["render", "-f", join(FIX, "vss.yaml"), "--data", join(FIX, "data.json")]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stdout.includes("s3cret"));
  assert.match(r.stdout, /^url: <35 bytes, sha256:[0-9a-f]{12}>$/m);
});

test("a template error exits non-zero with secret values redacted", () => {
  const dir = mkdtempSync(join(tmpdir(), "vso-render-"));
  const bad = readFileSync(join(FIX, "vss.yaml"), "utf8").replace(
    "{{ .Labels.team }}",
    "{{ .Secrets.password | fail }}",
  );
  writeFileSync(join(dir, "bad.yaml"), bad);
  const r = vso(["render", "-f", join(dir, "bad.yaml"), "--data", join(FIX, "data.json")]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /error calling fail: <detail withheld/);
  assert.ok(!r.stderr.includes("s3cret"));
});

test("usage errors exit 2", () => {
  assert.equal(vso(["render", "-f", join(FIX, "vss.yaml")]).code, 2);
  assert.equal(
    vso(["render", "-f", join(FIX, "vss.yaml"), "--data", join(FIX, "data.json"), "-o", "xml"]).code,
    2,
  );
});
