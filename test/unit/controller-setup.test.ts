// The watches each controller declares in its setup (setup.ts), driven by
// in-process fake informers: which informer events enqueue which keys. This
// is the routing the manager used to hard-code for every kind.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../../src/kube/client.ts";
import { BackoffRegistry } from "../../src/operator/backoff.ts";
import type { OperatorContext } from "../../src/operator/context.ts";
import { watchOwnKind, watchSecretKindDependencies } from "../../src/operator/controllers/setup.ts";
import type { Controller } from "../../src/runtime/controller.ts";
import type { MultiInformer } from "../../src/runtime/multi-informer.ts";

type Handlers = {
  add?: (o: KubeObject) => void;
  update?: (a: KubeObject, b: KubeObject) => void;
  delete?: (o: KubeObject) => void;
};

/** An informer holding `items`, whose events the test fires by hand. */
function fakeInformer(items: KubeObject[] = []) {
  const handlers: Handlers[] = [];
  return {
    handlers,
    on: (h: Handlers) => handlers.push(h),
    list: () => items,
    get: (ns: string, name: string) =>
      items.find((o) => o.metadata.namespace === ns && o.metadata.name === name),
    fire(event: keyof Handlers, ...objs: KubeObject[]) {
      for (const h of handlers) (h[event] as ((...o: KubeObject[]) => void) | undefined)?.(...objs);
    },
  };
}

function fakeController() {
  const keys: string[] = [];
  const c = {
    name: "vaultstaticsecret",
    enqueue: (k: string) => keys.push(k),
    enqueueAfter: (k: string) => keys.push(k),
  };
  return { c: c as unknown as Controller, keys };
}

const obj = (name: string, extra: Partial<KubeObject["metadata"]> = {}, rest: object = {}): KubeObject =>
  ({ metadata: { namespace: "ns", name, generation: 1, ...extra }, ...rest }) as KubeObject;

test("watchOwnKind: add and delete always; updates of the spec or deletion; labels only when asked", () => {
  const a = obj("a", { labels: { x: "1" } });
  const cases: [string, KubeObject, boolean, boolean][] = [
    ["status only", obj("a", { labels: { x: "1" } }), false, false],
    ["generation", obj("a", { labels: { x: "1" }, generation: 2 }), true, true],
    ["deletion", obj("a", { labels: { x: "1" }, deletionTimestamp: "now" }), true, true],
    [
      "finalizer added (the reconciler's own write)",
      obj("a", { labels: { x: "1" }, finalizers: ["f"] }),
      false,
      false,
    ],
    ["labels", obj("a", { labels: { x: "2" } }), false, true],
    ["annotations", obj("a", { labels: { x: "1" }, annotations: { y: "1" } }), false, true],
  ];
  for (const [name, b, plain, labelsToo] of cases) {
    for (const [opts, want] of [
      [{}, plain],
      [{ labelsToo: true }, labelsToo],
    ] as const) {
      const inf = fakeInformer();
      const { c, keys } = fakeController();
      watchOwnKind(inf as unknown as MultiInformer<KubeObject>, c, opts);
      inf.fire("update", a, b);
      assert.deepEqual(keys, want ? ["ns/a"] : [], `${name} ${JSON.stringify(opts)}`);
    }
  }
  const inf = fakeInformer();
  const { c, keys } = fakeController();
  watchOwnKind(inf as unknown as MultiInformer<KubeObject>, c);
  inf.fire("add", a);
  inf.fire("delete", a);
  assert.deepEqual(keys, ["ns/a", "ns/a"]);
});

test("watchSecretKindDependencies: transformation users, failing resources, owned Secrets", () => {
  const synced = { status: { conditions: [{ type: "SecretSynced", status: "True" }] } };
  const failing = { status: { conditions: [{ type: "SecretSynced", status: "False" }] } };
  const uses = (name: string, namespace?: string) => ({
    spec: { destination: { transformation: { transformationRefs: [{ name, namespace }] } } },
  });
  const own = fakeInformer([
    obj("user", {}, { ...uses("st"), ...synced }),
    obj("other-ns-ref", {}, { ...uses("st", "elsewhere"), ...synced }),
    obj("failing", {}, failing),
    obj("never-synced"),
  ]);
  const deps = {
    secretTransformations: fakeInformer(),
    connections: fakeInformer(),
    auths: fakeInformer(),
    authGlobals: fakeInformer(),
    ownedSecrets: fakeInformer(),
  };
  const { c, keys } = fakeController();
  const seen: [string, boolean][] = [];
  const backoff = new BackoffRegistry({}, { random: () => 0 });
  /** Whether a configuration failure of `key` now would be rechecked as the first of a streak. */
  const freshStreak = (key: string) => {
    const fresh = backoff.configError("vaultstaticsecret", key, "1") === 4500;
    backoff.configError("vaultstaticsecret", key, "1");
    return fresh;
  };
  for (const k of ["ns/user", "ns/failing", "ns/never-synced"]) freshStreak(k);
  watchSecretKindDependencies(
    { informers: deps, backoff } as unknown as OperatorContext,
    own as unknown as MultiInformer<KubeObject>,
    c,
    (s, deleted) => {
      seen.push([s.metadata.name ?? "", deleted]);
      return s.metadata.name === "mine" ? "ns/user" : undefined;
    },
  );
  const take = () => keys.splice(0).sort();

  deps.secretTransformations.fire("update", obj("st"), obj("st", { generation: 2 }));
  assert.deepEqual(take(), ["ns/user"], "only the resource referencing ns/st");
  assert.ok(freshStreak("ns/user"), "a changed transformation starts the configuration recheck over");
  assert.ok(!freshStreak("ns/failing"), "a resource not using it keeps its streak");

  for (const inf of [deps.connections, deps.auths, deps.authGlobals]) {
    inf.fire("add", obj("default"));
    assert.deepEqual(
      take(),
      ["ns/failing", "ns/never-synced"],
      "a new dependency re-queues the failing ones",
    );
    assert.ok(freshStreak("ns/failing"), "and starts their configuration recheck over");
    assert.ok(!freshStreak("ns/user"), "a synced resource keeps its streak");
    inf.fire("update", obj("default"), obj("default"));
    assert.deepEqual(take(), [], "a status-only change re-queues nothing");
    inf.fire("update", obj("default"), obj("default", { generation: 2 }));
    assert.deepEqual(take(), ["ns/failing", "ns/never-synced"]);
  }

  deps.ownedSecrets.fire("update", obj("mine"), obj("mine"));
  deps.ownedSecrets.fire("delete", obj("stranger"));
  deps.ownedSecrets.fire("add", obj("mine"));
  assert.deepEqual(seen, [
    ["mine", false],
    ["stranger", true],
  ]);
  assert.deepEqual(take(), ["ns/user"], "the owner of an edited Secret; adds (our own creates) are ignored");
});

test("a finalizer the reconciler adds does not enqueue again; one removed by someone else does", () => {
  const own = fakeInformer();
  const enqueued: string[] = [];
  const c = { enqueue: (k: string) => enqueued.push(k) } as unknown as Controller;
  watchOwnKind(own as unknown as MultiInformer<KubeObject>, c);
  const obj = (finalizers: string[], generation = 1): KubeObject => ({
    metadata: { namespace: "ns", name: "a", generation, finalizers },
  });
  own.fire("update", obj([]), obj(["vso.finalizer"]));
  assert.deepEqual(enqueued, [], "our own finalizer write");
  own.fire("update", obj(["vso.finalizer"]), obj([]));
  assert.deepEqual(enqueued, ["ns/a"], "removed out of band");
  own.fire("update", obj(["vso.finalizer"]), obj(["vso.finalizer"], 2));
  assert.deepEqual(enqueued, ["ns/a", "ns/a"], "a spec change");
});
