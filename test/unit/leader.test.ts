// Leader election against a fake Lease API that can stall or fail: every
// renewal, its retries included, is bounded by the renew deadline (the request
// in flight is aborted), leadership is given up when the deadline passes, well
// before a standby could take the lease over, and a renewal that recovers in
// time keeps it. The durations are client-go's checks.
import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import { KubeApiError } from "../../src/kube/client.ts";
import { LeaderElector, validateLeaderElection } from "../../src/runtime/leader.ts";
import type { Lease, LeaseApi } from "../../src/runtime/lease-api.ts";

const log = pino({ level: "silent" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Mode = "ok" | "stall" | "fail";

/** An in-memory Lease. In "stall" mode a request never answers until its signal aborts; in "fail" mode it gets a 500. */
function fakeLeases() {
  const state = {
    mode: "ok" as Mode,
    lease: null as Lease | null,
    requests: 0,
    aborted: 0,
    stalledSince: [] as number[],
  };
  const answer = async <T>(signal: AbortSignal, value: () => T): Promise<T> => {
    state.requests++;
    if (state.mode === "fail") throw new KubeApiError("PUT", "/leases/x", 500, "InternalError", "etcd down");
    if (state.mode === "stall") {
      state.stalledSince.push(Date.now());
      await new Promise<never>((_, reject) => {
        const onAbort = () => {
          state.aborted++;
          reject(new Error("aborted"));
        };
        if (signal.aborted) onAbort();
        else signal.addEventListener("abort", onAbort, { once: true });
      });
    }
    return value();
  };
  const api: LeaseApi = {
    get: (signal) => answer(signal, () => (state.lease ? structuredClone(state.lease) : null)),
    create: (lease, signal) =>
      answer(signal, () => {
        if (state.lease) throw new KubeApiError("POST", "/leases", 409, "AlreadyExists", "exists");
        state.lease = structuredClone(lease);
      }),
    replace: (lease, signal) =>
      answer(signal, () => {
        state.lease = structuredClone(lease);
      }),
  };
  return { api, state };
}

const TIMING = { leaseDurationMs: 1500, renewDeadlineMs: 400, retryPeriodMs: 50 };

function elector(api: LeaseApi, identity = "me") {
  return new LeaderElector(api, { namespace: "ns", name: "lock", identity, ...TIMING }, log);
}

test("a renewal stalled on the API server is aborted at the renew deadline and leadership given up", async () => {
  const { api, state } = fakeLeases();
  const e = elector(api);
  assert.equal(await e.acquire(), true);
  assert.equal(state.lease?.spec?.holderIdentity, "me");
  let lostAt = 0;
  const holding = e.holdLeadership(() => {
    lostAt = Date.now();
  });
  await sleep(150); // a few healthy renewals
  assert.equal(e.isLeader(), true);
  assert.equal(lostAt, 0);

  state.mode = "stall";
  const stalledAt = Date.now();
  await holding;
  const tookMs = lostAt - stalledAt;
  assert.ok(lostAt > 0, "onLost was called");
  assert.equal(e.isLeader(), false);
  // The renewal that stalled began within a retry period, and the deadline ended it.
  assert.ok(
    tookMs >= TIMING.renewDeadlineMs - 20 && tookMs < TIMING.retryPeriodMs + TIMING.renewDeadlineMs + 250,
    `gave up ${tookMs} ms after the stall (deadline ${TIMING.renewDeadlineMs} ms)`,
  );
  assert.ok(tookMs < TIMING.leaseDurationMs, "before a standby could take the lease over");
  assert.equal(state.stalledSince.length, 1, "one request stalled: it was never left to its own timeout");
  assert.equal(state.aborted, 1, "the stalled request was aborted");

  // Nothing is tried after leadership is lost.
  const requests = state.requests;
  state.mode = "ok";
  await sleep(150);
  assert.equal(state.requests, requests, "no renewal after leadership was lost");
});

test("failing renewals are retried every retry period within the deadline, then leadership is given up", async () => {
  const { api, state } = fakeLeases();
  const e = elector(api);
  await e.acquire();
  let lost = false;
  const holding = e.holdLeadership(() => {
    lost = true;
  });
  await sleep(100);
  state.mode = "fail";
  const before = state.requests;
  const failedAt = Date.now();
  await holding;
  assert.equal(lost, true);
  const tookMs = Date.now() - failedAt;
  assert.ok(tookMs < TIMING.retryPeriodMs + TIMING.renewDeadlineMs + 250, `gave up after ${tookMs} ms`);
  const attempts = state.requests - before;
  // One GET per attempt (it fails), one attempt per retry period over the deadline.
  assert.ok(
    attempts >= 4 && attempts <= TIMING.renewDeadlineMs / TIMING.retryPeriodMs + 2,
    `${attempts} attempts`,
  );
});

test("a renewal that recovers before the deadline keeps leadership", async () => {
  const { api, state } = fakeLeases();
  const e = elector(api);
  await e.acquire();
  let lost = false;
  const holding = e.holdLeadership(() => {
    lost = true;
  });
  state.mode = "fail";
  await sleep(TIMING.renewDeadlineMs / 2);
  state.mode = "ok";
  await sleep(TIMING.renewDeadlineMs * 2);
  assert.equal(lost, false);
  assert.equal(e.isLeader(), true);
  await e.release(AbortSignal.timeout(1000));
  await holding;
  assert.equal(state.lease?.spec?.holderIdentity, "", "released on a clean stop");
});

/** `api`, except that while `stalled()` every request hangs until its signal aborts. */
function stallable(api: LeaseApi, stalled: () => boolean): LeaseApi {
  const gate = <T>(signal: AbortSignal, go: () => Promise<T>): Promise<T> =>
    stalled()
      ? new Promise<T>((_, reject) => {
          if (signal.aborted) reject(new Error("aborted"));
          else signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true });
        })
      : go();
  return {
    get: (signal) => gate(signal, () => api.get(signal)),
    create: (lease, signal) => gate(signal, () => api.create(lease, signal)),
    replace: (lease, signal) => gate(signal, () => api.replace(lease, signal)),
  };
}

test("a stalled leader gives leadership up before a standby takes the lease over", async () => {
  const { api, state } = fakeLeases();
  let leaderStalled = false;
  const leader = elector(
    stallable(api, () => leaderStalled),
    "a",
  );
  await leader.acquire();
  let lostAt = 0;
  const holding = leader.holdLeadership(() => {
    lostAt = Date.now();
  });
  const standby = elector(api, "b");
  let standbyAt = 0;
  const waiting = standby.acquire().then(() => {
    standbyAt = Date.now();
  });
  await sleep(TIMING.leaseDurationMs + 300);
  assert.equal(standbyAt, 0, "a lease renewed in time is not taken");

  leaderStalled = true; // the leader's API requests hang from now on
  await holding;
  await waiting;
  assert.ok(lostAt > 0, "the stalled leader gave up");
  assert.ok(lostAt < standbyAt, `it stopped ${standbyAt - lostAt} ms before the standby led`);
  assert.equal(state.lease?.spec?.holderIdentity, "b");
  assert.equal(state.lease?.spec?.leaseTransitions, 1);
  await standby.release(AbortSignal.timeout(1000));
});

test("release gives up when its signal aborts, however long the server stalls", async () => {
  const { api, state } = fakeLeases();
  const e = elector(api);
  await e.acquire();
  state.mode = "stall";
  const t0 = Date.now();
  await e.release(AbortSignal.timeout(100));
  assert.ok(Date.now() - t0 < 1000);
  assert.equal(e.isLeader(), false);
});

test("durations leader election cannot work with are refused, as client-go refuses them", () => {
  const ok = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
  validateLeaderElection(ok);
  assert.throws(
    () => validateLeaderElection({ ...ok, renewDeadlineMs: 15_000 }),
    /lease-duration must be greater than --leader-election-renew-deadline/,
  );
  assert.throws(
    () => validateLeaderElection({ ...ok, retryPeriodMs: 9_000 }),
    /renew-deadline must be greater than 1.2 x --leader-election-retry-period/,
  );
  assert.throws(() => validateLeaderElection({ ...ok, retryPeriodMs: 0 }), /greater than zero/);
});
