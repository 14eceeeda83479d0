// The informer's store against a real API server: it keeps a projection (no managedFields, no
// kubectl last-applied copy, other annotations kept) and answers per-namespace lists from
// its namespace index through adds, updates and deletes, alone and inside a MultiInformer.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CORE, type KubeObject } from "../../src/kube/client.ts";
import { Informer } from "../../src/runtime/informer.ts";
import { MultiInformer } from "../../src/runtime/multi-informer.ts";
import { eventually, isolatedNamespace, testEnv, uniqueName } from "../support/env.ts";

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

test("projection and namespace index of the informer store", async (t) => {
  const env = await testEnv();
  const [a, b] = [await isolatedNamespace(t, env, "inf"), await isolatedNamespace(t, env, "inf")];
  const label = uniqueName("sel");
  const cm = (name: string, extra: Record<string, string> = {}) => ({
    metadata: {
      name,
      labels: { "bench.test/sel": label },
      annotations: { [LAST_APPLIED]: JSON.stringify({ big: "x".repeat(2000) }), keep: "me", ...extra },
    },
    data: { k: "v" },
  });
  await env.kube.create(CORE.configmaps, a, cm("one"));
  await env.kube.create(CORE.configmaps, b, cm("two"));

  const inf = new Informer<KubeObject & { data?: Record<string, string> }>(env.kube, CORE.configmaps, {
    labelSelector: `bench.test/sel=${label}`,
  });
  const multi = new MultiInformer<KubeObject>(env.kube, CORE.configmaps, [a, b], {
    labelSelector: `bench.test/sel=${label}`,
  });
  inf.start();
  multi.start();
  t.after(async () => {
    await inf.stop();
    await multi.stop();
  });
  await inf.waitForSync();
  await multi.waitForSync();

  const one = inf.get(`${a}/one`);
  assert.ok(one);
  assert.equal(one.metadata.managedFields, undefined);
  assert.deepEqual(one.metadata.annotations, { keep: "me" });
  assert.deepEqual(
    inf.list(a).map((o) => o.metadata.name),
    ["one"],
  );
  assert.deepEqual(
    multi.list(b).map((o) => o.metadata.name),
    ["two"],
  );
  assert.equal(multi.get(b, "two")?.metadata.name, "two");
  assert.equal(multi.get(a, "two"), undefined);
  assert.equal(inf.list().length, 2);

  // Watch events keep the index: an add in a, an update keeping the projection, a delete in b.
  await env.kube.create(CORE.configmaps, a, cm("three"));
  await env.kube.patch(CORE.configmaps, a, "one", { metadata: { annotations: { keep: "changed" } } });
  await env.kube.delete(CORE.configmaps, b, "two");
  await eventually("the informer to see the add, update and delete", async () => {
    const names = inf
      .list(a)
      .map((o) => o.metadata.name)
      .sort();
    return (
      names.join(",") === "one,three" &&
      inf.list(b).length === 0 &&
      multi.list(a).length === 2 &&
      multi.list(b).length === 0 &&
      inf.get(`${a}/one`)?.metadata.annotations?.keep === "changed"
    );
  });
  assert.deepEqual(inf.get(`${a}/one`)?.metadata.annotations, { keep: "changed" });
});
