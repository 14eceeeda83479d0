// The status a controller last wrote is the one it reconciles from until the
// informer's copy includes that write; then the memory lets go of it.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../../src/kube/client.ts";
import { StatusMemory } from "../../src/operator/context.ts";

type S = { lastGeneration: number };
const cached = (rv: string, gen: number, uid = "u1"): KubeObject & { status?: S } => ({
  metadata: { uid, resourceVersion: rv },
  status: { lastGeneration: gen },
});

test("our write wins over an older cached object, and is dropped once the cache includes it", () => {
  const mem = new StatusMemory<S>();
  mem.remember("ns/a", "u1", "120", { lastGeneration: 2 });
  assert.deepEqual(mem.freshest("ns/a", cached("119", 1)), { lastGeneration: 2 }, "cache behind: ours");
  assert.deepEqual(mem.freshest("ns/a", cached("120", 2)), { lastGeneration: 2 }, "cache at our write");
  // Dropped: a cached object that is older again (impossible from a watch) is now believed.
  assert.deepEqual(mem.freshest("ns/a", cached("119", 1)), { lastGeneration: 1 });
});

test("a later resourceVersion includes our write; a recreated object (new uid) never uses it", () => {
  const mem = new StatusMemory<S>();
  mem.remember("ns/a", "u1", "99", { lastGeneration: 3 });
  assert.deepEqual(mem.freshest("ns/a", cached("100", 3)), { lastGeneration: 3 });
  assert.deepEqual(mem.freshest("ns/a", cached("98", 1)), { lastGeneration: 1 }, "dropped at 100 > 99");
  mem.remember("ns/b", "u1", "50", { lastGeneration: 5 });
  assert.deepEqual(mem.freshest("ns/b", cached("49", 0, "u2")), { lastGeneration: 0 });
});

test("resourceVersions that are not decimal integers are trusted only when equal", () => {
  const mem = new StatusMemory<S>();
  mem.remember("ns/a", "u1", "b", { lastGeneration: 7 });
  assert.deepEqual(mem.freshest("ns/a", cached("c", 1)), { lastGeneration: 7 });
  assert.deepEqual(mem.freshest("ns/a", cached("b", 7)), { lastGeneration: 7 });
  assert.deepEqual(mem.freshest("ns/a", cached("c", 1)), { lastGeneration: 1 });
});

test("the status handed out is a copy: changing it changes nothing remembered", () => {
  const mem = new StatusMemory<S>();
  const written = { lastGeneration: 1 };
  mem.remember("ns/a", "u1", "10", written);
  written.lastGeneration = 9;
  const got = mem.freshest("ns/a", cached("9", 0));
  assert.deepEqual(got, { lastGeneration: 1 });
  if (got) got.lastGeneration = 8;
  assert.deepEqual(mem.freshest("ns/a", cached("9", 0)), { lastGeneration: 1 });
});

test("a watch event that includes our write lets it go before the next reconcile", () => {
  const mem = new StatusMemory<S>();
  mem.remember("ns/a", "u1", "200", { lastGeneration: 4 });
  mem.settle("ns/a", cached("199", 3));
  assert.deepEqual(mem.freshest("ns/a", cached("199", 3)), { lastGeneration: 4 }, "an older event keeps it");
  mem.settle("ns/a", cached("201", 4));
  assert.deepEqual(mem.freshest("ns/a", cached("199", 3)), { lastGeneration: 3 }, "let go at 201");
});
