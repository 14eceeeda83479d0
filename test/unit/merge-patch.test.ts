// Status written as a computed patch (Flux's runtime/patch manner): the JSON
// merge patch from the status read to the status computed sets what changed
// or was added, deletes (null) what was removed, replaces arrays whole, and
// is nothing at all when nothing changed. Applying the patch to the status
// read always gives the status computed.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeClient, KubeObject } from "../../src/kube/client.ts";
import { statusPatch, updateStatus } from "../../src/operator/context.ts";
import { VSO } from "../../src/operator/resources.ts";
import { applyMergePatch, mergePatch } from "../../src/runtime/merge-patch.ts";

const cond = (type: string, status: string, gen: number) => ({
  type,
  status,
  reason: "R",
  message: "m",
  lastTransitionTime: "2030-01-01T00:00:00Z",
  observedGeneration: gen,
});

const cases: { name: string; before: unknown; after: unknown; patch: unknown }[] = [
  {
    name: "nothing changed",
    before: { a: 1, b: { c: "x" } },
    after: { b: { c: "x" }, a: 1 },
    patch: undefined,
  },
  { name: "a changed field", before: { a: 1, b: 2 }, after: { a: 1, b: 3 }, patch: { b: 3 } },
  { name: "an added field", before: { a: 1 }, after: { a: 1, secretMAC: "m" }, patch: { secretMAC: "m" } },
  { name: "a removed field", before: { a: 1, secretMAC: "m" }, after: { a: 1 }, patch: { secretMAC: null } },
  {
    name: "a field set to undefined counts as removed",
    before: { a: 1, secretMAC: "m" },
    after: { a: 1, secretMAC: undefined },
    patch: { secretMAC: null },
  },
  { name: "undefined on both sides is no change", before: { a: undefined }, after: {}, patch: undefined },
  {
    name: "nested objects are diffed key by key",
    before: { meta: { cacheKey: "k", id: "i" }, x: 1 },
    after: { meta: { cacheKey: "k2" }, x: 1 },
    patch: { meta: { cacheKey: "k2", id: null } },
  },
  {
    name: "a removed nested object is deleted whole",
    before: { issueHold: { digest: "d", reason: "r", since: "t" }, lastGeneration: 2 },
    after: { lastGeneration: 2 },
    patch: { issueHold: null },
  },
  {
    name: "an added nested object is set whole, without its undefined members",
    before: {},
    after: { issueHold: { digest: "d", field: undefined } },
    patch: { issueHold: { digest: "d" } },
  },
  {
    name: "arrays (conditions) are replaced whole when any element differs",
    before: { conditions: [cond("Ready", "True", 1), cond("Healthy", "True", 1)] },
    after: { conditions: [cond("Ready", "True", 2), cond("Healthy", "True", 1)] },
    patch: { conditions: [cond("Ready", "True", 2), cond("Healthy", "True", 1)] },
  },
  {
    name: "equal arrays are not sent",
    before: { conditions: [cond("Ready", "True", 1)], a: 1 },
    after: { conditions: [cond("Ready", "True", 1)], a: 2 },
    patch: { a: 2 },
  },
  {
    name: "an emptied array is sent empty",
    before: { p: [{ id: "x" }] },
    after: { p: [] },
    patch: { p: [] },
  },
  { name: "a type change replaces the value", before: { a: { b: 1 } }, after: { a: "s" }, patch: { a: "s" } },
  { name: "an object where a scalar was", before: { a: 1 }, after: { a: { b: 1 } }, patch: { a: { b: 1 } } },
  { name: "null in the computed status deletes", before: { a: 1 }, after: { a: null }, patch: { a: null } },
  { name: "from nothing", before: undefined, after: { a: 1 }, patch: { a: 1 } },
  {
    name: "false and 0 are values, not absence",
    before: { v: true, n: 1 },
    after: { v: false, n: 0 },
    patch: { v: false, n: 0 },
  },
];

test("mergePatch: the difference between the status read and the status computed", () => {
  for (const c of cases) {
    const patch = mergePatch(c.before, c.after);
    assert.deepEqual(patch, c.patch, c.name);
    if (patch !== undefined) {
      // As stored: JSON, where a null member of an object is no member at all.
      const stored = JSON.parse(
        JSON.stringify(c.after ?? {}, (k, v) => (k !== "" && v === null ? undefined : v)),
      );
      assert.deepEqual(
        applyMergePatch(c.before ?? {}, patch),
        stored,
        `${c.name}: applied, gives the computed status`,
      );
    }
  }
});

test("mergePatch never changes its inputs", () => {
  const before = { a: { b: 1, c: 2 }, d: [1] };
  const after = { a: { b: 2 }, d: [2] };
  const b0 = structuredClone(before);
  const a0 = structuredClone(after);
  mergePatch(before, after);
  assert.deepEqual(before, b0);
  assert.deepEqual(after, a0);
});

test("statusPatch wraps the difference under status, and is undefined for no change", () => {
  assert.equal(statusPatch({ a: 1 }, { a: 1 }), undefined);
  assert.equal(statusPatch(undefined, {}), undefined);
  assert.deepEqual(statusPatch({ a: 1, secretMAC: "m" }, { a: 1 }), { status: { secretMAC: null } });
  assert.deepEqual(statusPatch(undefined, { a: 1 }), { status: { a: 1 } });
});

test("updateStatus sends the computed patch, as a merge patch of the status subresource, and nothing for no change", async () => {
  const sent: unknown[][] = [];
  const kube = {
    patch: async (...args: unknown[]) => {
      sent.push(args);
      return { metadata: { resourceVersion: "42" } };
    },
  } as unknown as KubeClient;
  const obj: KubeObject & { status?: unknown } = {
    metadata: { namespace: "ns", name: "a" },
    status: { lastGeneration: 1, secretMAC: "m" },
  };
  assert.equal(
    await updateStatus(kube, VSO.VaultStaticSecret, obj, { lastGeneration: 1, secretMAC: "m" }),
    undefined,
  );
  assert.equal(sent.length, 0, "no change, no request");
  assert.equal(await updateStatus(kube, VSO.VaultStaticSecret, obj, { lastGeneration: 2 }), "42");
  assert.equal(sent.length, 1);
  const [, ns, name, body, type, opts] = sent[0];
  assert.deepEqual(
    [ns, name, body, type, opts],
    ["ns", "a", { status: { lastGeneration: 2, secretMAC: null } }, "merge", { subresource: "status" }],
  );
  assert.deepEqual(obj.status, { lastGeneration: 1, secretMAC: "m" }, "the object read is left as it is");
});
