// The issue hold as a typed status field (status.issueHold): a post-issue
// configuration error holds the very inputs that failed (and survives a
// status round trip, which is what an operator restart reads back), changed
// inputs lift it, the hold's error names the original field without growing on
// every check, a condition tells humans, and a hold written by the previous
// release (only a condition, its state in the message) is still honoured.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  currentHold,
  type HoldStatus,
  heldIssue,
  holdIssue,
  ISSUE_HOLD_CONDITION,
  IssueHoldError,
  issueInputs,
  releaseHold,
} from "../../src/operator/issue-hold.ts";
import { type Condition, getCondition, setCondition } from "../../src/runtime/conditions.ts";

const T0 = new Date("2030-01-02T03:04:05.678Z");
const T1 = new Date("2030-01-02T03:09:00.000Z");
const synced = (): Condition[] =>
  setCondition(
    undefined,
    { type: "SecretSynced", status: "False", reason: "Synced", message: "x", observedGeneration: 3 },
    T0,
  );
const templateError = Object.assign(new Error('template "pw": mustToDate: cannot parse'), {
  field: "spec.destination.transformation.templates.pw",
});
const roundTrip = (s: HoldStatus): HoldStatus => JSON.parse(JSON.stringify(s)) as HoldStatus;

test("a hold is a typed status field, applies to the same inputs only, also after a status round trip", () => {
  const inputs = issueInputs([3, "meta", { templates: ["a"] }]);
  const status: HoldStatus = { conditions: synced() };
  holdIssue(status, inputs, templateError, 3, T0);
  assert.deepEqual(status.issueHold, {
    digest: inputs,
    reason: 'template "pw": mustToDate: cannot parse',
    field: "spec.destination.transformation.templates.pw",
    since: "2030-01-02T03:04:05Z",
  });
  // What the API server stores and a restarted operator reads back.
  const restored = roundTrip(status);
  const err = heldIssue(restored, inputs);
  assert.ok(err instanceof IssueHoldError);
  assert.equal(err.field, "spec.destination.transformation.templates.pw");
  assert.match(err.message, /^template "pw": mustToDate: cannot parse \(no new credentials/);
  // A condition for humans, with the generation it was set for; the other conditions untouched.
  assert.deepEqual(
    restored.conditions?.map((c) => c.type),
    ["SecretSynced", ISSUE_HOLD_CONDITION],
  );
  const c = getCondition(restored.conditions, ISSUE_HOLD_CONDITION);
  assert.equal(c?.status, "True");
  assert.equal(c?.observedGeneration, 3);
  assert.match(c?.message ?? "", /^spec\.destination\.transformation\.templates\.pw: template "pw"/);
  assert.doesNotMatch(c?.message ?? "", new RegExp(inputs), "the condition carries no state");

  const cases: [string, unknown][] = [
    ["a new generation", [4, "meta", { templates: ["a"] }]],
    ["new labels or annotations", [3, "meta2", { templates: ["a"] }]],
    ["a changed transformation", [3, "meta", { templates: ["b"] }]],
  ];
  for (const [name, parts] of cases) assert.equal(heldIssue(restored, issueInputs(parts)), undefined, name);
});

test("the hold is state of its own: a condition edited or lost does not lift it", () => {
  const inputs = issueInputs(["x"]);
  const status: HoldStatus = { conditions: synced() };
  holdIssue(status, inputs, templateError, 1, T0);
  status.conditions = synced();
  assert.ok(heldIssue(status, inputs) instanceof IssueHoldError);
});

test("a second hold replaces the first; the same hold keeps its time; release removes field and condition", () => {
  const inputs = issueInputs(["x"]);
  const status: HoldStatus = { conditions: synced() };
  holdIssue(status, inputs, templateError, 1, T0);
  holdIssue(status, inputs, templateError, 1, T1);
  assert.equal(status.issueHold?.since, "2030-01-02T03:04:05Z", "the same hold again keeps its time");
  holdIssue(status, issueInputs(["y"]), new Error("another"), 1, T1);
  assert.equal(status.conditions?.filter((c) => c.type === ISSUE_HOLD_CONDITION).length, 1);
  assert.equal(heldIssue(status, inputs), undefined, "the latest hold replaces the earlier one");
  assert.equal(status.issueHold?.since, "2030-01-02T03:09:00Z");
  assert.equal(status.issueHold?.field, undefined, "an error without a field holds too");
  assert.equal(heldIssue(status, issueInputs(["y"]))?.field, undefined);
  releaseHold(status);
  assert.deepEqual(status, { conditions: synced() });
  assert.equal(heldIssue(status, inputs), undefined);
  assert.equal(heldIssue(undefined, inputs), undefined);
  const empty: HoldStatus = {};
  releaseHold(empty);
  assert.deepEqual(empty, {}, "nothing to release, nothing changed");
});

test("a hold written by the previous release (a condition only) is honoured, and lifted like any other", () => {
  const inputs = issueInputs([3, "meta", { templates: ["a"] }]);
  const legacy = (field: string): HoldStatus => ({
    conditions: setCondition(
      synced(),
      {
        type: ISSUE_HOLD_CONDITION,
        status: "True",
        reason: "FailedAfterIssue",
        message: `held for inputs ${inputs}, field ${field}: template "pw": mustToDate: cannot parse`,
        observedGeneration: 3,
      },
      T0,
    ),
  });
  const old = roundTrip(legacy("spec.destination.transformation.templates.pw"));
  const err = heldIssue(old, inputs);
  assert.ok(err instanceof IssueHoldError);
  assert.equal(err.field, "spec.destination.transformation.templates.pw");
  assert.match(err.message, /^template "pw": mustToDate: cannot parse \(no new credentials/);
  assert.equal(currentHold(old)?.since, "2030-01-02T03:04:05Z");
  assert.equal(heldIssue(roundTrip(legacy("")), inputs)?.field, undefined);
  assert.equal(heldIssue(old, issueInputs([4, "meta", { templates: ["a"] }])), undefined);
  // Rewritten in the new form by the next hold, removed by a release.
  const next = roundTrip(old);
  holdIssue(next, inputs, templateError, 3, T1);
  assert.equal(next.issueHold?.digest, inputs);
  assert.doesNotMatch(getCondition(next.conditions, ISSUE_HOLD_CONDITION)?.message ?? "", /held for inputs/);
  releaseHold(old);
  assert.equal(heldIssue(old, inputs), undefined);
  assert.deepEqual(old.conditions, synced());
});
