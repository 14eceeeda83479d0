// A list+watch informer (reflector + store), written by hand because
// @kubernetes/client-node's ListWatch stops on errors, never asks for
// bookmarks, does not page and has no watchdog. This one:
// - lists in pages (limit 500) and watches from the list's resourceVersion;
// - asks for bookmarks and resumes from the last seen resourceVersion;
// - relists on 410 Gone (or an ERROR event with code 410);
// - retries a failed list or watch with client-go's reflector backoff (800 ms
//   doubling to 30 s, jittered; retry-backoff.ts), a watch ended by an ERROR
//   event or closed at once with nothing delivered included, and starts the
//   streak over only after a watch that lived (delivered an event, or stayed
//   open for healthyWatchMs); each failure is reported once, with its delay;
// - ends each watch after a jittered server timeout, and relists when a watch
//   has been silent (no events and no bookmarks) for too long (watchdog);
// - can watch metadata only (PartialObjectMetadata), e.g. for Secrets;
// - keeps a projection, not the whole object: managedFields and kubectl's
//   last-applied-configuration (a second copy of the object) are dropped;
// - indexes its store by namespace, so a per-namespace list costs the size of
//   that namespace rather than of the whole cache.
import { setTimeout as sleep } from "node:timers/promises";
import { KubeApiError, type KubeClient, type KubeObject, type ResourceType } from "../kube/client.ts";
import { RetryBackoff, type RetryBackoffPolicy } from "./retry-backoff.ts";

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  metadataOnly?: boolean;
  pageSize?: number;
  /** Relist when nothing (not even a bookmark) arrived for this long. */
  watchdogMs?: number;
  /** Server-side watch timeout range in seconds; a random value in it is used per watch. */
  watchTimeoutSeconds?: [number, number];
  /** Strip managedFields and kubectl's last-applied-configuration from cached objects to save memory. */
  stripManagedFields?: boolean;
  /** Pacing of list and watch retries; client-go's reflector's by default. */
  backoff?: Partial<RetryBackoffPolicy>;
  /** A watch open this long (or one that delivered an event) ends a failure streak. */
  healthyWatchMs?: number;
  /** The clock and timer the retries use (tests inject them). */
  timers?: Partial<InformerTimers>;
  /**
   * A failure: of a list or a watch (with `retry`, once per backoff step), or
   * of an event handler (without).
   */
  onError?: (err: unknown, retry?: RetryInfo) => void;
}

/** When a failed list or watch is tried again. */
export interface RetryInfo {
  retryInMs: number;
  /** Failures in the current streak, this one included. */
  failures: number;
}

export interface InformerTimers {
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts; never rejects. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  random(): number;
}

const REAL_TIMERS: InformerTimers = {
  now: Date.now,
  sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => {}),
  random: Math.random,
};

/** A watch ended by an ERROR event: the metav1.Status the server sent (410 when the resourceVersion is too old). */
export class WatchStatusError extends Error {
  readonly code: number;
  readonly reason: string;
  constructor(resource: string, status: { code?: number; reason?: string; message?: string }) {
    super(
      `watch of ${resource} ended by the server: ${status.code ?? "?"} ${status.reason ?? ""}${status.message ? `: ${status.message}` : ""}`,
    );
    this.name = "WatchStatusError";
    this.code = status.code ?? 0;
    this.reason = status.reason ?? "";
  }
}

/** A watch the server closed at once without delivering anything (client-go's "very short watch"). */
export class ShortWatchError extends Error {
  constructor(resource: string, ms: number) {
    super(`watch of ${resource} closed after ${ms} ms with no events`);
    this.name = "ShortWatchError";
  }
}

/** The resourceVersion watched from is too old: only a relist helps. */
function isGone(err: unknown): boolean {
  return (
    (err instanceof KubeApiError && err.status === 410) ||
    (err instanceof WatchStatusError && err.code === 410)
  );
}

/** How one watch went: whether it lived (which ends a failure streak), and how it failed, if it did. */
interface WatchOutcome {
  healthy: boolean;
  error?: unknown;
}

export interface InformerHandlers<T extends KubeObject> {
  add?: (obj: T) => void;
  update?: (oldObj: T, newObj: T) => void;
  delete?: (obj: T) => void;
}

/**
 * One copy of each short string that recurs across cached objects. JSON.parse
 * gives every object its own copy of every value, so 10,000 cached resources
 * held 10,000 "secrets.hashicorp.com/v1beta1", 30,000 "True" and so on. The
 * pool is bounded; past the bound, values are kept as parsed.
 */
const internPool = new Map<string, string>();
const INTERN_MAX_ENTRIES = 4096;
const INTERN_MAX_LENGTH = 64;

function intern(v: unknown): unknown {
  if (typeof v !== "string" || v.length > INTERN_MAX_LENGTH) return v;
  const hit = internPool.get(v);
  if (hit !== undefined) return hit;
  if (internPool.size < INTERN_MAX_ENTRIES) internPool.set(v, v);
  return v;
}

/** The values that repeat: kinds, namespaces, finalizers, label values, owners and condition fields. */
function internRepeatedValues(obj: KubeObject & { kind?: string; status?: unknown }): void {
  if (obj.apiVersion) obj.apiVersion = intern(obj.apiVersion) as string;
  if (obj.kind) obj.kind = intern(obj.kind) as string;
  const m = obj.metadata;
  if (!m) return;
  if (m.namespace) m.namespace = intern(m.namespace) as string;
  if (m.finalizers) m.finalizers = m.finalizers.map((f) => intern(f) as string);
  if (m.labels) for (const k of Object.keys(m.labels)) m.labels[k] = intern(m.labels[k]) as string;
  for (const o of m.ownerReferences ?? []) {
    o.apiVersion = intern(o.apiVersion) as string;
    o.kind = intern(o.kind) as string;
  }
  const conditions = (obj.status as { conditions?: unknown } | undefined)?.conditions;
  if (Array.isArray(conditions)) {
    for (const c of conditions as Record<string, unknown>[]) {
      if (!c || typeof c !== "object") continue;
      for (const k of ["type", "status", "reason", "message"]) if (k in c) c[k] = intern(c[k]);
    }
  }
}

/** kubectl apply's copy of the whole applied object: nothing here reads it. */
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

const METADATA_ACCEPT = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
const METADATA_LIST_ACCEPT = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";

export function objectKey(obj: KubeObject): string {
  return obj.metadata.namespace
    ? `${obj.metadata.namespace}/${obj.metadata.name}`
    : (obj.metadata.name ?? "");
}

export class Informer<T extends KubeObject = KubeObject> {
  readonly resource: ResourceType;
  private readonly kube: KubeClient;
  private readonly opts: Required<
    Omit<InformerOptions, "namespace" | "labelSelector" | "fieldSelector" | "onError" | "backoff" | "timers">
  > &
    InformerOptions;
  private readonly timers: InformerTimers;
  private readonly store = new Map<string, T>();
  /** The same objects by namespace ("" for cluster-scoped ones). */
  private readonly byNamespace = new Map<string, Map<string, T>>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private resourceVersion = "";
  private abort = new AbortController();
  private stopped = false;
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private lastActivity = 0;
  private loop?: Promise<void>;
  /** Counters, for tests and metrics. */
  readonly stats = { lists: 0, watches: 0, relists410: 0, watchdogRelists: 0, errors: 0 };

  constructor(kube: KubeClient, resource: ResourceType, opts: InformerOptions = {}) {
    this.kube = kube;
    this.resource = resource;
    this.opts = {
      pageSize: 500,
      watchdogMs: 10 * 60_000,
      watchTimeoutSeconds: [300, 600],
      metadataOnly: false,
      stripManagedFields: true,
      healthyWatchMs: 10_000,
      ...opts,
    };
    this.timers = { ...REAL_TIMERS, ...opts.timers };
  }

  on(handlers: InformerHandlers<T>): void {
    this.handlers.push(handlers);
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(namespace?: string): T[] {
    if (namespace === undefined) return [...this.store.values()];
    const inNs = this.byNamespace.get(namespace);
    return inNs ? [...inNs.values()] : [];
  }

  /** The namespace this informer is limited to, if any. */
  get namespace(): string | undefined {
    return this.opts.namespace;
  }

  private put(key: string, obj: T): void {
    this.store.set(key, obj);
    const ns = obj.metadata.namespace ?? "";
    let inNs = this.byNamespace.get(ns);
    if (!inNs) {
      inNs = new Map();
      this.byNamespace.set(ns, inNs);
    }
    inNs.set(key, obj);
  }

  private remove(key: string, obj: T): void {
    this.store.delete(key);
    const ns = obj.metadata.namespace ?? "";
    const inNs = this.byNamespace.get(ns);
    inNs?.delete(key);
    if (inNs?.size === 0) this.byNamespace.delete(ns);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  async waitForSync(): Promise<void> {
    if (this.synced) return;
    await new Promise<void>((resolve) => this.syncWaiters.push(resolve));
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.loop?.catch(() => {});
  }

  /**
   * List (when there is no resourceVersion to resume from), then watch, until
   * stopped. A failure of either waits out the next backoff step; only a watch
   * that lived resets the streak, so a list that works followed by a watch
   * that is refused (a 403 after an RBAC change, a deleted CRD, a 5xx) keeps
   * backing off up to the cap. A 410 relists at once, unless the watch after
   * the last such relist was refused with 410 again.
   */
  private async run(): Promise<void> {
    const backoff = new RetryBackoff(this.opts.backoff, this.timers.random);
    let relistedForGone = false;
    while (!this.stopped) {
      let failure: unknown;
      try {
        if (!this.resourceVersion) await this.relist();
        const watched = await this.watchOnce();
        if (watched.healthy) {
          backoff.reset();
          relistedForGone = false;
        }
        failure = watched.error;
      } catch (err) {
        failure = err;
      }
      if (this.stopped) break;
      if (failure === undefined) continue;
      if (isGone(failure)) {
        this.stats.relists410++;
        this.resourceVersion = "";
        if (!relistedForGone) {
          relistedForGone = true;
          continue;
        }
      }
      this.stats.errors++;
      const retryInMs = backoff.next();
      this.opts.onError?.(failure, { retryInMs, failures: backoff.failures });
      await this.timers.sleep(retryInMs, this.abort.signal);
    }
  }

  private async relist(): Promise<void> {
    this.stats.lists++;
    const seen = new Map<string, T>();
    let cont: string | undefined;
    let rv = "";
    do {
      const page = await this.kube.list<T>(
        this.resource,
        this.opts.namespace,
        {
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
          limit: this.opts.pageSize,
          continue: cont,
        },
        this.opts.metadataOnly ? METADATA_LIST_ACCEPT : undefined,
      );
      for (const item of page.items ?? []) {
        const obj = this.normalize(item);
        seen.set(objectKey(obj), obj);
      }
      cont = page.metadata.continue || undefined;
      rv = page.metadata.resourceVersion ?? "";
    } while (cont);
    // Replace the store, emitting the differences.
    for (const [key, old] of this.store) {
      if (!seen.has(key)) {
        this.remove(key, old);
        this.emit("delete", old);
      }
    }
    for (const [key, obj] of seen) {
      const old = this.store.get(key);
      this.put(key, obj);
      if (!old) this.emit("add", obj);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.emit("update", obj, old);
    }
    this.resourceVersion = rv;
    this.lastActivity = this.timers.now();
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  private async watchOnce(): Promise<WatchOutcome> {
    this.stats.watches++;
    const [lo, hi] = this.opts.watchTimeoutSeconds;
    const timeoutSeconds = Math.round(lo + Math.random() * (hi - lo));
    const watchAbort = new AbortController();
    const onStop = () => watchAbort.abort();
    this.abort.signal.addEventListener("abort", onStop, { once: true });
    const startedAt = this.timers.now();
    this.lastActivity = startedAt;
    let watchdogFired = false;
    const watchdog = setInterval(
      () => {
        if (this.timers.now() - this.lastActivity > this.opts.watchdogMs) {
          this.stats.watchdogRelists++;
          this.resourceVersion = "";
          watchdogFired = true;
          watchAbort.abort();
        }
      },
      Math.max(250, Math.min(10_000, this.opts.watchdogMs / 4)),
    );
    let delivered = 0;
    let error: unknown;
    try {
      await this.kube.watch(
        this.resource,
        this.opts.namespace,
        {
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds,
        },
        (ev) => {
          this.lastActivity = this.timers.now();
          if (ev.type === "ERROR") {
            error = new WatchStatusError(this.resource.plural, ev.object as { code?: number });
            watchAbort.abort();
            return;
          }
          delivered++;
          const obj = this.normalize(ev.object as T);
          if (obj.metadata.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
          if (ev.type === "BOOKMARK") return;
          const key = objectKey(obj);
          const old = this.store.get(key);
          if (ev.type === "DELETED") {
            this.remove(key, old ?? obj);
            this.emit("delete", old ?? obj);
          } else {
            this.put(key, obj);
            if (old) this.emit("update", obj, old);
            else this.emit("add", obj);
          }
        },
        watchAbort.signal,
        this.opts.metadataOnly ? METADATA_ACCEPT : undefined,
      );
    } catch (err) {
      // Aborted by us (stop, the watchdog, an ERROR event): not a transport failure.
      if (!watchAbort.signal.aborted) error = err;
    } finally {
      clearInterval(watchdog);
      this.abort.signal.removeEventListener("abort", onStop);
    }
    const lived = this.timers.now() - startedAt;
    const healthy = delivered > 0 || lived >= this.opts.healthyWatchMs;
    if (error === undefined && !healthy && !watchdogFired && !this.stopped) {
      error = new ShortWatchError(this.resource.plural, lived);
    }
    return { healthy, error };
  }

  private normalize(obj: T): T {
    if (this.opts.stripManagedFields && obj.metadata) {
      // Rebuilt rather than `delete`d: deleting a property turns an object into
      // a dictionary several times its size, and the cache holds one per object.
      const { managedFields: _dropped, annotations, ...meta } = obj.metadata;
      let kept = annotations;
      if (kept && LAST_APPLIED in kept) {
        const { [LAST_APPLIED]: _lastApplied, ...rest } = kept;
        kept = Object.keys(rest).length > 0 ? rest : undefined;
      }
      obj.metadata = kept ? { ...meta, annotations: kept } : meta;
    }
    if (this.opts.metadataOnly) {
      obj.apiVersion = this.resource.group
        ? `${this.resource.group}/${this.resource.version}`
        : this.resource.version;
      obj.kind = this.resource.kind;
    }
    internRepeatedValues(obj);
    return obj;
  }

  private emit(kind: "add" | "update" | "delete", obj: T, old?: T): void {
    for (const h of this.handlers) {
      try {
        if (kind === "add") h.add?.(obj);
        else if (kind === "delete") h.delete?.(obj);
        else h.update?.(old as T, obj);
      } catch (err) {
        this.opts.onError?.(err);
      }
    }
  }
}
