// An in-memory Kubernetes API for reconcile tests: what the reconcilers use of
// KubeClient (get, getOrNull, list, create, createIfAbsent, replace, patch
// with merge, strategic (as merge) and JSON patches, delete, raw for server-side
// dry runs and subresources such as serviceaccounts/<name>/token), with the API
// server's rules that matter to them:
// - one resourceVersion counter for everything (etcd's revision), a stale
//   resourceVersion on update or in a patch is a 409 Conflict, a failed JSON
//   patch `test` a 422, a missing object a 404, a second create AlreadyExists;
// - the status subresource: writes to the object ignore .status, writes to
//   /status change only .status; metadata.generation moves when the spec does;
// - deletion with finalizers sets deletionTimestamp and keeps the object until
//   the last finalizer goes; objects owned (ownerReferences) by a removed one
//   are then removed too, as the garbage collector would;
// - Secret rules: type and immutable data cannot change (422), data keys and
//   names and labels are validated (422), as on the real server.
// Every request is recorded (`calls`), faults can be injected (`fail`), and
// informer-like caches (`informer`) follow the store through watch events,
// delivered at once or held back (`pauseWatch`) to model a lagging cache.
import { isDeepStrictEqual } from "node:util";
import {
  CORE,
  KubeApiError,
  KubeClient,
  type KubeList,
  type KubeObject,
  type ListOptions,
  type PatchType,
  type ResourceType,
} from "../../src/kube/client.ts";
import type { InformerHandlers } from "../../src/runtime/informer.ts";
import type { MultiInformer } from "../../src/runtime/multi-informer.ts";

/** What the reconcilers use of KubeClient; FakeKube implements exactly this. */
export type KubeSurface = Pick<
  KubeClient,
  "get" | "getOrNull" | "list" | "create" | "createIfAbsent" | "replace" | "patch" | "delete" | "raw" | "path"
>;

type Obj = KubeObject & Record<string, unknown>;

export interface KubeCall {
  verb: "get" | "list" | "create" | "update" | "patch" | "delete" | "token";
  plural: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  dryRun?: boolean;
  patchType?: PatchType;
}

export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED";
  rt: ResourceType;
  object: Obj;
}

interface Fault {
  match: (c: KubeCall) => boolean;
  status: number;
  reason: string;
  message: string;
  times: number;
}

/** Kinds that have a status subresource (ours); for the others .status is part of the object. */
const STATUS_SUBRESOURCE_GROUP = "secrets.hashicorp.com";
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function clone<T>(v: T): T {
  return structuredClone(v);
}

function apiError(
  method: string,
  path: string,
  status: number,
  reason: string,
  message: string,
): KubeApiError {
  return new KubeApiError(method, path, status, reason, message);
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return clone(patch);
  const out: Record<string, unknown> =
    target !== null && typeof target === "object" && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function pointer(path: string): string[] {
  if (path === "") return [];
  return path
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

class PatchFailed extends Error {}

/** RFC 6902 JSON patch (add, remove, replace, test), as the API server applies it. */
export function jsonPatch(doc: unknown, ops: { op: string; path: string; value?: unknown }[]): unknown {
  let root = clone(doc);
  for (const op of ops) {
    const parts = pointer(op.path);
    if (parts.length === 0) {
      if (op.op === "test") {
        if (!isDeepStrictEqual(root, op.value)) throw new PatchFailed("testing value failed");
        continue;
      }
      root = clone(op.value);
      continue;
    }
    let parent = root as Record<string, unknown> | unknown[];
    for (const p of parts.slice(0, -1)) {
      const next = Array.isArray(parent) ? parent[Number(p)] : parent?.[p];
      if (next === undefined || next === null || typeof next !== "object")
        throw new PatchFailed(`doc is missing path: ${op.path}`);
      parent = next as Record<string, unknown> | unknown[];
    }
    const last = parts[parts.length - 1];
    const current = Array.isArray(parent)
      ? last === "-"
        ? undefined
        : parent[Number(last)]
      : (parent as Record<string, unknown>)[last];
    switch (op.op) {
      case "test":
        if (!isDeepStrictEqual(current, op.value)) throw new PatchFailed(`testing value ${op.path} failed`);
        break;
      case "add":
        if (Array.isArray(parent)) {
          const i = last === "-" ? parent.length : Number(last);
          if (!(i >= 0 && i <= parent.length)) throw new PatchFailed(`index out of range: ${op.path}`);
          parent.splice(i, 0, clone(op.value));
        } else (parent as Record<string, unknown>)[last] = clone(op.value);
        break;
      case "replace":
        if (current === undefined) throw new PatchFailed(`doc is missing key: ${op.path}`);
        if (Array.isArray(parent)) parent[Number(last)] = clone(op.value);
        else (parent as Record<string, unknown>)[last] = clone(op.value);
        break;
      case "remove":
        if (current === undefined) throw new PatchFailed(`doc is missing key: ${op.path}`);
        if (Array.isArray(parent)) parent.splice(Number(last), 1);
        else delete (parent as Record<string, unknown>)[last];
        break;
      default:
        throw new PatchFailed(`unsupported op ${op.op}`);
    }
  }
  return root;
}

const KNOWN: ResourceType[] = [...Object.values(CORE)];

export class FakeKube implements KubeSurface {
  readonly server = "https://fake-kube.invalid";
  readonly calls: KubeCall[] = [];
  /** Issued ServiceAccount tokens (TokenRequest), newest last. */
  readonly tokenRequests: { namespace: string; name: string; audiences?: string[] }[] = [];
  private readonly objects = new Map<string, { rt: ResourceType; obj: Obj }>();
  private readonly faults: Fault[] = [];
  private readonly hooks: { match: (c: KubeCall) => boolean; fn: () => void }[] = [];
  private readonly listeners = new Set<(ev: WatchEvent) => void>();
  private readonly types = new Map<string, ResourceType>();
  private revision = 1000;
  private uids = 0;
  private readonly now: () => number;

  constructor(opts: { now?: () => number; resources?: ResourceType[] } = {}) {
    this.now = opts.now ?? Date.now;
    for (const rt of [...KNOWN, ...(opts.resources ?? [])]) this.types.set(this.typeKey(rt), rt);
  }

  path(rt: ResourceType, namespace?: string, name?: string, subresource?: string): string {
    return KubeClient.prototype.path.call(this, rt, namespace, name, subresource);
  }

  // ---- test controls -------------------------------------------------------------------------

  /**
   * The next `times` requests matching `match` fail with `status` (before any change), as a
   * flaky or refusing API server would.
   */
  fail(
    match: Partial<KubeCall> | ((c: KubeCall) => boolean),
    status: number,
    opts: { reason?: string; message?: string; times?: number } = {},
  ): void {
    const fn =
      typeof match === "function"
        ? match
        : (c: KubeCall) =>
            Object.entries(match).every(([k, v]) => (c as unknown as Record<string, unknown>)[k] === v);
    this.faults.push({
      match: fn,
      status,
      reason: opts.reason ?? (status === 409 ? "Conflict" : status === 422 ? "Invalid" : "InternalError"),
      message: opts.message ?? "injected by the test",
      times: opts.times ?? 1,
    });
  }

  /**
   * Runs `fn` once, just before the next request matching `match` is served: a
   * concurrent writer (a user, another controller) acting between a read and a write.
   */
  before(match: (c: KubeCall) => boolean, fn: () => void): void {
    this.hooks.push({ match, fn });
  }

  /** Counts the recorded calls that match. */
  count(match: Partial<KubeCall>): number {
    return this.calls.filter((c) =>
      Object.entries(match).every(([k, v]) => (c as unknown as Record<string, unknown>)[k] === v),
    ).length;
  }

  /** A watch of every change (the informers use it). */
  watch(listener: (ev: WatchEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Puts an object in place as a user (kubectl apply) would: no fault, recorded as nothing. */
  seed<T extends KubeObject>(rt: ResourceType, obj: T): T {
    this.types.set(this.typeKey(rt), rt);
    return this.doCreate(
      rt,
      obj.metadata.namespace,
      clone(obj) as unknown as Obj,
      "POST",
      "",
    ) as unknown as T;
  }

  /** Edits an object as a user would (no fault injected, recorded as nothing); the spec change moves generation. */
  edit<T extends KubeObject>(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    f: (o: T) => void,
  ): T {
    const cur = this.mustGet(rt, namespace, name, "PUT", "");
    const next = clone(cur) as unknown as T;
    f(next);
    return this.store(rt, cur, next as unknown as Obj) as unknown as T;
  }

  /** Deletes an object as a user would (kubectl delete): finalizers are honoured. */
  userDelete(rt: ResourceType, namespace: string | undefined, name: string): void {
    this.doDelete(rt, namespace, name, {}, "(user)");
  }

  /** The stored object (a copy), or undefined. */
  peek<T extends KubeObject = KubeObject>(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
  ): T | undefined {
    const e = this.objects.get(this.key(rt, namespace, name));
    return e ? (clone(e.obj) as unknown as T) : undefined;
  }

  /** Every stored object of a type (copies). */
  all<T extends KubeObject = KubeObject>(rt: ResourceType, namespace?: string): T[] {
    return [...this.objects.values()]
      .filter((e) => this.typeKey(e.rt) === this.typeKey(rt))
      .filter((e) => namespace === undefined || e.obj.metadata.namespace === namespace)
      .map((e) => clone(e.obj) as unknown as T);
  }

  // ---- KubeClient's surface ------------------------------------------------------------------

  async get<T extends KubeObject = KubeObject>(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
  ): Promise<T> {
    this.record({ verb: "get", plural: rt.plural, namespace, name }, "GET", this.path(rt, namespace, name));
    return clone(this.mustGet(rt, namespace, name, "GET", this.path(rt, namespace, name))) as unknown as T;
  }

  async getOrNull<T extends KubeObject = KubeObject>(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
  ): Promise<T | null> {
    try {
      return await this.get<T>(rt, namespace, name);
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return null;
      throw err;
    }
  }

  async list<T extends KubeObject = KubeObject>(
    rt: ResourceType,
    namespace?: string,
    opts: ListOptions = {},
  ): Promise<KubeList<T>> {
    this.record({ verb: "list", plural: rt.plural, namespace }, "GET", this.path(rt, namespace));
    const items = this.all<T>(rt, rt.namespaced ? namespace : undefined).filter((o) =>
      matchesSelector(o, opts.labelSelector),
    );
    return { metadata: { resourceVersion: String(this.revision) }, items };
  }

  async create<T extends KubeObject = KubeObject>(
    rt: ResourceType,
    namespace: string | undefined,
    obj: unknown,
  ): Promise<T> {
    const path = this.path(rt, namespace);
    this.record(
      { verb: "create", plural: rt.plural, namespace, name: (obj as Obj).metadata?.name },
      "POST",
      path,
    );
    return clone(this.doCreate(rt, namespace, clone(obj) as Obj, "POST", path)) as unknown as T;
  }

  async createIfAbsent(rt: ResourceType, namespace: string | undefined, obj: unknown): Promise<void> {
    try {
      await this.create(rt, namespace, obj);
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 409 && err.reason === "AlreadyExists")) throw err;
    }
  }

  async replace<T extends KubeObject = KubeObject>(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    obj: unknown,
    subresource?: string,
  ): Promise<T> {
    const path = this.path(rt, namespace, name, subresource);
    this.record({ verb: "update", plural: rt.plural, namespace, name, subresource }, "PUT", path);
    return clone(
      this.doReplace(rt, namespace, name, clone(obj) as Obj, subresource, "PUT", path),
    ) as unknown as T;
  }

  async patch<T extends KubeObject = KubeObject>(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    type: PatchType = "merge",
    opts: { subresource?: string; fieldManager?: string; force?: boolean } = {},
  ): Promise<T> {
    const path = this.path(rt, namespace, name, opts.subresource);
    this.record(
      { verb: "patch", plural: rt.plural, namespace, name, subresource: opts.subresource, patchType: type },
      "PATCH",
      path,
    );
    const cur = this.mustGet(rt, namespace, name, "PATCH", path);
    let next: Obj;
    try {
      next =
        type === "json"
          ? (jsonPatch(cur, patch as { op: string; path: string; value?: unknown }[]) as Obj)
          : (mergePatch(cur, patch) as Obj);
    } catch (err) {
      if (err instanceof PatchFailed) throw apiError("PATCH", path, 422, "", err.message);
      throw err;
    }
    const rv = next.metadata?.resourceVersion;
    if (rv !== undefined && rv !== cur.metadata.resourceVersion)
      throw apiError(
        "PATCH",
        path,
        409,
        "Conflict",
        "the object has been modified; please apply your changes to the latest version and try again",
      );
    return clone(this.writeUpdate(rt, cur, next, opts.subresource, "PATCH", path)) as unknown as T;
  }

  async delete(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    opts: { propagationPolicy?: string; uid?: string; resourceVersion?: string } = {},
  ): Promise<boolean> {
    const path = this.path(rt, namespace, name);
    try {
      this.record({ verb: "delete", plural: rt.plural, namespace, name }, "DELETE", path);
      this.doDelete(rt, namespace, name, opts, path);
      return true;
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return false;
      throw err;
    }
  }

  /** The generic request: dry runs, ServiceAccount tokens, and the verbs above by path. */
  async raw(method: string, fullPath: string, body?: unknown): Promise<unknown> {
    const [path, qs] = fullPath.split("?");
    const dryRun = new URLSearchParams(qs).get("dryRun") === "All";
    const p = this.parsePath(path);
    if (!p) throw apiError(method, path, 404, "NotFound", "the server could not find the requested resource");
    const { rt, namespace, name, subresource } = p;
    if (rt.plural === "serviceaccounts" && subresource === "token" && method === "POST") {
      this.record({ verb: "token", plural: rt.plural, namespace, name, subresource }, method, path);
      this.mustGet(rt, namespace, name ?? "", method, path);
      const spec = (body as { spec?: { audiences?: string[] } } | undefined)?.spec;
      this.tokenRequests.push({ namespace: namespace ?? "", name: name ?? "", audiences: spec?.audiences });
      return { status: { token: `jwt.${namespace}.${name}.${this.tokenRequests.length}` } };
    }
    if (dryRun) {
      const verb = method === "POST" ? "create" : "update";
      this.record({ verb, plural: rt.plural, namespace, name, dryRun: true }, method, path);
      const obj = clone(body) as Obj;
      if (method === "POST") {
        if (obj.metadata?.name && this.objects.has(this.key(rt, namespace, obj.metadata.name)))
          throw apiError(
            method,
            path,
            409,
            "AlreadyExists",
            `${rt.plural} "${obj.metadata.name}" already exists`,
          );
        this.validate(rt, obj, undefined, method, path);
      } else {
        const cur = this.mustGet(rt, namespace, name ?? "", method, path);
        this.checkRV(cur, obj, method, path);
        this.validate(rt, obj, cur, method, path);
      }
      return obj;
    }
    switch (method) {
      case "GET":
        return name ? await this.get(rt, namespace, name) : await this.list(rt, namespace);
      case "POST":
        return await this.create(rt, namespace, body);
      case "PUT":
        return await this.replace(rt, namespace, name ?? "", body, subresource);
      case "DELETE":
        return await this.delete(rt, namespace, name ?? "");
      default:
        throw apiError(method, path, 405, "MethodNotAllowed", "not supported by the fake");
    }
  }

  // ---- the store -----------------------------------------------------------------------------

  private typeKey(rt: ResourceType): string {
    return `${rt.group}/${rt.plural}`;
  }

  private key(rt: ResourceType, namespace: string | undefined, name: string): string {
    return `${this.typeKey(rt)}/${rt.namespaced ? (namespace ?? "") : ""}/${name}`;
  }

  private parsePath(
    path: string,
  ): { rt: ResourceType; namespace?: string; name?: string; subresource?: string } | undefined {
    const m =
      /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?$/.exec(
        path,
      );
    if (!m) return undefined;
    const group = m[2] ?? "";
    const rt = this.types.get(`${group}/${m[5]}`);
    if (!rt) return undefined;
    const dec = (s?: string) => (s === undefined ? undefined : decodeURIComponent(s));
    return { rt, namespace: dec(m[4]), name: dec(m[6]), subresource: m[7] };
  }

  private record(call: KubeCall, method: string, path: string): void {
    this.calls.push(call);
    const hook = this.hooks.findIndex((x) => x.match(call));
    if (hook >= 0) this.hooks.splice(hook, 1)[0].fn();
    const f = this.faults.find((x) => x.times > 0 && x.match(call));
    if (!f) return;
    f.times--;
    throw apiError(method, path, f.status, f.reason, f.message);
  }

  private mustGet(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    method: string,
    path: string,
  ): Obj {
    const e = this.objects.get(this.key(rt, namespace, name));
    if (!e) throw apiError(method, path, 404, "NotFound", `${rt.plural} "${name}" not found`);
    return e.obj;
  }

  private nextRV(): string {
    return String(++this.revision);
  }

  private emit(type: WatchEvent["type"], rt: ResourceType, obj: Obj): void {
    for (const l of this.listeners) l({ type, rt, object: clone(obj) });
  }

  private hasStatusSubresource(rt: ResourceType): boolean {
    return rt.group === STATUS_SUBRESOURCE_GROUP;
  }

  private doCreate(
    rt: ResourceType,
    namespace: string | undefined,
    obj: Obj,
    method: string,
    path: string,
  ): Obj {
    obj.metadata ??= {};
    if (!obj.metadata.name && (obj.metadata as { generateName?: string }).generateName) {
      obj.metadata.name = `${(obj.metadata as { generateName?: string }).generateName}${(++this.uids).toString(36)}`;
    }
    const name = obj.metadata.name ?? "";
    if (rt.namespaced) obj.metadata.namespace = namespace ?? obj.metadata.namespace;
    if (this.objects.has(this.key(rt, obj.metadata.namespace, name)))
      throw apiError(method, path, 409, "AlreadyExists", `${rt.plural} "${name}" already exists`);
    this.validate(rt, obj, undefined, method, path);
    obj.apiVersion ??= rt.group ? `${rt.group}/${rt.version}` : rt.version;
    obj.kind ??= rt.kind;
    obj.metadata.uid = obj.metadata.uid ?? `uid-${rt.plural}-${++this.uids}`;
    obj.metadata.resourceVersion = this.nextRV();
    obj.metadata.creationTimestamp = new Date(this.now()).toISOString();
    if (this.hasStatusSubresource(rt)) obj.metadata.generation = 1;
    delete obj.metadata.deletionTimestamp;
    this.objects.set(this.key(rt, obj.metadata.namespace, name), { rt, obj });
    this.emit("ADDED", rt, obj);
    return obj;
  }

  private checkRV(cur: Obj, next: Obj, method: string, path: string): void {
    const rv = next.metadata?.resourceVersion;
    if (rv !== undefined && rv !== "" && rv !== cur.metadata.resourceVersion)
      throw apiError(
        method,
        path,
        409,
        "Conflict",
        "the object has been modified; please apply your changes to the latest version and try again",
      );
  }

  private doReplace(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    obj: Obj,
    subresource: string | undefined,
    method: string,
    path: string,
  ): Obj {
    const cur = this.mustGet(rt, namespace, name, method, path);
    this.checkRV(cur, obj, method, path);
    return this.writeUpdate(rt, cur, obj, subresource, method, path);
  }

  /** An update through the API (PUT or PATCH): the status subresource rules apply. */
  private writeUpdate(
    rt: ResourceType,
    cur: Obj,
    next: Obj,
    subresource: string | undefined,
    method: string,
    path: string,
  ): Obj {
    if (subresource !== undefined && subresource !== "status")
      throw apiError(method, path, 404, "NotFound", `subresource ${subresource} not served by the fake`);
    let merged: Obj;
    if (subresource === "status") {
      merged = clone(cur);
      if (next.status === undefined) delete merged.status;
      else merged.status = clone(next.status);
    } else {
      merged = clone(next);
      if (this.hasStatusSubresource(rt)) {
        if (cur.status === undefined) delete merged.status;
        else merged.status = clone(cur.status);
      }
      // What clients cannot change.
      merged.metadata.uid = cur.metadata.uid;
      merged.metadata.creationTimestamp = cur.metadata.creationTimestamp;
      merged.metadata.generation = cur.metadata.generation;
      if (cur.metadata.deletionTimestamp) merged.metadata.deletionTimestamp = cur.metadata.deletionTimestamp;
      else delete merged.metadata.deletionTimestamp;
      this.validate(rt, merged, cur, method, path);
    }
    return this.store(rt, cur, merged);
  }

  /** Stores a new version: generation, resourceVersion, finalization, the watch event. */
  private store(rt: ResourceType, cur: Obj, next: Obj): Obj {
    if (this.hasStatusSubresource(rt) && !isDeepStrictEqual(cur.spec, next.spec))
      next.metadata.generation = (cur.metadata.generation ?? 1) + 1;
    const unchanged = isDeepStrictEqual(
      { ...cur, metadata: { ...cur.metadata, resourceVersion: "" } },
      {
        ...next,
        metadata: { ...next.metadata, resourceVersion: "" },
      },
    );
    const k = this.key(rt, next.metadata.namespace, next.metadata.name ?? "");
    if (unchanged) {
      // The API server answers a no-op update with the object as it is, without a new revision.
      return cur;
    }
    next.metadata.resourceVersion = this.nextRV();
    if (next.metadata.deletionTimestamp && (next.metadata.finalizers ?? []).length === 0) {
      this.remove(rt, k, next);
      return next;
    }
    this.objects.set(k, { rt, obj: next });
    this.emit("MODIFIED", rt, next);
    return next;
  }

  private doDelete(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    opts: { uid?: string; resourceVersion?: string },
    path: string,
  ): void {
    const cur = this.mustGet(rt, namespace, name, "DELETE", path);
    if (opts.uid && opts.uid !== cur.metadata.uid)
      throw apiError(
        "DELETE",
        path,
        409,
        "Conflict",
        "Precondition failed: UID in precondition does not match",
      );
    if (opts.resourceVersion && opts.resourceVersion !== cur.metadata.resourceVersion)
      throw apiError("DELETE", path, 409, "Conflict", "Precondition failed: resourceVersion does not match");
    const k = this.key(rt, namespace, name);
    if ((cur.metadata.finalizers ?? []).length > 0) {
      if (cur.metadata.deletionTimestamp) return;
      const next = clone(cur);
      next.metadata.deletionTimestamp = new Date(this.now()).toISOString();
      next.metadata.resourceVersion = this.nextRV();
      this.objects.set(k, { rt, obj: next });
      this.emit("MODIFIED", rt, next);
      return;
    }
    this.remove(rt, k, cur);
  }

  /** Gone for good; what it owned goes too (the garbage collector, at once). */
  private remove(rt: ResourceType, k: string, obj: Obj): void {
    this.objects.delete(k);
    this.emit("DELETED", rt, obj);
    const uid = obj.metadata.uid;
    for (const e of [...this.objects.values()]) {
      if ((e.obj.metadata.ownerReferences ?? []).some((r) => r.uid === uid)) {
        this.doDelete(e.rt, e.obj.metadata.namespace, e.obj.metadata.name ?? "", {}, "(garbage collector)");
      }
    }
  }

  /** The API server's validation, for what the reconcilers can get wrong. */
  private validate(rt: ResourceType, obj: Obj, cur: Obj | undefined, method: string, path: string): void {
    const invalid = (msg: string) => apiError(method, path, 422, "Invalid", msg);
    const name = obj.metadata?.name ?? "";
    if (!(obj.metadata as { generateName?: string }).generateName || name) {
      if (name.length === 0 || name.length > 253 || !DNS_SUBDOMAIN.test(name))
        throw invalid(`metadata.name: Invalid value: "${name}"`);
    }
    for (const [k, v] of Object.entries(obj.metadata.labels ?? {})) {
      if (v.length > 63 || !LABEL_VALUE.test(v))
        throw invalid(`metadata.labels: Invalid value: "${v}" (${k})`);
    }
    if (rt.plural !== "secrets" || rt.group !== "") return;
    const s = obj as Obj & { type?: string; data?: Record<string, string>; immutable?: boolean };
    for (const key of Object.keys(s.data ?? {})) {
      if (!SECRET_KEY.test(key))
        throw invalid(
          `data[${key}]: Invalid value: "${key}": a valid config key must consist of alphanumeric characters, '-', '_' or '.'`,
        );
    }
    if ((s.type ?? "Opaque") === "kubernetes.io/tls") {
      for (const key of ["tls.crt", "tls.key"])
        if (s.data?.[key] === undefined) throw invalid(`data[${key}]: Required value`);
    }
    if (cur) {
      const c = cur as typeof s;
      if ((c.type ?? "Opaque") !== (s.type ?? "Opaque"))
        throw invalid("type: Invalid value: field is immutable");
      if (c.immutable && !isDeepStrictEqual(c.data ?? {}, s.data ?? {}))
        throw invalid("data: Forbidden: field is immutable when `immutable` is set");
    }
  }

  // ---- informers -----------------------------------------------------------------------------

  /** An informer-like cache of one type, following this store. */
  informer<T extends KubeObject = KubeObject>(
    rt: ResourceType,
    opts: { labelSelector?: string; metadataOnly?: boolean } = {},
  ): FakeInformer<T> {
    this.types.set(this.typeKey(rt), rt);
    return new FakeInformer<T>(this, rt, opts);
  }
}

function matchesSelector(o: KubeObject, selector: string | undefined): boolean {
  if (!selector) return true;
  const labels = o.metadata.labels ?? {};
  return selector.split(",").every((term) => {
    const t = term.trim();
    if (!t) return true;
    const i = t.indexOf("=");
    if (i < 0) return labels[t] !== undefined;
    return labels[t.slice(0, i)] === t.slice(i + 1);
  });
}

/**
 * What the reconcilers use of a MultiInformer (get, list, on), fed by the fake's
 * watch events. Events are applied at once unless the watch is paused: then they
 * wait until `resume()` (a cache that lags behind the writes).
 */
export class FakeInformer<T extends KubeObject = KubeObject> {
  readonly resource: ResourceType;
  private readonly items = new Map<string, T>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private readonly backlog: WatchEvent[] = [];
  private paused = false;
  private readonly opts: { labelSelector?: string; metadataOnly?: boolean };
  readonly stop: () => void;

  constructor(kube: FakeKube, rt: ResourceType, opts: { labelSelector?: string; metadataOnly?: boolean }) {
    this.resource = rt;
    this.opts = opts;
    for (const o of kube.all<T>(rt))
      if (matchesSelector(o, opts.labelSelector)) this.items.set(keyOf(o), this.shape(o));
    this.stop = kube.watch((ev) => {
      if (ev.rt.plural !== rt.plural || ev.rt.group !== rt.group) return;
      if (this.paused) this.backlog.push(ev);
      else this.apply(ev);
    });
  }

  /** Typed as the production informer, for OperatorContext. */
  asMultiInformer(): MultiInformer<T> {
    return this as unknown as MultiInformer<T>;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    for (const ev of this.backlog.splice(0)) this.apply(ev);
  }

  on(h: InformerHandlers<T>): void {
    this.handlers.push(h);
  }

  get(namespace: string, name: string): T | undefined {
    return this.items.get(`${namespace}/${name}`);
  }

  list(namespace?: string): T[] {
    return [...this.items.values()].filter(
      (o) => namespace === undefined || o.metadata.namespace === namespace,
    );
  }

  hasSynced(): boolean {
    return true;
  }

  private shape(o: T): T {
    if (!this.opts.metadataOnly) return o;
    return { apiVersion: o.apiVersion, kind: o.kind, metadata: o.metadata } as T;
  }

  private apply(ev: WatchEvent): void {
    const o = this.shape(ev.object as unknown as T);
    const k = keyOf(o);
    const old = this.items.get(k);
    const selected = ev.type !== "DELETED" && matchesSelector(o, this.opts.labelSelector);
    if (!selected) {
      if (!old) return;
      this.items.delete(k);
      for (const h of this.handlers) h.delete?.(old);
      return;
    }
    this.items.set(k, o);
    for (const h of this.handlers) {
      if (old) h.update?.(old, o);
      else h.add?.(o);
    }
  }
}

function keyOf(o: KubeObject): string {
  return `${o.metadata.namespace}/${o.metadata.name}`;
}
