// The local node of a `vso dev up --with-node` environment: containerd,
// kube-scheduler, kube-proxy, CoreDNS and a kubelet that registers one Node,
// all inside the environment's network namespace. Start and teardown are
// exact: every process is tracked by pid, every cgroup lives below one root
// named after the environment, every mount below the environment's
// directories, and nothing outside them is changed (host sysctls included).
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { CORE, type KubeClient, type KubeObject, type ResourceType } from "../../kube/client.ts";
import { freePort } from "../../util/net.ts";
import type { ToolPaths } from "../paths.ts";
import { startDaemon, type TrackedProcess } from "../processes.ts";
import { ServerStartError, waitHealthy } from "../wait.ts";
import { adopt, createRoot, destroyRoot } from "./cgroups.ts";
import {
  CLUSTER_DOMAIN,
  cniConflist,
  containerdConfig,
  containerdSocket,
  corefile,
  KUBELET_SYSCTLS,
  KUBELET_WRAPPER,
  kubeletConfig,
  kubeProxyConfig,
  NODE_NAME,
  type NodePaths,
} from "./configs.ts";
import {
  BUSYBOX_IMAGE,
  busyboxImage,
  cachedArchive,
  importImage,
  NODE_IMAGE,
  nodeImage,
  PAUSE_IMAGE,
  PSQL_IMAGE,
  pauseImage,
  psqlImage,
} from "./images.ts";
import { bindShared, unmountAll } from "./mounts.ts";
import { deleteNetns, envId, insideNetns, NODE_IP, netnsName } from "./netns.ts";

const NODES: ResourceType = { group: "", version: "v1", plural: "nodes", kind: "Node", namespaced: false };

export const NODE_PROCESSES = ["containerd", "kube-scheduler", "kube-proxy", "coredns", "kubelet"];

export interface NodeState {
  name: string;
  ip: string;
  netns: string;
  cgroupRoot: string;
  containerdSocket: string;
  containerdState: string;
  kubeletRoot: string;
  clusterDomain: string;
  images: { pause: string; busybox: string; node: string; psql: string };
  /** Whether /run/containerd existed before containerd 2.x created its shim directories there. */
  runContainerdPreexisted: boolean;
}

/** Where the node keeps its files; the containerd state lives under /run (short socket paths). */
export function nodePaths(stateDir: string, kubeconfig: string, caCert: string): NodePaths {
  const base = join(stateDir, "node");
  const id = envId(stateDir);
  return {
    containerdRoot: join(base, "containerd"),
    containerdState: `/run/vso-dev-${id}/containerd`,
    cniConfDir: join(base, "cni"),
    cniDataDir: join(base, "cni-ipam"),
    kubeletRoot: join(base, "kubelet"),
    podLogsDir: join(base, "pod-logs"),
    resolvConf: join(base, "resolv.conf"),
    kubeconfig,
    caCert,
    cgroupRoot: `/vso-dev-${id}/pods`,
  };
}

function cgroupRootName(stateDir: string): string {
  return `vso-dev-${envId(stateDir)}`;
}

async function waitForSocket(path: string, proc: TrackedProcess, timeoutMs: number): Promise<void> {
  await waitHealthy("containerd", proc, async () => existsSync(path), timeoutMs);
}

interface NodeObject extends KubeObject {
  status?: { conditions?: { type: string; status: string; message?: string }[] };
}

export interface StartNodeOptions {
  stateDir: string;
  tools: ToolPaths;
  kubeconfig: string;
  caCert: string;
  kube: KubeClient;
  /** PostgreSQL's bin directory, whose psql goes into the app image. */
  postgresBin: string;
  log: (line: string) => void;
}

export async function startNode(o: StartNodeOptions): Promise<NodeState> {
  const { stateDir, tools, log } = o;
  const netns = netnsName(stateDir);
  if (!insideNetns(netns)) {
    throw new Error(`the local node must be started inside its network namespace ${netns} (use the vso CLI)`);
  }
  const p = nodePaths(stateDir, o.kubeconfig, o.caCert);
  const cfgDir = join(stateDir, "node", "config");
  for (const d of [
    cfgDir,
    p.containerdRoot,
    p.containerdState,
    p.cniConfDir,
    p.cniDataDir,
    p.kubeletRoot,
    p.podLogsDir,
  ]) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
  }
  const runContainerdPreexisted = existsSync("/run/containerd");
  const root = cgroupRootName(stateDir);
  createRoot(root);
  createRoot(p.cgroupRoot.slice(1));

  writeFileSync(join(p.cniConfDir, "10-vso-dev.conflist"), cniConflist(p));
  writeFileSync(p.resolvConf, ""); // Pods with the Default DNS policy never ask a resolver outside.
  const fakeSys = join(cfgDir, "sysctl");
  mkdirSync(fakeSys, { recursive: true });
  for (const [k, v] of Object.entries(KUBELET_SYSCTLS))
    writeFileSync(join(fakeSys, k.replaceAll("/", "_")), `${v}\n`);
  const files = {
    containerd: join(cfgDir, "containerd.toml"),
    kubelet: join(cfgDir, "kubelet.yaml"),
    kubeProxy: join(cfgDir, "kube-proxy.yaml"),
    corefile: join(cfgDir, "Corefile"),
  };
  writeFileSync(files.containerd, containerdConfig(p, PAUSE_IMAGE, tools.runc, tools.cniPlugins));
  writeFileSync(files.kubelet, kubeletConfig(p));
  writeFileSync(files.kubeProxy, kubeProxyConfig(o.kubeconfig));
  const dnsReadyPort = await freePort();
  writeFileSync(files.corefile, corefile(o.kubeconfig, dnsReadyPort));

  const t0 = Date.now();
  const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
  // containerd finds its shim on PATH; the shim finds runc through the config.
  const env = { ...process.env, PATH: `${dirname(tools.containerdShim)}:/usr/sbin:/usr/bin:/sbin:/bin` };
  const containerd = startDaemon(stateDir, {
    name: "containerd",
    command: tools.containerd,
    args: ["--config", files.containerd],
    env,
  });
  adopt(root, "daemons", containerd.pid);
  await waitForSocket(containerdSocket(p), containerd, 30_000);

  const psql = join(o.postgresBin, "psql");
  const images = {
    pause: cachedArchive(PAUSE_IMAGE, [tools.pause], () => pauseImage(tools.pause)),
    busybox: cachedArchive(BUSYBOX_IMAGE, [tools.busybox], () => busyboxImage(tools.busybox)),
    node: cachedArchive(NODE_IMAGE, [process.execPath], () => nodeImage()),
    psql: cachedArchive(PSQL_IMAGE, [psql, tools.busybox], () => psqlImage(psql, tools.busybox)),
  };
  for (const a of Object.values(images)) importImage(tools.ctr, containerdSocket(p), a);
  log(`containerd up, images imported (${elapsed()}); starting kube-scheduler, kube-proxy, CoreDNS, kubelet`);

  const schedulerPort = await freePort();
  startDaemon(stateDir, {
    name: "kube-scheduler",
    command: tools.kubeScheduler,
    args: [
      `--kubeconfig=${o.kubeconfig}`,
      `--authentication-kubeconfig=${o.kubeconfig}`,
      `--authorization-kubeconfig=${o.kubeconfig}`,
      "--leader-elect=false",
      "--bind-address=127.0.0.1",
      `--secure-port=${schedulerPort}`,
      "--v=1",
    ],
  });
  startDaemon(stateDir, {
    name: "kube-proxy",
    command: tools.kubeProxy,
    args: [`--config=${files.kubeProxy}`, "--v=1"],
    env: { ...process.env, PATH: `${dirname(tools.iptables)}:/usr/sbin:/usr/bin:/sbin:/bin` },
  });
  const coredns = startDaemon(stateDir, {
    name: "coredns",
    command: tools.coredns,
    args: ["-conf", files.corefile],
  });
  bindShared(p.kubeletRoot);
  const kubelet = startDaemon(stateDir, {
    name: "kubelet",
    command: "unshare",
    args: [
      "-m",
      "--propagation",
      "unchanged",
      "--",
      "sh",
      "-c",
      KUBELET_WRAPPER,
      "kubelet-wrapper",
      fakeSys,
      tools.kubelet,
      `--config=${files.kubelet}`,
      `--kubeconfig=${o.kubeconfig}`,
      `--root-dir=${p.kubeletRoot}`,
      `--cert-dir=${join(p.kubeletRoot, "pki")}`,
      `--node-ip=${NODE_IP}`,
      `--hostname-override=${NODE_NAME}`,
      "--v=1",
    ],
    env,
  });

  await waitHealthy(
    "kubelet (Node Ready)",
    kubelet,
    async () => {
      const node = await o.kube.getOrNull<NodeObject>(NODES, undefined, NODE_NAME);
      const ready = node?.status?.conditions?.find((c) => c.type === "Ready");
      return ready?.status === "True";
    },
    120_000,
  );
  await waitHealthy(
    "CoreDNS",
    coredns,
    async () => {
      const res = await fetch(`http://127.0.0.1:${dnsReadyPort}/ready`);
      return res.status === 200;
    },
    60_000,
  );
  log(`node ${NODE_NAME} Ready (${elapsed()})`);
  return {
    name: NODE_NAME,
    ip: NODE_IP,
    netns,
    cgroupRoot: root,
    containerdSocket: containerdSocket(p),
    containerdState: p.containerdState,
    kubeletRoot: p.kubeletRoot,
    clusterDomain: CLUSTER_DOMAIN,
    images: { pause: PAUSE_IMAGE, busybox: BUSYBOX_IMAGE, node: NODE_IMAGE, psql: PSQL_IMAGE },
    runContainerdPreexisted,
  };
}

/** True when the directory holds nothing but (possibly nested) empty directories. */
function onlyEmptyDirs(dir: string): boolean {
  return readdirSync(dir, { withFileTypes: true }).every(
    (e) => e.isDirectory() && onlyEmptyDirs(join(dir, e.name)),
  );
}

/**
 * Shims killed with their containers leave their sockets in /run/containerd/s,
 * named sha256("<containerd address>/<namespace>/<task id>") by containerd
 * 2.x. The task ids are the directories under the runtime's state, so exactly
 * this environment's sockets are removed (and no other containerd's).
 */
function removeShimSockets(containerdState: string): number {
  const tasks = join(containerdState, "io.containerd.runtime.v2.task", "k8s.io");
  if (!existsSync(tasks)) return 0;
  const address = `${containerdState}/containerd.sock`;
  let removed = 0;
  for (const task of readdirSync(tasks)) {
    for (const path of [`${address}/k8s.io/${task}`, `${address}/k8s.io/${task}/debug`]) {
      const socket = join("/run/containerd/s", createHash("sha256").update(path).digest("hex"));
      if (existsSync(socket)) {
        rmSync(socket, { force: true });
        removed++;
      }
    }
  }
  return removed;
}

/**
 * containerd 2.x creates /run/containerd/{s,fifo} for shim sockets whatever its
 * state directory says: removed when it was not there before and holds nothing.
 */
function removeRunContainerd(preexisted: boolean): void {
  const dir = "/run/containerd";
  if (!preexisted && existsSync(dir) && onlyEmptyDirs(dir)) rmSync(dir, { recursive: true, force: true });
}

/**
 * Everything of the node that stopping its daemons leaves: containers and
 * shims (killed through the cgroup root), mounts, cgroups, state under /run,
 * the network namespace. Called after the tracked processes were stopped.
 */
export async function teardownNode(
  stateDir: string,
  node: Partial<NodeState> | undefined,
  keepNetns = false,
): Promise<string[]> {
  const id = envId(stateDir);
  const root = node?.cgroupRoot ?? `vso-dev-${id}`;
  const killed = await destroyRoot(root);
  const runDir = `/run/vso-dev-${id}`;
  const socketsLeft = removeShimSockets(`${runDir}/containerd`);
  const unmounted = unmountAll([join(stateDir, "node"), runDir]);
  rmSync(runDir, { recursive: true, force: true });
  removeRunContainerd(node?.runContainerdPreexisted ?? true);
  if (!keepNetns) deleteNetns(node?.netns ?? netnsName(stateDir));
  const notes: string[] = [];
  if (killed.length > 0) notes.push(`${killed.length} container processes`);
  if (unmounted.length > 0) notes.push(`${unmounted.length} mounts`);
  if (socketsLeft > 0) notes.push(`${socketsLeft} shim sockets`);
  return notes;
}

export async function waitForPodsSchedulable(kube: KubeClient): Promise<void> {
  // The service-account controller creates `default` in each namespace; Pods need it.
  for (let i = 0; i < 120; i++) {
    if (await kube.getOrNull(CORE.serviceaccounts, "default", "default")) return;
    await sleep(250);
  }
  throw new ServerStartError("kube-controller-manager", "the default ServiceAccount was never created");
}
