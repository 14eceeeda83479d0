// The metrics gate: no token, a token the API server does not authenticate,
// a user without `get` on /metrics, and an allowed user; answers are cached
// per token for the TTL and API failures are never cached.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type MetricsAuthority, MetricsGate, type ReviewedUser } from "../../src/operator/secure-metrics.ts";

function fakeAuthority(users: Record<string, ReviewedUser>, allowed: Set<string>) {
  const calls = { authn: 0, authz: 0, fail: false };
  const authority: MetricsAuthority = {
    async authenticate(token) {
      calls.authn++;
      if (calls.fail) throw new Error("API server unreachable");
      return users[token];
    },
    async authorize(user, path) {
      calls.authz++;
      return path === "/metrics" && allowed.has(user.username);
    },
  };
  return { authority, calls };
}

test("the gate refuses anonymous, unauthenticated and unauthorized scrapes and admits an allowed user", async () => {
  const { authority } = fakeAuthority(
    { good: { username: "system:serviceaccount:monitoring:prometheus" }, other: { username: "alice" } },
    new Set(["system:serviceaccount:monitoring:prometheus"]),
  );
  const gate = new MetricsGate(authority);
  assert.equal((await gate.decide(undefined, "/metrics")).status, 401);
  assert.equal((await gate.decide("Basic Zm9vOmJhcg==", "/metrics")).status, 401);
  assert.equal((await gate.decide("Bearer nope", "/metrics")).status, 401);
  const forbidden = await gate.decide("Bearer other", "/metrics");
  assert.equal(forbidden.status, 403);
  assert.match("message" in forbidden ? forbidden.message : "", /alice may not get \/metrics/);
  assert.equal((await gate.decide("Bearer good", "/metrics")).status, 200);
  assert.equal((await gate.decide("Bearer good", "/other")).status, 403, "authorization is per path");
});

test("answers are cached per token until the TTL, API failures are not cached", async () => {
  let now = 1_000;
  const { authority, calls } = fakeAuthority({ good: { username: "p" } }, new Set(["p"]));
  const gate = new MetricsGate(authority, 60_000, () => now);
  await gate.decide("Bearer good", "/metrics");
  await gate.decide("Bearer good", "/metrics");
  assert.deepEqual([calls.authn, calls.authz], [1, 1], "the second scrape asks nothing");
  now += 60_001;
  await gate.decide("Bearer good", "/metrics");
  assert.deepEqual([calls.authn, calls.authz], [2, 2], "asked again after the TTL");
  calls.fail = true;
  assert.equal((await gate.decide("Bearer new", "/metrics")).status, 500);
  calls.fail = false;
  assert.equal((await gate.decide("Bearer new", "/metrics")).status, 401, "the failure was not cached");
});
