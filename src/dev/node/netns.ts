// The local node's network namespace: every daemon of a `--with-node`
// environment and every Pod lives in it. It holds only loopback and bridges of
// its own and has no default route, so no packet can leave the machine (the
// Service range is routed to the node bridge, as on a node). It is
// entered with `nsenter --net=` (never `ip netns exec`, which remounts /sys and
// hides the cgroup hierarchies from the kubelet, containerd and runc).
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readlinkSync, statSync } from "node:fs";
import { resolve } from "node:path";

/** The node's own address, on a bridge with no ports; Pods reach the API server and DNS through it. */
export const NODE_IP = "10.200.0.1";
export const NODE_BRIDGE = "vsodev0";
export const POD_CIDR = "10.244.0.0/24";
export const POD_GATEWAY = "10.244.0.1";
export const SERVICE_CIDR = "10.0.0.0/24";
/** The first service IP: the `kubernetes` Service, which in-cluster clients dial and verify. */
export const KUBERNETES_SERVICE_IP = "10.0.0.1";

/** A short id derived from the state directory, so several environments never share names. */
export function envId(stateDir: string): string {
  return createHash("sha256").update(resolve(stateDir)).digest("hex").slice(0, 8);
}

export function netnsName(stateDir: string): string {
  return `vso-dev-${envId(stateDir)}`;
}

export function netnsPath(name: string): string {
  return `/run/netns/${name}`;
}

function ip(args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "pipe", "pipe"] });
}

/** Creates the namespace with loopback and the node bridge up, unless it exists already. */
export function ensureNetns(name: string): void {
  if (existsSync(netnsPath(name))) return;
  ip(["netns", "add", name]);
  try {
    ip(["-n", name, "link", "set", "lo", "up"]);
    ip(["-n", name, "link", "add", NODE_BRIDGE, "type", "bridge"]);
    ip(["-n", name, "addr", "add", `${NODE_IP}/24`, "dev", NODE_BRIDGE]);
    ip(["-n", name, "link", "set", NODE_BRIDGE, "up"]);
    // A node routes the Service range like any other address, so a ClusterIP
    // dialled from the node reaches kube-proxy's rules (which rewrite it to a Pod)
    // instead of failing with "network unreachable" before them. The Pod range is
    // routed by the cni0 bridge's own address once the first Pod starts.
    ip(["-n", name, "route", "add", SERVICE_CIDR, "dev", NODE_BRIDGE, "src", NODE_IP]);
  } catch (err) {
    deleteNetns(name);
    throw err;
  }
}

/** Deletes the namespace; its interfaces, routes and iptables rules go with it. */
export function deleteNetns(name: string): void {
  if (existsSync(netnsPath(name))) ip(["netns", "delete", name]);
}

function nsInode(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** True when this process already runs in the named namespace. */
export function insideNetns(name: string): boolean {
  if (!existsSync(netnsPath(name))) return false;
  const mine = nsInode("/proc/self/ns/net");
  const st = statSync(netnsPath(name));
  return mine === `net:[${st.ino}]`;
}

/** The command line that runs CMD inside the namespace. */
export function nsenterCommand(name: string, command: string, args: string[]): [string, string[]] {
  return ["nsenter", [`--net=${netnsPath(name)}`, "--", command, ...args]];
}

/** Runs a command inside the namespace with inherited stdio and returns its exit code. */
export async function runInNetns(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const [cmd, full] = nsenterCommand(name, command, args);
  const child = spawn(cmd, full, { stdio: "inherit", env });
  const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
  const onInt = forward("SIGINT");
  const onTerm = forward("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  try {
    return await new Promise<number>((res) => child.on("exit", (code, sig) => res(code ?? (sig ? 128 : 1))));
  } finally {
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
  }
}

/** Why a node cannot run here, or undefined when it can. */
export function nodeUnsupportedReason(): string | undefined {
  if (process.platform !== "linux") return "the local node needs Linux";
  if (process.getuid?.() !== 0) return "the local node needs root (network namespaces, mounts, cgroups)";
  for (const t of ["ip", "nsenter", "unshare", "mount", "umount"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${t}`], { stdio: "pipe" });
    } catch {
      return `the local node needs the ${t} command`;
    }
  }
  if (!existsSync("/sys/fs/cgroup")) return "the local node needs /sys/fs/cgroup";
  return undefined;
}
