// A small generic Kubernetes REST client. @kubernetes/client-node loads the
// kubeconfig and supplies credentials (client certificates, tokens, exec
// plugins, in-cluster token refresh); requests go through one pooled undici
// Agent. It is written by hand because the operator needs every resource kind
// (including our CRDs) through one code path, streaming watches with bookmarks,
// paged lists, the status subresource and explicit patch content types, which
// client-node's generic object API (discovery on every new kind, json-patch
// by default) does not give cleanly.
import type { RequestOptions } from "node:https";
import { KubeConfig } from "@kubernetes/client-node";
import { Agent, request } from "undici";

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
  private readonly kc: KubeConfig;
  private readonly agent: Agent;

  private constructor(kc: KubeConfig, agent: Agent, server: string) {
    this.kc = kc;
    this.agent = agent;
    this.server = server.replace(/\/+$/, "");
  }

  static async fromKubeConfig(kc: KubeConfig): Promise<KubeClient> {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error("kubeconfig has no current cluster");
    const opts: RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    const agent = new Agent({
      connect: {
        ca: opts.ca as string | Buffer | undefined,
        cert: opts.cert as string | Buffer | undefined,
        key: opts.key as string | Buffer | undefined,
        rejectUnauthorized: opts.rejectUnauthorized ?? true,
        servername: cluster.tlsServerName,
      },
      connections: 64,
      keepAliveTimeout: 30_000,
    });
    return new KubeClient(kc, agent, cluster.server);
  }

  /** Loads a kubeconfig file, or the default chain (KUBECONFIG, ~/.kube/config, in-cluster). */
  static async load(kubeconfigPath?: string): Promise<KubeClient> {
    const kc = new KubeConfig();
    if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
    else kc.loadFromDefault();
    return await KubeClient.fromKubeConfig(kc);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  path(rt: ResourceType, namespace?: string, name?: string, subresource?: string): string {
    let p = rt.group === "" ? `/api/${rt.version}` : `/apis/${rt.group}/${rt.version}`;
    if (rt.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
    p += `/${rt.plural}`;
    if (name) p += `/${encodeURIComponent(name)}`;
    if (subresource) p += `/${subresource}`;
    return p;
  }

  private async authHeaders(): Promise<Record<string, string>> {
    const opts: RequestOptions = { headers: {} };
    await this.kc.applyToHTTPSOptions(opts);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (typeof v === "string") out[k] = v;
    return out;
  }

  async raw(
    method: string,
    path: string,
    body?: unknown,
    contentType = "application/json",
    extraHeaders: Record<string, string> = {},
    timeoutMs = 30_000,
  ): Promise<unknown> {
    const headers: Record<string, string> = {
      accept: "application/json",
      ...(await this.authHeaders()),
      ...extraHeaders,
    };
    let payload: string | undefined;
    if (body !== undefined) {
      headers["content-type"] = contentType;
      payload = typeof body === "string" ? body : JSON.stringify(body);
    }
    const res = await request(this.server + path, {
      method: method as "GET",
      headers,
      body: payload,
      dispatcher: this.agent,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const text = await res.body.text();
    const json = text ? safeJson(text) : undefined;
    if (res.statusCode >= 300) {
      const st = (json ?? {}) as { reason?: string; message?: string };
      throw new KubeApiError(method, path, res.statusCode, st.reason ?? "", st.message ?? text.slice(0, 300));
    }
    return json;
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
      ...(await this.authHeaders()),
    };
    const path = this.path(rt, namespace) + `?${q.toString()}`;
    const res = await request(this.server + path, {
      method: "GET",
      headers,
      dispatcher: this.agent,
      signal,
      headersTimeout: 30_000,
      bodyTimeout: 0,
    });
    if (res.statusCode >= 300) {
      const text = await res.body.text();
      const st = (safeJson(text) ?? {}) as { reason?: string; message?: string };
      throw new KubeApiError("WATCH", path, res.statusCode, st.reason ?? "", st.message ?? "");
    }
    let buf = "";
    for await (const chunk of res.body) {
      buf += (chunk as Buffer).toString("utf8");
      let nl = buf.indexOf("\n");
      while (nl >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) {
          const ev = safeJson(line) as { type: string; object: KubeObject } | undefined;
          if (ev?.type) onEvent(ev);
        }
        nl = buf.indexOf("\n");
      }
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
