// VaultDynamicSecret's decisions, table-driven with a fixed clock: why new
// credentials are issued (VSO's precedence, a crash-interrupted sync first
// after the initial one), when a lease is renewed, when nothing happens and
// when the next look is; and the allowStaticCreds mismatch.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type DynamicDecision,
  type DynamicFacts,
  decideDynamic,
  leaseJitter,
  MIN_LOOK_MS,
  nextLookMs,
  renewalDueAt,
  type StaticCredsMeta,
  type SyncReason,
  staticCredsMismatch,
  staticCredsNextLookMs,
  staticCredsWrite,
  staticSyncReason,
} from "../../src/operator/kinds/dynamic/decisions.ts";
import { tokenEndMarginMs, unknownParentReplaceAtMs } from "../../src/vault/token-life.ts";

const NOW = Date.UTC(2026, 10, 29, 12, 0, 0);

function facts(over: Partial<DynamicFacts> = {}): DynamicFacts {
  return {
    nowMs: NOW,
    generation: 3,
    lastGeneration: 3,
    metaChanged: false,
    destinationExists: true,
    clientCacheKey: "c1",
    lastClientCacheKey: "c1",
    lease: { id: "database/creds/r/abc", duration: 600, renewable: true },
    renewedAtMs: NOW - 60_000,
    lastRenewalTime: Math.floor((NOW - 60_000) / 1000),
    renewalPercent: 67,
    refreshAfterMs: 0,
    interrupted: false,
    parent: { state: "current" },
    tokenTtlMs: 3_600_000,
    ...over,
  };
}

test("decideDynamic: issue reasons in order of precedence", () => {
  const cases: [string, Partial<DynamicFacts>, string][] = [
    ["never synced", { lastGeneration: 0, interrupted: true, metaChanged: true }, "InitialSync"],
    ["a crash between Vault and the commit", { interrupted: true, metaChanged: true }, "InterruptedSync"],
    ["labels or annotations changed", { metaChanged: true, generation: 4 }, "ForceSync"],
    ["spec changed", { generation: 4, destinationExists: false }, "ResourceUpdated"],
    ["destination deleted", { destinationExists: false, lastClientCacheKey: "c0" }, "InexistentDestination"],
    ["Vault client changed", { lastClientCacheKey: "c0" }, "VaultClientConfigChanged"],
    ["non-renewable lease due", { lease: { id: "x", duration: 60, renewable: false } }, "LeaseRenewalFailed"],
    [
      "no lease, refreshAfter elapsed",
      { lease: {}, refreshAfterMs: 30_000, renewedAtMs: NOW - 31_000 },
      "RefreshDue",
    ],
  ];
  for (const [name, over, reason] of cases) {
    assert.deepEqual(decideDynamic(facts(over)), { action: "issue", reason }, name);
  }
});

test("decideDynamic: renew when due, wait until then, never both", () => {
  const f = facts();
  const due = renewalDueAt(f.renewedAtMs, 600, 67, leaseJitter(f.lease.id ?? "", f.lastRenewalTime));
  assert.ok(due > NOW, "the fixture is before its renewal point");
  assert.deepEqual(decideDynamic(f), { action: "wait", reason: "LeaseValid", untilMs: due });
  assert.deepEqual(decideDynamic(facts({ nowMs: due })), { action: "renew", reason: "RenewalDue" });
  assert.deepEqual(decideDynamic(facts({ nowMs: due - 1 })).action, "wait");
  // Renewal is between renewalPercent and renewalPercent + 10 % of the TTL.
  assert.ok(due >= f.renewedAtMs + 0.67 * 600_000 && due <= f.renewedAtMs + 0.77 * 600_000);
});

test("decideDynamic: without a lease, refreshAfter or nothing", () => {
  assert.deepEqual(decideDynamic(facts({ lease: {} })), { action: "wait", reason: "NothingToRefresh" });
  assert.deepEqual(decideDynamic(facts({ lease: {}, refreshAfterMs: 120_000 })), {
    action: "wait",
    reason: "RefreshNotDue",
    untilMs: NOW - 60_000 + 120_000,
  });
});

test("leaseJitter is stable across restarts and differs between leases", () => {
  assert.equal(leaseJitter("a", 1), leaseJitter("a", 1));
  assert.notEqual(leaseJitter("a", 1), leaseJitter("b", 1));
  for (const id of ["a", "b", "c", "d"]) {
    const j = leaseJitter(id, 7);
    assert.ok(j >= 0 && j < 1);
  }
});

test("nextLookMs: the earlier of the decision and the next pending revocation, never below the minimum", () => {
  const pending = [{ id: "old", reason: "Replaced" as const, revokeAfter: NOW / 1000 + 30 }];
  const cases: [string, number | undefined, typeof pending | undefined, number | undefined][] = [
    ["nothing scheduled", undefined, undefined, undefined],
    ["only the decision", NOW + 90_000, undefined, 90_000],
    ["a revocation comes first", NOW + 90_000, pending, 30_000],
    ["only a revocation", undefined, pending, 30_000],
    ["already due: clamped", NOW - 5_000, undefined, MIN_LOOK_MS],
    [
      "overdue revocation: clamped",
      undefined,
      [{ ...pending[0], revokeAfter: NOW / 1000 - 100 }],
      MIN_LOOK_MS,
    ],
  ];
  for (const [name, until, p, want] of cases) assert.equal(nextLookMs(NOW, until, p), want, name);
});

test("staticCredsMismatch: a lease under allowStaticCreds names the field", () => {
  assert.equal(staticCredsMismatch(true, undefined), undefined);
  assert.equal(staticCredsMismatch(true, ""), undefined);
  assert.equal(staticCredsMismatch(false, "database/creds/r/1"), undefined);
  assert.match(staticCredsMismatch(true, "database/creds/r/1") ?? "", /spec\.allowStaticCreds/);
});

test("staticSyncReason: why static credentials are written even when they did not rotate", () => {
  const base = { lastGeneration: 3, generation: 3, metaChanged: false, destinationExists: true };
  const cases: [string, Partial<typeof base>, string | undefined][] = [
    ["never synced", { lastGeneration: 0, metaChanged: true, destinationExists: false }, "InitialSync"],
    ["labels or annotations changed", { metaChanged: true, generation: 4 }, "ForceSync"],
    ["spec changed", { generation: 4, destinationExists: false }, "ResourceUpdated"],
    ["destination deleted", { destinationExists: false }, "InexistentDestination"],
    ["nothing changed: only a rotation writes", {}, undefined],
  ];
  for (const [name, over, want] of cases) assert.equal(staticSyncReason({ ...base, ...over }), want, name);
});

test("staticCredsWrite: a rotation writes and restarts; a sync reason or a first read writes; else nothing", () => {
  const cases: [string, SyncReason | undefined, string, string | undefined, string | undefined, boolean][] = [
    ["rotated", undefined, "bmV3", "b2xk", "StaticCredsRotated", true],
    ["rotated while the spec changed too", "ResourceUpdated", "bmV3", "b2xk", "StaticCredsRotated", true],
    ["same credentials, spec changed", "ResourceUpdated", "b2xk", "b2xk", "ResourceUpdated", false],
    ["first read", undefined, "bmV3", undefined, "InitialSync", false],
    ["same credentials, nothing changed", undefined, "b2xk", "b2xk", undefined, false],
  ];
  for (const [name, reason, mac, lastMAC, write, rotated] of cases) {
    assert.deepEqual(staticCredsWrite(reason, mac, lastMAC), { write, rotated }, name);
  }
});

test("staticCredsNextLookMs: just after the rotation, never later than the poll, a second while rotating", () => {
  const cases: [string, StaticCredsMeta, number, number, number][] = [
    ["rotation in 10 s, 30 s poll", { rotationPeriod: 3600, ttl: 10 }, 30_000, 0, 10_500],
    ["jitter spreads 150 ms", { rotationPeriod: 3600, ttl: 10 }, 30_000, 0.5, 10_575],
    ["rotation after the poll", { rotationSchedule: "0 * * * *", ttl: 600 }, 30_000, 0, 30_000],
    ["Vault rotating now", { rotationPeriod: 3600, ttl: 0 }, 30_000, 0, MIN_LOOK_MS],
    ["no rotation: the poll", { ttl: 5 }, 30_000, 0, 30_000],
    ["a tiny refreshAfter is floored", {}, 100, 0, 500],
  ];
  for (const [name, meta, poll, jitter, want] of cases) {
    assert.equal(staticCredsNextLookMs(meta, poll, jitter), want, name);
  }
});

// The parent token's life drives the lease (issue 18): a lease is replaced before the token it
// hangs on ends, never after, and kept while that token is ours and renewable.
test("decideDynamic: the parent token's state, as a table", () => {
  const HOUR = 3_600_000;
  const due = renewalDueAt(
    NOW - 60_000,
    600,
    67,
    leaseJitter("database/creds/r/abc", Math.floor((NOW - 60_000) / 1000)),
  );
  const cases: [string, Partial<DynamicFacts>, DynamicDecision][] = [
    [
      "our renewable token: keep the lease",
      { parent: { state: "current" } },
      { action: "wait", reason: "LeaseValid", untilMs: due },
    ],
    [
      "our token ends (max TTL) after the renewal: renewal first",
      { parent: { state: "current", endsAtMs: due + 2 * HOUR } },
      { action: "wait", reason: "LeaseValid", untilMs: due },
    ],
    [
      "our token ends before the renewal: wake up a margin before its end",
      { parent: { state: "current", endsAtMs: NOW + 120_000 } },
      { action: "wait", reason: "LeaseValid", untilMs: NOW + 120_000 - 60_000 },
    ],
    [
      "our token's end is within the margin: replace now",
      { parent: { state: "current", endsAtMs: NOW + 30_000 } },
      { action: "issue", reason: "VaultTokenRotated" },
    ],
    [
      "a retired token still alive: replace a margin before its end",
      { parent: { state: "retired", endsAtMs: NOW + 5 * 60_000 } },
      { action: "wait", reason: "LeaseValid", untilMs: NOW + 5 * 60_000 - 60_000 },
    ],
    [
      "a retired token at its margin: replace now",
      { parent: { state: "retired", endsAtMs: NOW + 59_000 } },
      { action: "issue", reason: "VaultTokenRotated" },
    ],
    [
      "a revoked token: the lease is gone, replace now",
      { parent: { state: "retired", endsAtMs: NOW - 1 } },
      { action: "issue", reason: "VaultTokenRevoked" },
    ],
    [
      "another process's token, not yet checked: renew to see the lease alive",
      { parent: { state: "unknown" }, unknownReplaceAtMs: NOW + 5 * 60_000, unknownChecked: false },
      { action: "renew", reason: "ParentTokenUnknown" },
    ],
    [
      "another process's token, checked: wait for the spread replacement time",
      { parent: { state: "unknown" }, unknownReplaceAtMs: NOW + 5 * 60_000, unknownChecked: true },
      { action: "wait", reason: "LeaseValid", untilMs: Math.min(due, NOW + 5 * 60_000) },
    ],
    [
      "another process's token at the replacement time: replace",
      { parent: { state: "unknown" }, unknownReplaceAtMs: NOW, unknownChecked: true },
      { action: "issue", reason: "VaultTokenRotated" },
    ],
    [
      "another process's token and a lease that cannot be renewed: replace",
      {
        parent: { state: "unknown" },
        unknownReplaceAtMs: NOW + 60_000,
        lease: { id: "pki/x", duration: 600, renewable: false },
      },
      { action: "issue", reason: "VaultTokenRotated" },
    ],
    [
      "spec changes still come first",
      { parent: { state: "retired", endsAtMs: NOW - 1 }, generation: 4 },
      { action: "issue", reason: "ResourceUpdated" },
    ],
  ];
  for (const [name, over, want] of cases) assert.deepEqual(decideDynamic(facts(over)), want, name);
});

test("unknown parents: replacements spread over the first 80 % of a third of the token TTL", () => {
  assert.equal(unknownParentReplaceAtMs(NOW, 60_000, 0), NOW);
  assert.equal(unknownParentReplaceAtMs(NOW, 60_000, 0.5), NOW + 8_000);
  assert.ok(unknownParentReplaceAtMs(NOW, 3_600_000, 0.999) < NOW + 3_600_000 / 3);
  assert.equal(tokenEndMarginMs(60_000), 12_000);
  assert.equal(tokenEndMarginMs(3_600_000), 60_000, "capped at a minute");
  assert.equal(tokenEndMarginMs(5_000), 2_000, "at least two seconds");
});
