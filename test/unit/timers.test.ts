// Requeue delays longer than Node's 32-bit timer limit (~24.8 days) must wait,
// not fire after 1 ms (issue 10, defect 2).
import assert from "node:assert/strict";
import { test } from "node:test";
import { WorkQueue } from "../../src/runtime/workqueue.ts";
import { clampDelay, MAX_TIMER_DELAY_MS } from "../../src/util/timers.ts";

const DAY = 24 * 3600 * 1000;

test("clampDelay keeps what a timer can hold and caps the rest", () => {
  assert.equal(clampDelay(5000), 5000);
  assert.equal(clampDelay(-3), 0);
  assert.equal(clampDelay(MAX_TIMER_DELAY_MS), MAX_TIMER_DELAY_MS);
  assert.equal(clampDelay(30 * DAY), MAX_TIMER_DELAY_MS);
  assert.equal(clampDelay(Number.POSITIVE_INFINITY), MAX_TIMER_DELAY_MS);
  assert.equal(clampDelay(Number.NaN), MAX_TIMER_DELAY_MS);
});

for (const [what, delay] of [
  ["720h (a VaultPKISecret ttl)", 720 * 3600 * 1000],
  ["1000h (a dynamic lease)", 1000 * 3600 * 1000],
  ["Infinity", Number.POSITIVE_INFINITY],
  ["NaN", Number.NaN],
] as const) {
  test(`a requeue after ${what} does not fire at once`, async () => {
    const q = new WorkQueue();
    const before = Date.now();
    q.addAfter("k", delay);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(q.len(), 0, "the key must still be waiting");
    assert.ok((q.pendingDue("k") ?? 0) - before >= MAX_TIMER_DELAY_MS, "due no earlier than the clamp");
    q.shutdown();
  });
}
