// The issue hold as a status condition: a post-issue configuration error
// holds the very inputs that failed (and survives a status round trip, which
// is what an operator restart reads back), changed inputs lift it, and the
// hold's error names the original field without growing on every check.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  heldIssue,
  holdIssue,
  ISSUE_HOLD_CONDITION,
  IssueHoldError,
  issueInputs,
  releaseHold,
} from "../../src/operator/issue-hold.ts";
import { type Condition, setCondition } from "../../src/runtime/conditions.ts";

const synced = setCondition(undefined, {
  type: "SecretSynced",
  status: "False",
  reason: "Synced",
  message: "x",
});
const templateError = Object.assign(new Error('template "pw": mustToDate: cannot parse'), {
  field: "spec.destination.transformation.templates.pw",
});

test("a hold applies to the same inputs only, also after a status round trip", () => {
  const inputs = issueInputs([3, "meta", { templates: ["a"] }]);
  const held = holdIssue(synced, inputs, templateError, 3);
  // What the API server stores and a restarted operator reads back.
  const restored = JSON.parse(JSON.stringify(held)) as Condition[];
  const err = heldIssue(restored, inputs);
  assert.ok(err instanceof IssueHoldError);
  assert.equal(err.field, "spec.destination.transformation.templates.pw");
  assert.match(err.message, /^template "pw": mustToDate: cannot parse \(no new credentials/);
  // The other conditions are untouched.
  assert.deepEqual(
    restored.map((c) => c.type),
    ["SecretSynced", ISSUE_HOLD_CONDITION],
  );

  const cases: [string, unknown][] = [
    ["a new generation", [4, "meta", { templates: ["a"] }]],
    ["new labels or annotations", [3, "meta2", { templates: ["a"] }]],
    ["a changed transformation", [3, "meta", { templates: ["b"] }]],
  ];
  for (const [name, parts] of cases) assert.equal(heldIssue(restored, issueInputs(parts)), undefined, name);
});

test("a second hold replaces the first; release removes it; no hold, no error", () => {
  const inputs = issueInputs(["x"]);
  const once = holdIssue(synced, inputs, templateError);
  const twice = holdIssue(once, issueInputs(["y"]), new Error("another"));
  assert.equal(twice.filter((c) => c.type === ISSUE_HOLD_CONDITION).length, 1);
  assert.equal(heldIssue(twice, inputs), undefined, "the latest hold replaces the earlier one");
  assert.deepEqual(releaseHold(twice), synced);
  assert.equal(heldIssue(releaseHold(twice), inputs), undefined);
  assert.equal(heldIssue(undefined, inputs), undefined);
  assert.equal(releaseHold(undefined), undefined);
  // An error without a field holds too.
  assert.equal(heldIssue(holdIssue(undefined, inputs, new Error("refused")), inputs)?.field, undefined);
});
