// VSO_REQUIRE_NODE=1 (.ci/run) turns "no local node" from a skip into a
// failure, in the test helper and in the runner, so that a run expected to
// exercise the node cannot go green by skipping every test that needs it.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { REPO_ROOT } from "../../src/dev/paths.ts";

// A test file that calls requireNode with an environment that has no node.
function runNodeTest(required: boolean): { code: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), "vso-require-node-"));
  try {
    const file = join(dir, "needs-node.test.ts");
    const helper = pathToFileURL(join(REPO_ROOT, "test", "support", "node.ts")).href;
    writeFileSync(
      file,
      `import { test } from "node:test";
import { requireNode } from ${JSON.stringify(helper)};
test("needs a node", (t) => {
  if (!requireNode(t, { state: {} } as never)) return;
  throw new Error("unreachable: there is no node");
});
`,
    );
    const env = { ...process.env };
    delete env.VSO_REQUIRE_NODE;
    delete env.NODE_TEST_CONTEXT; // a child test runner of its own, not a subtest of this one
    if (required) env.VSO_REQUIRE_NODE = "1";
    const res = spawnSync(
      process.execPath,
      ["--disable-warning=ExperimentalWarning", "--test", "--test-reporter=tap", file],
      { env, encoding: "utf8", timeout: 30_000 },
    );
    return { code: res.status, out: res.stdout + res.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("without VSO_REQUIRE_NODE a test that needs the node is skipped, saying why", () => {
  const { code, out } = runNodeTest(false);
  assert.equal(code, 0, out);
  assert.match(out, /# skipped 1/);
  assert.match(out, /no local node in this environment/);
});

test("with VSO_REQUIRE_NODE=1 the same test fails, with the reason", () => {
  const { code, out } = runNodeTest(true);
  assert.equal(code, 1, out);
  assert.match(out, /# fail 1/);
  assert.match(out, /# skipped 0/);
  assert.match(out, /no local node in this environment.*VSO_REQUIRE_NODE=1 requires one/);
});

test("with VSO_REQUIRE_NODE=1 the runner refuses to start end-to-end tests without a node", () => {
  // --env-dir under /dev/null: had the runner gone on to start an environment, it would fail
  // at once instead of starting servers, and the message below would be missing.
  const res = spawnSync(
    process.execPath,
    [
      "--disable-warning=ExperimentalWarning",
      join(REPO_ROOT, "scripts", "run-tests.ts"),
      "--no-node",
      "--env-dir",
      "/dev/null/vso-require-node",
      "test/e2e/doctor.test.ts",
    ],
    { cwd: REPO_ROOT, env: { ...process.env, VSO_REQUIRE_NODE: "1" }, encoding: "utf8", timeout: 30_000 },
  );
  assert.equal(res.status, 1, res.stderr);
  assert.match(res.stderr, /no local node \(--no-node was given\), and VSO_REQUIRE_NODE=1 requires one/);
});
