// VaultStaticSecret's decisions, table-driven: whether the destination is
// written (and why, in order of precedence) from the HMAC of the data just
// read, the status and the live destination; when workloads restart; when
// Vault is read again (jitter injected, never sooner than the requeue floor);
// and the KV paths read.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DEFAULT_HMAC_REFRESH_MS,
  decideStaticWrite,
  kvReadPath,
  type StaticFacts,
  staticNextLookMs,
} from "../../src/operator/kinds/static/decisions.ts";
import { clampRequeue, MIN_REQUEUE_MS } from "../../src/runtime/requeue.ts";
import { MAX_TIMER_DELAY_MS } from "../../src/util/timers.ts";

function facts(over: Partial<StaticFacts> = {}): StaticFacts {
  return {
    hmacOn: true,
    generation: 2,
    lastGeneration: 2,
    mac: "bWFjLW9m",
    lastMAC: "bWFjLW9m",
    destination: "current",
    ...over,
  };
}

test("decideStaticWrite: write reasons in order of precedence, restart only on changed data", () => {
  const cases: [string, Partial<StaticFacts>, string, boolean][] = [
    [
      "HMAC off: every read is written",
      { hmacOn: false, lastMAC: undefined, destination: "missing" },
      "HMACDisabled",
      false,
    ],
    ["first sync", { lastMAC: undefined, generation: 3, destination: "missing" }, "InitialSync", false],
    ["Vault data changed", { mac: "b3RoZXI=", generation: 3, destination: "drifted" }, "DataChanged", true],
    ["spec changed", { generation: 3, destination: "missing" }, "ResourceUpdated", false],
    ["destination deleted", { destination: "missing" }, "InexistentDestination", false],
    ["destination edited or taken over", { destination: "drifted" }, "SecretDataDrift", false],
  ];
  for (const [name, over, reason, restart] of cases) {
    assert.deepEqual(decideStaticWrite(facts(over)), { action: "write", reason, restart }, name);
  }
});

test("decideStaticWrite: nothing to write when data, spec and destination are as last written", () => {
  assert.deepEqual(decideStaticWrite(facts()), { action: "skip", reason: "SecretCurrent" });
  // An empty MAC never counts as equal: a status without one is a first sync.
  assert.equal(decideStaticWrite(facts({ mac: "", lastMAC: "" })).action, "write");
});

test("staticNextLookMs: refreshAfter, else a minute with HMAC on, else never; at 80-90 % of the period", () => {
  const cases: [string, { refreshAfter?: string; hmacSecretData?: boolean }, number, number | undefined][] = [
    ["refreshAfter, no jitter", { refreshAfter: "30s" }, 0, 27_000],
    ["refreshAfter, most jitter", { refreshAfter: "30s" }, 0.999999, 24_000],
    ["HMAC default", {}, 0, DEFAULT_HMAC_REFRESH_MS * 0.9],
    ["HMAC off, no refreshAfter", { hmacSecretData: false }, 0.5, undefined],
    ["HMAC off, refreshAfter", { hmacSecretData: false, refreshAfter: "10s" }, 0.5, 8_500],
    // Accepted as VSO accepts them, but never read more than once a second.
    ["refreshAfter 0.001s: the floor", { refreshAfter: "0.001s" }, 0, MIN_REQUEUE_MS],
    ["refreshAfter 1s jittered below a second: the floor", { refreshAfter: "1s" }, 0.5, MIN_REQUEUE_MS],
    [
      "refreshAfter 1ms, HMAC off: the floor",
      { hmacSecretData: false, refreshAfter: "1ms" },
      0,
      MIN_REQUEUE_MS,
    ],
    ["refreshAfter 2s: above the floor", { refreshAfter: "2s" }, 0, 1_800],
  ];
  for (const [name, spec, random, want] of cases) assert.equal(staticNextLookMs(spec, random), want, name);
});

test("clampRequeue: every computed requeue is at least a second and no longer than a timer waits", () => {
  const cases: [string, number, number][] = [
    ["sub-millisecond", 0.4, MIN_REQUEUE_MS],
    ["1 ms", 1, MIN_REQUEUE_MS],
    ["just under the floor", 999, MIN_REQUEUE_MS],
    ["the floor", 1000, 1000],
    ["above the floor", 27_000, 27_000],
    ["zero", 0, MIN_REQUEUE_MS],
    ["negative (already due)", -5_000, MIN_REQUEUE_MS],
    ["beyond a timer's range", 2 ** 40, MAX_TIMER_DELAY_MS],
    ["infinite", Number.POSITIVE_INFINITY, MAX_TIMER_DELAY_MS],
  ];
  for (const [name, ms, want] of cases) assert.equal(clampRequeue(ms), want, name);
});

test("kvReadPath: KV v1 and v2, a pinned version, stray slashes", () => {
  assert.deepEqual(kvReadPath({ type: "kv-v1", mount: "/kv/", path: "/app/db" }), { path: "kv/app/db" });
  assert.deepEqual(kvReadPath({ type: "kv-v2", mount: "secret", path: "app" }), {
    path: "secret/data/app",
    query: undefined,
  });
  assert.deepEqual(kvReadPath({ type: "kv-v2", mount: "secret", path: "app", version: 3 }), {
    path: "secret/data/app",
    query: { version: "3" },
  });
});
