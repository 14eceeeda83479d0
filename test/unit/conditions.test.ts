// Conditions as Flux's runtime/conditions sets them: one per type, the
// generation they were computed from always stated, the transition time moved
// only when the status flips.
import assert from "node:assert/strict";
import { test } from "node:test";
import { getCondition, setCondition } from "../../src/runtime/conditions.ts";

const T0 = new Date("2030-01-01T00:00:00.123Z");
const T1 = new Date("2030-01-01T00:05:00.000Z");

test("setCondition records the generation, and moves the transition time only on a flip", () => {
  let c = setCondition(
    undefined,
    { type: "Ready", status: "False", reason: "R", message: "a", observedGeneration: 1 },
    T0,
  );
  assert.deepEqual(c, [
    {
      type: "Ready",
      status: "False",
      reason: "R",
      message: "a",
      lastTransitionTime: "2030-01-01T00:00:00Z",
      observedGeneration: 1,
    },
  ]);
  c = setCondition(
    c,
    { type: "Ready", status: "False", reason: "R", message: "b", observedGeneration: 2 },
    T1,
  );
  assert.equal(getCondition(c, "Ready")?.lastTransitionTime, "2030-01-01T00:00:00Z", "same status: kept");
  assert.equal(getCondition(c, "Ready")?.observedGeneration, 2, "the generation is always the latest");
  assert.equal(getCondition(c, "Ready")?.message, "b");
  c = setCondition(
    c,
    { type: "Ready", status: "True", reason: "R", message: "c", observedGeneration: 2 },
    T1,
  );
  assert.equal(getCondition(c, "Ready")?.lastTransitionTime, "2030-01-01T00:05:00Z", "a flip moves it");
  assert.equal(c.length, 1, "one condition per type");
});

test("an object without a generation gets no observedGeneration key (nothing to patch away later)", () => {
  const c = setCondition(undefined, {
    type: "A",
    status: "True",
    reason: "R",
    message: "",
    observedGeneration: undefined,
  });
  assert.ok(!("observedGeneration" in c[0]));
});
