// Where the Kubernetes API is and how to authenticate to it: a kubeconfig file (the
// KUBECONFIG list, ~/.kube/config) or, in a Pod, the mounted service account. Written here
// rather than taken from @kubernetes/client-node, whose import alone (every model class,
// its HTTP stack) cost the operator about 85 MiB of its resident memory for this one job.
// Supported credentials: client certificates, bearer tokens (inline or a file re-read as it
// rotates), basic auth and exec plugins (client.authentication.k8s.io ExecCredential);
// the deprecated auth-provider plugins are refused with a clear message.
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { promisify } from "node:util";
import { parse as parseYaml } from "yaml";

const execFileP = promisify(execFile);

export const IN_CLUSTER_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
/** How long a token file is trusted before it is read again (the kubelet rotates it). */
const TOKEN_FILE_TTL_MS = 60_000;

export interface KubeTls {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
  servername?: string;
}

/** A resolved connection: the server, its TLS settings and the per-request auth headers. */
export interface KubeConnection {
  server: string;
  tls: KubeTls;
  authHeaders(): Promise<Record<string, string>>;
  /** The current context's namespace, or the Pod's own in a cluster (kubectl's default namespace). */
  namespace?: string;
}

interface Named<T> {
  name: string;
  [k: string]: unknown;
  cluster?: T;
  user?: T;
  context?: T;
}

interface ClusterEntry {
  server?: string;
  "certificate-authority"?: string;
  "certificate-authority-data"?: string;
  "insecure-skip-tls-verify"?: boolean;
  "tls-server-name"?: string;
}

interface ExecConfig {
  command: string;
  args?: string[];
  env?: { name: string; value: string }[] | null;
  apiVersion?: string;
}

interface UserEntry {
  "client-certificate"?: string;
  "client-certificate-data"?: string;
  "client-key"?: string;
  "client-key-data"?: string;
  token?: string;
  tokenFile?: string;
  username?: string;
  password?: string;
  exec?: ExecConfig;
  "auth-provider"?: { name?: string };
}

/** The parsed kubeconfig document, with the directory its relative paths are relative to. */
export interface KubeConfigDoc {
  clusters?: Named<ClusterEntry>[];
  users?: Named<UserEntry>[];
  contexts?: Named<{ cluster?: string; user?: string; namespace?: string }>[];
  "current-context"?: string;
}

function readText(path: string): string {
  return readFileSync(path, "utf8");
}

function fileOrData(base: string, file: string | undefined, data: string | undefined): string | undefined {
  if (data) return Buffer.from(data, "base64").toString("utf8");
  if (file) return readText(isAbsolute(file) ? file : resolve(base, file));
  return undefined;
}

/** A token read from a file, re-read once it is older than TOKEN_FILE_TTL_MS. */
function tokenFromFile(path: string): () => string {
  let cached = "";
  let readAt = 0;
  return () => {
    if (!cached || Date.now() - readAt > TOKEN_FILE_TTL_MS) {
      cached = readText(path).trim();
      readAt = Date.now();
    }
    return cached;
  };
}

/** Runs an exec credential plugin and keeps its token until it expires. */
function execPlugin(base: string, exec: ExecConfig, server: string): () => Promise<Record<string, string>> {
  let cached: { headers: Record<string, string>; expires: number } | undefined;
  return async () => {
    if (cached && Date.now() < cached.expires) return cached.headers;
    const apiVersion = exec.apiVersion ?? "client.authentication.k8s.io/v1";
    const env = { ...process.env };
    for (const e of exec.env ?? []) env[e.name] = e.value;
    env.KUBERNETES_EXEC_INFO = JSON.stringify({
      apiVersion,
      kind: "ExecCredential",
      spec: { interactive: false, cluster: { server } },
    });
    const command =
      exec.command.includes("/") && !isAbsolute(exec.command) ? resolve(base, exec.command) : exec.command;
    const { stdout } = await execFileP(command, exec.args ?? [], { env, timeout: 60_000 });
    const cred = JSON.parse(stdout) as {
      status?: { token?: string; expirationTimestamp?: string };
    };
    const token = cred.status?.token;
    if (!token) throw new Error(`kubeconfig exec plugin ${exec.command} returned no token`);
    const headers = { authorization: `Bearer ${token}` };
    const expiry = cred.status?.expirationTimestamp
      ? Date.parse(cred.status.expirationTimestamp)
      : Number.NaN;
    // No expiry: keep it for a minute, as a token that never expires is rare and a re-run is cheap.
    cached = { headers, expires: Number.isFinite(expiry) ? expiry - 10_000 : Date.now() + 60_000 };
    return headers;
  };
}

function pick<T>(
  list: Named<T>[] | undefined,
  name: string | undefined,
  what: "cluster" | "user" | "context",
): T {
  const entry = (list ?? []).find((x) => x.name === name);
  const value = entry?.[what];
  if (!entry || !value) throw new Error(`kubeconfig: ${what} "${name ?? ""}" not found`);
  return value;
}

/** The connection of the current context of a parsed kubeconfig; relative paths resolve against `base`. */
export function connectionFromDoc(doc: KubeConfigDoc, base: string): KubeConnection {
  const ctx = pick(doc.contexts, doc["current-context"], "context");
  const cluster = pick(doc.clusters, ctx.cluster, "cluster");
  const user: UserEntry = ctx.user ? pick(doc.users, ctx.user, "user") : {};
  if (!cluster.server) throw new Error(`kubeconfig: cluster "${ctx.cluster}" has no server`);
  if (user["auth-provider"]) {
    throw new Error(
      `kubeconfig: auth-provider "${user["auth-provider"].name ?? ""}" is not supported; use an exec credential plugin`,
    );
  }
  const tls: KubeTls = {
    ca: fileOrData(base, cluster["certificate-authority"], cluster["certificate-authority-data"]),
    cert: fileOrData(base, user["client-certificate"], user["client-certificate-data"]),
    key: fileOrData(base, user["client-key"], user["client-key-data"]),
    rejectUnauthorized: !cluster["insecure-skip-tls-verify"],
    servername: cluster["tls-server-name"],
  };
  let authHeaders: () => Promise<Record<string, string>> = async () => ({});
  if (user.token) {
    const h = { authorization: `Bearer ${user.token}` };
    authHeaders = async () => h;
  } else if (user.tokenFile) {
    const token = tokenFromFile(isAbsolute(user.tokenFile) ? user.tokenFile : resolve(base, user.tokenFile));
    authHeaders = async () => ({ authorization: `Bearer ${token()}` });
  } else if (user.exec) {
    authHeaders = execPlugin(base, user.exec, cluster.server);
  } else if (user.username !== undefined) {
    const h = {
      authorization: `Basic ${Buffer.from(`${user.username}:${user.password ?? ""}`).toString("base64")}`,
    };
    authHeaders = async () => h;
  }
  return { server: cluster.server, tls, authHeaders, namespace: ctx.namespace || undefined };
}

/** Merges the files of a KUBECONFIG list: the first file that names an entry wins, as kubectl does. */
function mergeDocs(docs: KubeConfigDoc[]): KubeConfigDoc {
  const merged: Required<Pick<KubeConfigDoc, "clusters" | "users" | "contexts">> & KubeConfigDoc = {
    clusters: [],
    users: [],
    contexts: [],
  };
  for (const d of docs) {
    merged["current-context"] ??= d["current-context"] || undefined;
    for (const key of ["clusters", "users", "contexts"] as const) {
      for (const e of d[key] ?? []) {
        if (!merged[key].some((x) => x.name === e.name)) (merged[key] as Named<unknown>[]).push(e);
      }
    }
  }
  return merged;
}

/** Reads one kubeconfig file, making its relative file paths absolute (files of a list may sit apart). */
function readDoc(path: string): KubeConfigDoc {
  const doc = (parseYaml(readText(path)) ?? {}) as KubeConfigDoc;
  const base = dirname(resolve(path));
  const abs = (p: unknown) => (typeof p === "string" && p && !isAbsolute(p) ? resolve(base, p) : p);
  for (const c of doc.clusters ?? []) {
    if (c.cluster) c.cluster["certificate-authority"] = abs(c.cluster["certificate-authority"]) as string;
  }
  for (const u of doc.users ?? []) {
    if (!u.user) continue;
    for (const k of ["client-certificate", "client-key", "tokenFile"] as const) {
      if (u.user[k]) u.user[k] = abs(u.user[k]) as string;
    }
  }
  return doc;
}

/** The service account a Pod has mounted, when running in a cluster. */
export function inClusterConnection(dir = IN_CLUSTER_DIR): KubeConnection | undefined {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT;
  if (!host || !port || !existsSync(join(dir, "token"))) return undefined;
  const token = tokenFromFile(join(dir, "token"));
  return {
    server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    tls: { ca: readText(join(dir, "ca.crt")), rejectUnauthorized: true },
    authHeaders: async () => ({ authorization: `Bearer ${token()}` }),
    namespace: existsSync(join(dir, "namespace")) ? readText(join(dir, "namespace")).trim() : undefined,
  };
}

/**
 * Loads a kubeconfig file, or the default chain: the KUBECONFIG list, ~/.kube/config, then
 * the in-cluster service account.
 */
export function loadConnection(kubeconfigPath?: string): KubeConnection {
  if (kubeconfigPath) return connectionFromDoc(readDoc(kubeconfigPath), dirname(resolve(kubeconfigPath)));
  const list = (process.env.KUBECONFIG ?? "").split(":").filter((p) => p && existsSync(p));
  if (list.length > 0) {
    return connectionFromDoc(mergeDocs(list.map(readDoc)), dirname(resolve(list[0])));
  }
  const home = join(homedir(), ".kube", "config");
  if (existsSync(home)) return connectionFromDoc(readDoc(home), dirname(home));
  const inCluster = inClusterConnection();
  if (inCluster) return inCluster;
  throw new Error("no Kubernetes configuration: set KUBECONFIG or --kubeconfig, or run in a Pod");
}
