// The work queue's guarantees: de-duplication, one worker per key, re-queue of
// keys added while processing, earliest delayed add wins, priorities, backoff.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RateLimiter, WorkQueue } from "../../src/runtime/workqueue.ts";

test("a key queued twice is handed out once", async () => {
  const q = new WorkQueue();
  q.add("a");
  q.add("a");
  q.add("b");
  assert.equal(q.len(), 2);
  assert.equal(await q.get(), "a");
  assert.equal(await q.get(), "b");
  assert.equal(q.len(), 0);
});

test("a key added while being processed is re-queued after done, never handed to a second worker", async () => {
  const q = new WorkQueue();
  q.add("a");
  const k = await q.get();
  q.add("a");
  assert.equal(q.len(), 0, "not queued while processing");
  let second: string | undefined;
  void q.get().then((x) => {
    second = x;
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(second, undefined, "a second worker does not get the key being processed");
  q.done(k!);
  await new Promise((r) => setImmediate(r));
  assert.equal(second, "a");
});

test("changes are served before periodic refreshes, and a change promotes a queued refresh", async () => {
  const q = new WorkQueue();
  q.add("refresh-1", "low");
  q.add("refresh-2", "low");
  q.add("new", "high");
  q.add("refresh-2", "high");
  assert.equal(await q.get(), "new");
  assert.equal(await q.get(), "refresh-2");
  assert.equal(await q.get(), "refresh-1");
});

test("the earliest delayed add wins, and an immediate add cancels the delay", async () => {
  const q = new WorkQueue();
  q.addAfter("a", 10_000);
  q.addAfter("a", 30);
  q.addAfter("a", 20_000);
  const due = q.pendingDue("a")!;
  assert.ok(due - Date.now() <= 30);
  const t0 = Date.now();
  assert.equal(await q.get(), "a");
  assert.ok(Date.now() - t0 < 1000);
  q.done("a");
  q.addAfter("b", 60_000);
  q.add("b");
  assert.equal(q.pendingDue("b"), undefined);
  assert.equal(await q.get(), "b");
  q.shutdown();
});

test("per-key exponential backoff, reset by forget", () => {
  const rl = new RateLimiter({ baseDelayMs: 10, maxDelayMs: 100, qps: 1000, burst: 1000 });
  assert.deepEqual(
    [rl.when("k"), rl.when("k"), rl.when("k"), rl.when("k"), rl.when("k")],
    [10, 20, 40, 80, 100],
  );
  assert.equal(rl.when("other"), 10);
  rl.forget("k");
  assert.equal(rl.when("k"), 10);
});

test("the overall bucket limits bursts across keys", () => {
  const rl = new RateLimiter({ baseDelayMs: 1, maxDelayMs: 1, qps: 10, burst: 2 });
  assert.equal(rl.when("a"), 1);
  assert.equal(rl.when("b"), 1);
  assert.ok(rl.when("c") >= 90, "the third in a burst of 2 waits for a token");
});

test("shutdown releases waiting workers", async () => {
  const q = new WorkQueue();
  const p = q.get();
  q.shutdown();
  assert.equal(await p, undefined);
});

test("an observer sees each add, the time a key waited and each retry", async () => {
  const seen = { added: 0, waited: [] as number[], retried: 0 };
  const q = new WorkQueue(new RateLimiter(), {
    added: () => seen.added++,
    waited: (s) => seen.waited.push(s),
    retried: () => seen.retried++,
  });
  q.add("a");
  q.add("a"); // already queued: not a new add
  q.add("b");
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(await q.get(), "a");
  assert.equal(seen.added, 2);
  assert.equal(seen.waited.length, 1);
  assert.ok(seen.waited[0] >= 0.015, `waited ${seen.waited[0]} s`);
  q.done("a");
  q.addRateLimited("a");
  assert.equal(seen.retried, 1);
  const waiting = q.get(); // "b" is still queued
  assert.equal(await waiting, "b");
  assert.equal(seen.waited.length, 2);
  q.shutdown();
});
