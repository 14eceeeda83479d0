// The informer's list and watch retries, against an in-process fake of the API
// server's list and watch and an injected clock: a watch that keeps failing
// (403, a deleted CRD, an ERROR event, a stream closed at once) backs off from
// 800 ms doubling to the 30 s cap, as client-go's reflector does, and reports
// each failure once with its delay; only a watch that lived starts the streak
// over; a 410 relists at once.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CORE, KubeApiError, type KubeClient, type KubeObject } from "../../src/kube/client.ts";
import { Informer, type RetryInfo, ShortWatchError, WatchStatusError } from "../../src/runtime/informer.ts";
import { REFLECTOR_BACKOFF, RetryBackoff } from "../../src/runtime/retry-backoff.ts";

type WatchEvent = { type: string; object: KubeObject };
/** What one watch request does: fail, deliver events then end (or fail), or end at once. */
type WatchScript = { events?: WatchEvent[]; lastsMs?: number; fail?: Error };

const CAP = REFLECTOR_BACKOFF.capMs;
const forbidden = () => new KubeApiError("WATCH", "/api/v1/configmaps", 403, "Forbidden", "RBAC says no");

/**
 * An informer over a fake API server. `watches(n)` scripts the n-th watch
 * (from 1), `lists(n)` the n-th list. The clock only moves when the informer
 * sleeps (by the delay it asked for) or a scripted watch lasts; the run stops
 * after `maxSleeps` retries.
 */
function harness(opts: {
  watches: (n: number) => WatchScript;
  lists?: (n: number) => Error | undefined;
  maxSleeps: number;
  random?: () => number;
}) {
  let now = 1_000_000;
  const calls = { lists: 0, watches: 0, watchRVs: [] as string[] };
  const sleeps: number[] = [];
  const reports: { err: unknown; retry?: RetryInfo }[] = [];
  let rv = 100;
  const kube = {
    async list() {
      calls.lists++;
      const err = opts.lists?.(calls.lists);
      if (err) throw err;
      return { items: [], metadata: { resourceVersion: String(++rv) } };
    },
    async watch(
      _rt: unknown,
      _ns: unknown,
      q: { resourceVersion?: string },
      onEvent: (ev: WatchEvent) => void,
      signal: AbortSignal,
    ) {
      calls.watches++;
      calls.watchRVs.push(q.resourceVersion ?? "");
      const script = opts.watches(calls.watches);
      for (const ev of script.events ?? []) {
        if (signal.aborted) throw new Error("aborted");
        onEvent(ev);
      }
      if (signal.aborted) throw new Error("aborted");
      now += script.lastsMs ?? 0;
      if (script.fail) throw script.fail;
    },
  } as unknown as KubeClient;
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const inf = new Informer(kube, CORE.configmaps, {
    onError: (err, retry) => reports.push({ err, retry }),
    timers: {
      now: () => now,
      random: opts.random ?? (() => 0),
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
        if (sleeps.length >= opts.maxSleeps) {
          void inf.stop().then(done);
        }
        // Let other work run, as a real timer would.
        await new Promise((r) => setImmediate(r));
      },
    },
  });
  inf.start();
  return { inf, calls, sleeps, reports, finished };
}

function configMap(name: string, resourceVersion: string): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "ns", resourceVersion } };
}

test("RetryBackoff: 800 ms doubling to the 30 s cap, jittered downwards, started over by reset", () => {
  const b = new RetryBackoff({}, () => 0);
  const delays = Array.from({ length: 9 }, () => b.next());
  assert.deepEqual(delays, [800, 1600, 3200, 6400, 12_800, 25_600, CAP, CAP, CAP]);
  assert.equal(b.failures, 9);
  b.reset();
  assert.equal(b.next(), 800, "a new streak starts at the initial delay");

  const most = new RetryBackoff({}, () => 1);
  assert.deepEqual([most.next(), most.next()], [400, 800], "at most half is taken off");
  for (let i = 0; i < 100; i++) most.next();
  assert.equal(most.next(), CAP / 2, "never above the cap, still jittered there");
  const mid = new RetryBackoff({}, () => 0.5);
  assert.equal(mid.next(), 600);
});

test("a watch refused again and again (403) backs off to the cap, one report per step, without relisting", async () => {
  const h = harness({ watches: () => ({ fail: forbidden() }), maxSleeps: 10 });
  await h.finished;
  assert.deepEqual(h.sleeps, [800, 1600, 3200, 6400, 12_800, 25_600, CAP, CAP, CAP, CAP]);
  assert.equal(h.reports.length, h.sleeps.length, "one report per backoff step");
  assert.deepEqual(
    h.reports.map((r) => r.retry?.retryInMs),
    h.sleeps,
    "each report carries its delay",
  );
  assert.deepEqual(
    h.reports.map((r) => r.retry?.failures),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
  assert.ok(h.reports.every((r) => r.err instanceof KubeApiError && r.err.status === 403));
  assert.equal(h.calls.lists, 1, "the watch resumes from the list's resourceVersion");
  assert.ok(h.inf.hasSynced());
});

test("a failing list (a deleted CRD: 404) backs off the same way", async () => {
  const h = harness({
    lists: () =>
      new KubeApiError("GET", "/apis/x/v1/things", 404, "NotFound", "the server could not find it"),
    watches: () => ({}),
    maxSleeps: 8,
  });
  await h.finished;
  assert.deepEqual(h.sleeps, [800, 1600, 3200, 6400, 12_800, 25_600, CAP, CAP]);
  assert.equal(h.calls.watches, 0);
  assert.equal(h.inf.hasSynced(), false);
});

test("a watch that lived starts the streak over: by delivering an event, or by staying open", async () => {
  const h = harness({
    watches: (n) =>
      n === 4
        ? { events: [{ type: "ADDED", object: configMap("a", "200") }], fail: new Error("socket hang up") }
        : n === 8
          ? { lastsMs: 10_000, fail: new Error("other side closed") }
          : { fail: forbidden() },
    maxSleeps: 10,
  });
  await h.finished;
  assert.deepEqual(h.sleeps, [800, 1600, 3200, 800, 1600, 3200, 6400, 800, 1600, 3200]);
  assert.ok(h.inf.get("ns/a"), "the event reached the store");
  assert.equal(h.calls.watchRVs[4], "200", "the next watch resumes after the delivered event");
});

test("a list that works does not reset the streak of a watch that keeps failing", async () => {
  // Every watch fails with a 410 after which the relist works: without the rule,
  // list, watch, 410 would spin without ever waiting.
  const gone = () =>
    new KubeApiError("WATCH", "/api/v1/configmaps", 410, "Expired", "too old resource version");
  const h = harness({ watches: () => ({ fail: gone() }), maxSleeps: 5 });
  await h.finished;
  assert.deepEqual(h.sleeps, [800, 1600, 3200, 6400, 12_800]);
  assert.equal(h.calls.lists, 6, "each 410 relists, the first at once, the next ones after a backoff step");
});

test("a 410 relists at once, without waiting out a backoff step", async () => {
  const h = harness({
    watches: (n) =>
      n === 1
        ? { events: [{ type: "ERROR", object: { code: 410, reason: "Expired" } as unknown as KubeObject }] }
        : { fail: forbidden() },
    maxSleeps: 2,
  });
  await h.finished;
  assert.equal(h.calls.lists, 2, "relisted after the 410");
  assert.deepEqual(h.sleeps, [800, 1600], "no wait before the relist; the 403s after it back off");
  assert.equal(h.inf.stats.relists410, 1);
});

test("a watch ended by an ERROR event other than 410 waits out a backoff step, never re-watches at once", async () => {
  const status = { kind: "Status", code: 500, reason: "InternalError", message: "etcd leader changed" };
  const h = harness({
    watches: () => ({ events: [{ type: "ERROR", object: status as unknown as KubeObject }] }),
    maxSleeps: 4,
  });
  await h.finished;
  assert.deepEqual(h.sleeps, [800, 1600, 3200, 6400]);
  const err = h.reports[0]?.err;
  assert.ok(err instanceof WatchStatusError);
  assert.equal(err.code, 500);
  assert.match(err.message, /500 InternalError: etcd leader changed/);
  assert.equal(h.calls.lists, 1, "the watch resumes from the same resourceVersion");
});

test("a watch the server closes at once with nothing delivered counts as a failure", async () => {
  const h = harness({ watches: () => ({ lastsMs: 5 }), maxSleeps: 3 });
  await h.finished;
  assert.deepEqual(h.sleeps, [800, 1600, 3200]);
  assert.ok(h.reports.every((r) => r.err instanceof ShortWatchError));
});

test("a watch that ends normally after living re-watches at once, with no report", async () => {
  const h = harness({
    watches: (n) => (n <= 3 ? { lastsMs: 300_000 } : { fail: forbidden() }),
    maxSleeps: 1,
  });
  await h.finished;
  assert.equal(h.calls.watches, 4);
  assert.deepEqual(h.sleeps, [800]);
  assert.equal(h.reports.length, 1);
});
