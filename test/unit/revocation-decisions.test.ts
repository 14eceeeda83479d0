// The credential ledger (status.pendingRevocations): every credential is
// recorded when obtained, leaves when delivered or revoked, replaced ones wait
// out their grace period, and a failed revocation is kept unless Vault refused
// it for good. Revocation effects are driven through a fake revoke function.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  applyRevocations,
  confirmDelivered,
  dueRevocations,
  interruptedIssue,
  nextRevocationAt,
  permanentRefusal,
  recordIssued,
  recordReplaced,
  recordUnused,
} from "../../src/operator/credential-ledger.ts";
import { VaultApiError } from "../../src/vault/http.ts";

const T = 1_800_000_000;

test("a credential's life in the ledger: issued, delivered, replaced, due after the grace period", () => {
  let l = recordIssued(undefined, "L1", T);
  assert.deepEqual(l, [{ id: "L1", reason: "Issued", revokeAfter: T }]);
  assert.ok(interruptedIssue(l), "until its delivery is confirmed, a crash leaves it Issued");
  l = confirmDelivered(l, "L1");
  assert.deepEqual(l, []);
  l = recordReplaced(recordIssued(l, "L2", T + 10), "L1", T + 10, 30, T + 600);
  l = confirmDelivered(l, "L2");
  assert.deepEqual(l, [{ id: "L1", reason: "Replaced", revokeAfter: T + 40 }]);
  assert.deepEqual(dueRevocations(l, T + 39), []);
  assert.deepEqual(dueRevocations(l, T + 39, true), l, "a deletion revokes everything at once");
  assert.deepEqual(dueRevocations(l, T + 40), l);
  assert.equal(nextRevocationAt(l), T + 40);
  assert.equal(nextRevocationAt([]), undefined);
});

test("recordReplaced: a lease that expires within the grace period stays recorded until just before its end", () => {
  assert.deepEqual(recordReplaced([], "L", T, 30, T + 20), [
    { id: "L", reason: "Replaced", revokeAfter: T + 18 },
  ]);
  assert.deepEqual(recordReplaced([], "L", T, 30, T + 1), [{ id: "L", reason: "Replaced", revokeAfter: T }]);
  assert.deepEqual(recordReplaced([], "L", T, 30, T), [], "already expired: Vault revoked it");
  assert.deepEqual(recordReplaced([], "L", T, 30, undefined), [
    { id: "L", reason: "Replaced", revokeAfter: T + 30 },
  ]);
});

test("recordUnused replaces the Issued entry of the same credential (no duplicates)", () => {
  const l = recordUnused(recordIssued([], "L", T), "L", T + 1);
  assert.deepEqual(l, [{ id: "L", reason: "Unused", revokeAfter: T + 1 }]);
  assert.equal(interruptedIssue(l), false);
});

test("applyRevocations: revoked and refused-for-good entries leave, transient failures stay", async () => {
  const list = [
    { id: "ok", reason: "Unused" as const, revokeAfter: T },
    { id: "gone", reason: "Replaced" as const, revokeAfter: T },
    { id: "down", reason: "Replaced" as const, revokeAfter: T },
    { id: "later", reason: "Replaced" as const, revokeAfter: T + 100 },
  ];
  const calls: string[] = [];
  const out = await applyRevocations(list, dueRevocations(list, T), async (id) => {
    calls.push(id);
    if (id === "gone") throw new VaultApiError("PUT", "sys/leases/revoke", 400, ["invalid lease"]);
    if (id === "down") throw new Error("connect ECONNREFUSED");
  });
  assert.deepEqual(calls, ["ok", "gone", "down"]);
  assert.deepEqual(
    out.remaining.map((e) => e.id),
    ["down", "later"],
  );
  assert.deepEqual(
    out.revoked.map((e) => e.id),
    ["ok"],
  );
  assert.deepEqual(
    out.refused.map((r) => r.entry.id),
    ["gone"],
  );
  assert.deepEqual(
    out.failed.map((r) => r.entry.id),
    ["down"],
  );
});

test("permanentRefusal: 4xx but not timeouts or rate limits", () => {
  const e = (s: number) => new VaultApiError("PUT", "p", s, []);
  assert.equal(permanentRefusal(e(400)), true);
  assert.equal(permanentRefusal(e(403)), true);
  for (const s of [408, 412, 429, 500, 503]) assert.equal(permanentRefusal(e(s)), false, String(s));
  assert.equal(permanentRefusal(new Error("x")), false);
});
