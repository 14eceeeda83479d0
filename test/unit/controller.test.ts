// The controller runtime's typed failures: configuration failures wait for a
// change, transient ones back off in the queue (and stop after
// --backoff-max-elapsed-time), and every outcome carries controller-runtime's
// result label.
import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import { ExponentialBackoff } from "../../src/runtime/backoff.ts";
import { Controller, type ReconcileOutcome, type ReconcileResult } from "../../src/runtime/controller.ts";
import { ConfigurationError, TransientError } from "../../src/runtime/errors.ts";
import { MIN_REQUEUE_MS } from "../../src/runtime/requeue.ts";

const log = pino({ level: "silent" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (up to 5 s, for a loaded machine) until `list` (outcomes or calls) holds `n` entries. */
async function outcomesReach(list: unknown[], n: number): Promise<void> {
  for (const end = Date.now() + 5000; list.length < n && Date.now() < end; ) await sleep(5);
}

/** A controller whose reconciler answers from `script` and records each call and outcome. */
function harness(
  script: (n: number) => ReconcileResult | Error | undefined,
  backoff = {
    initialIntervalMs: 20,
    maxIntervalMs: 40,
    multiplier: 2,
    randomizationFactor: 0,
    maxElapsedMs: 0,
  },
) {
  const calls: number[] = [];
  const outcomes: ReconcileOutcome[] = [];
  const c = new Controller({
    name: "t",
    workers: 1,
    log,
    backoff,
    reconcile: async () => {
      calls.push(Date.now());
      const r = script(calls.length);
      if (r instanceof Error) throw r;
      return r;
    },
    onReconcileDone: (_n, o) => outcomes.push(o),
  });
  c.start();
  return { c, calls, outcomes };
}

test("a transient failure is retried with the backoff and counted as an error until it succeeds", async () => {
  const { c, calls, outcomes } = harness((n) =>
    n < 3 ? { failure: "transient" } : { requeueAfterMs: 60_000 },
  );
  c.enqueue("ns/a");
  await outcomesReach(outcomes, 3);
  await c.stop();
  assert.deepEqual(outcomes, ["error", "error", "requeue_after"]);
  assert.ok(calls[1] - calls[0] >= 18, `first retry after the initial interval (${calls[1] - calls[0]} ms)`);
  assert.ok(calls[2] - calls[1] >= 36, `second retry doubled (${calls[2] - calls[1]} ms)`);
  assert.equal(c.backoff.failing("ns/a"), false, "a success resets the backoff");
});

test("a configuration failure is not retried until the resource is enqueued again", async () => {
  const { c, calls, outcomes } = harness((n) => (n === 1 ? { failure: "configuration" } : undefined));
  c.enqueue("ns/a");
  await sleep(150);
  assert.equal(calls.length, 1, "no retry of a configuration failure");
  c.enqueue("ns/a"); // the spec changed
  await outcomesReach(outcomes, 2);
  await c.stop();
  assert.deepEqual(outcomes, ["error", "success"]);
});

test("a thrown ConfigurationError is terminal too; any other throw is retried", async () => {
  const { c, calls, outcomes } = harness((n) =>
    n === 1 ? new Error("conflict") : n === 2 ? new ConfigurationError("bad field", "spec.x") : undefined,
  );
  c.enqueue("ns/a");
  await outcomesReach(outcomes, 2);
  await sleep(50); // a third call would come now if the ConfigurationError were retried
  await c.stop();
  assert.equal(calls.length, 2);
  assert.deepEqual(outcomes, ["error", "error"]);
});

test("a thrown TransientError backs off like a reported transient failure", async () => {
  const { c, calls, outcomes } = harness((n) => (n === 1 ? new TransientError("vault down") : undefined));
  c.enqueue("ns/a");
  await outcomesReach(outcomes, 2);
  await c.stop();
  assert.deepEqual(outcomes, ["error", "success"]);
  assert.ok(calls[1] - calls[0] >= 18, `retried after the backoff interval (${calls[1] - calls[0]} ms)`);
});

test("a configuration failure may ask for a recheck, no sooner than the requeue floor", async () => {
  const { c, calls } = harness(() => ({ failure: "configuration", requeueAfterMs: 20 }));
  c.enqueue("ns/a");
  await outcomesReach(calls, 2);
  await c.stop();
  assert.equal(calls.length, 2, "rechecked");
  assert.ok(calls[1] - calls[0] >= MIN_REQUEUE_MS - 5, `after the floor (${calls[1] - calls[0]} ms)`);
});

test("a requeueAfterMs below a second is raised to the floor, whichever kind computed it", async () => {
  const { c, calls, outcomes } = harness(() => ({ requeueAfterMs: 1 }));
  c.enqueue("ns/a");
  await outcomesReach(calls, 2);
  await sleep(300); // a third call would come now if the requeue were 1 ms
  await c.stop();
  assert.equal(calls.length, 2, `one refresh, not hundreds (${calls.length} calls)`);
  assert.ok(calls[1] - calls[0] >= MIN_REQUEUE_MS - 5, `after the floor (${calls[1] - calls[0]} ms)`);
  assert.deepEqual(outcomes, ["requeue_after", "requeue_after"]);
});

test("--backoff-max-elapsed-time stops the retries of a transient failure", async () => {
  const { c, calls, outcomes } = harness(() => ({ failure: "transient" }), {
    initialIntervalMs: 20,
    maxIntervalMs: 20,
    multiplier: 1,
    randomizationFactor: 0,
    maxElapsedMs: 100,
  });
  c.enqueue("ns/a");
  await sleep(400);
  const n = calls.length;
  await sleep(150);
  await c.stop();
  assert.equal(calls.length, n, "no more attempts after giving up");
  assert.ok(n >= 2 && n <= 8, `retried, for about 100 ms of 20 ms retries (${n} attempts)`);
  assert.ok(outcomes.every((o) => o === "error"));
});

test("without a maximum elapsed time the backoff never gives up and is capped", () => {
  let now = 0;
  const b = new ExponentialBackoff(
    {
      initialIntervalMs: 5000,
      maxIntervalMs: 60_000,
      multiplier: 1.5,
      randomizationFactor: 0,
      maxElapsedMs: 0,
    },
    { now: () => now },
  );
  const delays: number[] = [];
  for (let i = 0; i < 12; i++) {
    const d = b.next("k");
    assert.ok(d !== undefined);
    delays.push(d);
    now += d;
  }
  assert.deepEqual(delays.slice(0, 4), [5000, 7500, 11250, 16875]);
  assert.equal(delays[11], 60_000);
});

test("with a maximum elapsed time the backoff gives up once, then starts a new streak", () => {
  let now = 0;
  const b = new ExponentialBackoff(
    {
      initialIntervalMs: 5000,
      maxIntervalMs: 60_000,
      multiplier: 1.5,
      randomizationFactor: 0.5,
      maxElapsedMs: 30_000,
    },
    { now: () => now, random: () => 1 },
  );
  assert.equal(b.next("k"), 7500, "randomized up to +50 %");
  now = 29_999;
  assert.notEqual(b.next("k"), undefined);
  now = 30_000;
  assert.equal(b.next("k"), undefined, "given up after 30 s");
  assert.equal(b.next("k"), 7500, "a later failure starts over");
});
