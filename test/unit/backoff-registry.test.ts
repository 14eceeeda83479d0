// One backoff per controller and object: the reconcilers' BackoffRegistry
// keeps a streak per (controller, namespace/name), so one kind's success never
// resets another kind's failing object of the same name; configuration errors
// are rechecked later each time (4-4.5 s, doubling, at most 5 minutes) until
// the object's inputs or something it references change, or it succeeds.
import assert from "node:assert/strict";
import { test } from "node:test";
import { BackoffRegistry, CONFIG_RECHECK } from "../../src/operator/backoff.ts";

const POLICY = { initialIntervalMs: 1000, maxIntervalMs: 60_000, randomizationFactor: 0, multiplier: 2 };
/** A registry whose jitter is fixed: random() = 0 gives 90 % of each recheck interval. */
const registry = (now = () => 0) => new BackoffRegistry(POLICY, { now, random: () => 0 });

test("transient streaks are per controller and object: another kind's success leaves them", () => {
  const b = registry();
  assert.equal(b.next("vaultpkisecret", "ns/app"), 1000);
  assert.equal(b.next("vaultpkisecret", "ns/app"), 2000);
  // A VaultStaticSecret of the same namespace/name succeeds.
  assert.equal(b.next("vaultstaticsecret", "ns/app"), 1000, "its own streak");
  b.reset("vaultstaticsecret", "ns/app");
  assert.ok(b.failing("vaultpkisecret", "ns/app"));
  assert.ok(!b.failing("vaultstaticsecret", "ns/app"));
  assert.equal(b.next("vaultpkisecret", "ns/app"), 4000, "the PKI streak goes on");
  b.reset("vaultpkisecret", "ns/app");
  assert.equal(b.next("vaultpkisecret", "ns/app"), 1000, "its own success resets it");
});

test("configuration rechecks: 4-4.5 s first, twice as late each time, at most 5 minutes", () => {
  const b = registry();
  const seen: number[] = [];
  for (let i = 0; i < 10; i++) seen.push(b.configError("vaultdynamicsecret", "ns/a", "3"));
  assert.deepEqual(seen, [4500, 9000, 18_000, 36_000, 72_000, 144_000, 270_000, 270_000, 270_000, 270_000]);
  assert.ok(seen.every((ms) => ms <= CONFIG_RECHECK.maxMs));
  // The jitter keeps every recheck within 80-90 % of its interval.
  const hi = new BackoffRegistry(POLICY, { random: () => 0.999_999 });
  assert.equal(hi.configError("c", "ns/a", "1"), 4000);
});

test("a configuration streak starts over when the inputs change, a reference changes, or the object succeeds", () => {
  const b = registry();
  const c = "vaultstaticsecret";
  b.configError(c, "ns/a", "gen 3");
  b.configError(c, "ns/a", "gen 3");
  assert.equal(b.configError(c, "ns/a", "gen 3"), 18_000);
  assert.equal(b.configError(c, "ns/a", "gen 4"), 4500, "a new generation (or new labels) starts over");
  assert.equal(b.configError(c, "ns/a", "gen 4"), 9000);
  b.clearConfig(c, "ns/a");
  assert.equal(b.configError(c, "ns/a", "gen 4"), 4500, "a referenced object changed");
  b.configError(c, "ns/a", "gen 4");
  b.reset(c, "ns/a");
  assert.equal(b.configError(c, "ns/a", "gen 4"), 4500, "a success ends the streak");
});

test("configuration and transient streaks are separate, and per controller too", () => {
  const b = registry();
  b.configError("vaultpkisecret", "ns/a", "1");
  b.configError("vaultpkisecret", "ns/a", "1");
  assert.equal(b.configError("vaultstaticsecret", "ns/a", "1"), 4500, "another controller's streak");
  b.clearConfig("vaultstaticsecret", "ns/a");
  assert.equal(b.configError("vaultpkisecret", "ns/a", "1"), 18_000, "untouched by the other controller");
  assert.equal(b.next("vaultpkisecret", "ns/a"), 1000, "the transient streak is its own");
  b.clearConfig("vaultpkisecret", "ns/a");
  assert.equal(b.next("vaultpkisecret", "ns/a"), 2000, "clearConfig leaves the transient streak");
});

test("the transient streak still stops after --backoff-max-elapsed-time", () => {
  let now = 0;
  const b = new BackoffRegistry({ ...POLICY, maxElapsedMs: 10_000 }, { now: () => now, random: () => 0.5 });
  assert.equal(b.next("vaultdynamicsecret", "ns/a"), 1000);
  now = 10_000;
  assert.equal(b.next("vaultdynamicsecret", "ns/a"), undefined);
  assert.equal(b.next("vaultpkisecret", "ns/a"), 1000, "another controller's streak has its own start");
});
