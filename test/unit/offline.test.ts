// Tests never download (issue 17): the runner gives them no route out of the
// machine, and every artifact a test needs comes prebuilt from `make deps`.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { GO_ORACLES, goOracle } from "../support/go-oracle.ts";

const isolated = process.env.VSO_TEST_OFFLINE === "1";
const mustBeIsolated = process.env.VSO_REQUIRE_NODE === "1";

test("the suite runs with no route out of the machine", {
  skip:
    !isolated && !mustBeIsolated
      ? "the runner could not isolate this run (not root, or e2e without a node)"
      : false,
}, () => {
  assert.equal(process.env.VSO_TEST_OFFLINE, "1", "scripts/run-tests.ts did not isolate the run's network");
  // `ip route get` asks the kernel for a route; no packet is sent.
  for (const [family, addr] of [
    ["-4", "192.0.2.1"],
    ["-6", "2001:db8::1"],
  ]) {
    const r = spawnSync("ip", [family, "route", "get", addr], { encoding: "utf8" });
    assert.notEqual(r.status, 0, `a route out exists for ${addr}: ${r.stdout.trim()}`);
  }
  assert.equal(process.env.GOPROXY, "off");
});

test("every Go oracle is prebuilt by make deps", () => {
  for (const o of Object.values(GO_ORACLES)) assert.doesNotThrow(() => goOracle(o), o.name);
});

test("a missing oracle names make deps instead of building or downloading", () => {
  const saved = process.env.VSO_TS_CACHE;
  const empty = mkdtempSync(join(tmpdir(), "vso-empty-cache-"));
  process.env.VSO_TS_CACHE = empty;
  try {
    assert.throws(() => goOracle(GO_ORACLES.template), /template-oracle .*run `make deps`/);
  } finally {
    if (saved === undefined) delete process.env.VSO_TS_CACHE;
    else process.env.VSO_TS_CACHE = saved;
    rmSync(empty, { recursive: true, force: true });
  }
});
