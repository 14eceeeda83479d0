// A small generic Kubernetes REST client. kubeconfig.ts finds the server and
// the credentials (client certificates, tokens, exec plugins, in-cluster token
// refresh); requests go through one pooled undici Agent. It is written by hand because the operator needs every resource kind
// (including our CRDs) through one code path, streaming watches with bookmarks,
// paged lists, the status subresource and explicit patch content types, which
// client-node's generic object API (discovery on every new kind, json-patch
// by default) does not give cleanly.
import { Agent, type Dispatcher, request } from "undici";
import { withReconcileSignal } from "../util/reconcile-scope.ts";
import { setClampedTimeout } from "../util/timers.ts";
import { type KubeConnection, loadConnection } from "./kubeconfig.ts";
import { TokenBucket } from "./token-bucket.ts";

/**
 * --kube-client-qps/--kube-client-burst. qps <= 0: no client-side limit (controller-runtime's
 * default since v0.21, which leaves fairness to the API server's priority and fairness);
 * qps > 0 with burst <= 0: client-go's default burst, 10.
 */
export interface RateLimitOptions {
  qps?: number;
  burst?: number;
}

function limiterFor(opts: RateLimitOptions): TokenBucket | undefined {
  const qps = opts.qps ?? 0;
  if (!(qps > 0)) return undefined;
  return new TokenBucket(qps, (opts.burst ?? 0) > 0 ? (opts.burst as number) : 10);
}

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  // Strings on the wire; Date in @kubernetes/client-node's model types, which our generated CRD types reuse.
  creationTimestamp?: string | Date;
  deletionTimestamp?: string | Date;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  managedFields?: unknown[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

/** Identifies a resource collection: group ("" for core), version and plural. */
export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export const CORE = {
  secrets: { group: "", version: "v1", plural: "secrets", kind: "Secret", namespaced: true },
  configmaps: { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true },
  pods: { group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true },
  namespaces: { group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false },
  serviceaccounts: {
    group: "",
    version: "v1",
    plural: "serviceaccounts",
    kind: "ServiceAccount",
    namespaced: true,
  },
  events: { group: "", version: "v1", plural: "events", kind: "Event", namespaced: true },
  deployments: { group: "apps", version: "v1", plural: "deployments", kind: "Deployment", namespaced: true },
  statefulsets: {
    group: "apps",
    version: "v1",
    plural: "statefulsets",
    kind: "StatefulSet",
    namespaced: true,
  },
  daemonsets: { group: "apps", version: "v1", plural: "daemonsets", kind: "DaemonSet", namespaced: true },
  clusterrolebindings: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    plural: "clusterrolebindings",
    kind: "ClusterRoleBinding",
    namespaced: false,
  },
  crds: {
    group: "apiextensions.k8s.io",
    version: "v1",
    plural: "customresourcedefinitions",
    kind: "CustomResourceDefinition",
    namespaced: false,
  },
  leases: { group: "coordination.k8s.io", version: "v1", plural: "leases", kind: "Lease", namespaced: true },
} as const satisfies Record<string, ResourceType>;

export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string;
  constructor(method: string, path: string, status: number, reason: string, message: string) {
    super(`${method} ${path}: ${status} ${reason}${message ? `: ${message}` : ""}`);
    this.name = "KubeApiError";
    this.status = status;
    this.reason = reason;
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 404;
}
export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 409;
}
export function isAlreadyExists(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 409 && err.reason === "AlreadyExists";
}

export type PatchType = "merge" | "strategic" | "json" | "apply";
const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  json: "application/json-patch+json",
  apply: "application/apply-patch+yaml",
};

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export class KubeClient {
  readonly server: string;
  private readonly conn: KubeConnection;
  private readonly newAgent: () => Agent;
  private agent: Agent;
  private readonly limiter?: TokenBucket;
  /** How many times a broken connection pool was replaced (for tests and diagnostics). */
  transportResets = 0;
  /** Requests sent, watches counted once (for tests and diagnostics). */
  requests = 0;

  private constructor(conn: KubeConnection, newAgent: () => Agent, limiter?: TokenBucket) {
    this.conn = conn;
    this.newAgent = newAgent;
    this.agent = newAgent();
    this.server = conn.server.replace(/\/+$/, "");
    this.limiter = limiter;
  }

  static fromConnection(conn: KubeConnection, rateLimit: RateLimitOptions = {}): KubeClient {
    const newAgent = () =>
      new Agent({
        connect: {
          ca: conn.tls.ca,
          cert: conn.tls.cert,
          key: conn.tls.key,
          rejectUnauthorized: conn.tls.rejectUnauthorized,
          servername: conn.tls.servername,
        },
        connections: 64,
        keepAliveTimeout: 30_000,
        // HTTP/2 over TLS, as client-go speaks it (DISABLE_HTTP2 turns it off there and here):
        // one connection carries the watches and the reconciles' requests, which
        // cut the operator's CPU during a cold sync by about a fifth (docs/benchmarks.md).
        allowH2: !process.env.DISABLE_HTTP2,
      });
    return new KubeClient(conn, newAgent, limiterFor(rateLimit));
  }

  /** Loads a kubeconfig file, or the default chain (KUBECONFIG, ~/.kube/config, in-cluster). */
  static async load(kubeconfigPath?: string, rateLimit: RateLimitOptions = {}): Promise<KubeClient> {
    return KubeClient.fromConnection(loadConnection(kubeconfigPath), rateLimit);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /**
   * Sends a request on the current connection pool. A transport failure (not
   * an HTTP status: a GOAWAY such as ENHANCE_YOUR_CALM, a reset or closed
   * socket, a stalled session) may leave the HTTP/2 session unusable for every
   * later request, so the pool that failed is replaced by a fresh one: one bad
   * request can never stop the operator's other traffic. Failures caused by
   * the caller's own abort are not the transport's fault and replace nothing.
   * The rate limit is taken here, before the request is sent: a watch pays for
   * opening its stream, never for the time the stream stays open.
   */
  private async send<T>(
    url: string,
    options: {
      method: Dispatcher.HttpMethod;
      headers: Record<string, string>;
      body?: string;
      signal?: AbortSignal;
      headersTimeout: number;
      bodyTimeout: number;
    },
    consume: (res: Dispatcher.ResponseData<unknown>) => Promise<T>,
  ): Promise<T> {
    // A request sent from a reconcile also ends at that reconcile's deadline.
    const signal = withReconcileSignal(options.signal);
    await this.limiter?.take(signal);
    this.requests++;
    const agent = this.agent;
    try {
      const res = await request(url, { ...options, signal, dispatcher: agent });
      return await consume(res);
    } catch (err) {
      if (!signal?.aborted && !(err instanceof KubeApiError)) this.replaceAgent(agent);
      throw err;
    }
  }

  /** Swaps in a new pool unless `failed` was already replaced; the old one drains, then is destroyed. */
  private replaceAgent(failed: Agent): void {
    if (this.agent !== failed) return;
    this.agent = this.newAgent();
    this.transportResets++;
    // In-flight requests (long watches too) may finish on the old pool; whatever
    // is still there after a minute is cut, and its callers retry on the new one.
    void failed.close().catch(() => {});
    setClampedTimeout(() => void failed.destroy().catch(() => {}), 60_000);
  }

  path(rt: ResourceType, namespace?: string, name?: string, subresource?: string): string {
    let p = rt.group === "" ? `/api/${rt.version}` : `/apis/${rt.group}/${rt.version}`;
    if (rt.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
    p += `/${rt.plural}`;
    if (name) p += `/${encodeURIComponent(name)}`;
    if (subresource) p += `/${subresource}`;
    return p;
  }

  async raw(
    method: string,
    path: string,
    body?: unknown,
    contentType = "application/json",
    extraHeaders: Record<string, string> = {},
    timeoutMs = 30_000,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const headers: Record<string, string> = {
      accept: "application/json",
      ...(await this.conn.authHeaders()),
      ...extraHeaders,
    };
    let payload: string | undefined;
    if (body !== undefined) {
      headers["content-type"] = contentType;
      payload = typeof body === "string" ? body : JSON.stringify(body);
    }
    return await this.send(
      this.server + path,
      {
        method: method as "GET",
        headers,
        body: payload,
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      },
      async (res) => {
        const text = await res.body.text();
        const json = text ? safeJson(text) : undefined;
        if (res.statusCode >= 300) {
          const st = (json ?? {}) as { reason?: string; message?: string };
          throw new KubeApiError(
            method,
            path,
            res.statusCode,
            st.reason ?? "",
            st.message ?? text.slice(0, 300),
          );
        }
        return json;
      },
    );
  }

  async get<T extends KubeObject = KubeObject>(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
  ): Promise<T> {
    return (await this.raw("GET", this.path(rt, namespace, name))) as T;
  }

  async getOrNull<T extends KubeObject = KubeObject>(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
  ): Promise<T | null> {
    try {
      return await this.get<T>(rt, namespace, name);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async list<T extends KubeObject = KubeObject>(
    rt: ResourceType,
    namespace?: string,
    opts: ListOptions = {},
    accept?: string,
  ): Promise<KubeList<T>> {
    const q = new URLSearchParams();
    if (opts.labelSelector) q.set("labelSelector", opts.labelSelector);
    if (opts.fieldSelector) q.set("fieldSelector", opts.fieldSelector);
    if (opts.limit) q.set("limit", String(opts.limit));
    if (opts.continue) q.set("continue", opts.continue);
    if (opts.resourceVersion !== undefined) q.set("resourceVersion", opts.resourceVersion);
    const qs = q.toString();
    const headers: Record<string, string> = accept ? { accept } : {};
    return (await this.raw(
      "GET",
      this.path(rt, namespace) + (qs ? `?${qs}` : ""),
      undefined,
      undefined,
      headers,
    )) as KubeList<T>;
  }

  async create<T extends KubeObject = KubeObject>(
    rt: ResourceType,
    namespace: string | undefined,
    obj: unknown,
  ): Promise<T> {
    return (await this.raw("POST", this.path(rt, namespace), obj)) as T;
  }

  /** Creates the object unless one of that name already exists (which is left as it is). */
  async createIfAbsent(rt: ResourceType, namespace: string | undefined, obj: unknown): Promise<void> {
    try {
      await this.create(rt, namespace, obj);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }

  async replace<T extends KubeObject = KubeObject>(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    obj: unknown,
    subresource?: string,
  ): Promise<T> {
    return (await this.raw("PUT", this.path(rt, namespace, name, subresource), obj)) as T;
  }

  async patch<T extends KubeObject = KubeObject>(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    type: PatchType = "merge",
    opts: { subresource?: string; fieldManager?: string; force?: boolean } = {},
  ): Promise<T> {
    const q = new URLSearchParams();
    if (opts.fieldManager) q.set("fieldManager", opts.fieldManager);
    if (opts.force) q.set("force", "true");
    const qs = q.toString();
    return (await this.raw(
      "PATCH",
      this.path(rt, namespace, name, opts.subresource) + (qs ? `?${qs}` : ""),
      patch,
      PATCH_CONTENT_TYPES[type],
    )) as T;
  }

  async delete(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    opts: {
      propagationPolicy?: "Foreground" | "Background" | "Orphan";
      uid?: string;
      resourceVersion?: string;
    } = {},
  ): Promise<boolean> {
    const body: Record<string, unknown> = { apiVersion: "v1", kind: "DeleteOptions" };
    if (opts.propagationPolicy) body.propagationPolicy = opts.propagationPolicy;
    if (opts.uid || opts.resourceVersion) {
      body.preconditions = { uid: opts.uid, resourceVersion: opts.resourceVersion };
    }
    try {
      await this.raw("DELETE", this.path(rt, namespace, name), body);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /**
   * Opens a watch stream and calls onEvent for every event line. Resolves when
   * the server closes the stream; rejects on transport errors. `signal` aborts it.
   */
  async watch(
    rt: ResourceType,
    namespace: string | undefined,
    opts: ListOptions & { timeoutSeconds?: number; allowWatchBookmarks?: boolean },
    onEvent: (ev: { type: string; object: KubeObject }) => void,
    signal: AbortSignal,
    accept?: string,
  ): Promise<void> {
    const q = new URLSearchParams({ watch: "true" });
    if (opts.labelSelector) q.set("labelSelector", opts.labelSelector);
    if (opts.fieldSelector) q.set("fieldSelector", opts.fieldSelector);
    if (opts.resourceVersion) q.set("resourceVersion", opts.resourceVersion);
    if (opts.allowWatchBookmarks) q.set("allowWatchBookmarks", "true");
    if (opts.timeoutSeconds) q.set("timeoutSeconds", String(opts.timeoutSeconds));
    const headers: Record<string, string> = {
      accept: accept ?? "application/json",
      ...(await this.conn.authHeaders()),
    };
    const path = this.path(rt, namespace) + `?${q.toString()}`;
    await this.send(
      this.server + path,
      { method: "GET", headers, signal, headersTimeout: 30_000, bodyTimeout: 0 },
      async (res) => {
        if (res.statusCode >= 300) {
          const text = await res.body.text();
          const st = (safeJson(text) ?? {}) as { reason?: string; message?: string };
          throw new KubeApiError("WATCH", path, res.statusCode, st.reason ?? "", st.message ?? "");
        }
        const lines = new LineDecoder();
        const emit = (line: string) => {
          const ev = safeJson(line) as { type: string; object: KubeObject } | undefined;
          if (ev?.type) onEvent(ev);
        };
        for await (const chunk of res.body) for (const line of lines.push(chunk as Uint8Array)) emit(line);
        for (const line of lines.end()) emit(line);
      },
    );
  }
}

/**
 * Splits a byte stream into non-empty, trimmed UTF-8 lines. The decoder is
 * streaming: a multi-byte character split across two chunks is decoded whole,
 * never as two U+FFFD replacement characters.
 */
export class LineDecoder {
  private readonly decoder = new TextDecoder("utf-8");
  private buf = "";

  push(chunk: Uint8Array): string[] {
    this.buf += this.decoder.decode(chunk, { stream: true });
    return this.take(false);
  }

  /** The rest of the stream, including a last line without a newline. */
  end(): string[] {
    this.buf += this.decoder.decode();
    return this.take(true);
  }

  private take(all: boolean): string[] {
    const parts = this.buf.split("\n");
    this.buf = all ? "" : (parts.pop() ?? "");
    return parts.map((l) => l.trim()).filter((l) => l.length > 0);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
