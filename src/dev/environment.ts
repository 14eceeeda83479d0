// The local environment (`vso dev up|down|env`): etcd, kube-apiserver,
// kube-controller-manager, OpenBao and PostgreSQL on free loopback ports, set up
// as in the seed walkthrough. The same code serves the playground, the test
// suite and users trying vso-ts without a cluster.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { KubeClient } from "../kube/client.ts";
import { freePort } from "../util/net.ts";
import { VaultHttp } from "../vault/http.ts";
import { applyCRDs } from "./crds.ts";
import { insideNetns, NODE_IP, netnsName, netnsPath, nodeUnsupportedReason, POD_CIDR } from "./node/netns.ts";
import {
  NODE_PROCESSES,
  type NodeState,
  startNode,
  teardownNode,
  waitForPodsSchedulable,
} from "./node/node.ts";
import { cacheDir, NODE_TOOLS, requireTools, toolPaths } from "./paths.ts";
import { generateControlPlanePki } from "./pki.ts";
import { configureKubernetes, configureVault, type PlaygroundOptions } from "./playground-config.ts";
import { stopAll, trackedProcesses } from "./processes.ts";
import { startEtcd } from "./servers/etcd.ts";
import {
  adminAgent,
  startKubeApiserver,
  startKubeControllerManager,
  writeKubeFiles,
} from "./servers/kube.ts";
import { startOpenBao } from "./servers/openbao.ts";
import { psqlAsSuperuser, startPostgres } from "./servers/postgres.ts";

export const STOP_ORDER = [
  "etcd",
  "kube-apiserver",
  "kube-controller-manager",
  "openbao",
  "postgres",
  ...NODE_PROCESSES,
  "operator",
];

export interface DevState {
  version: 1;
  dir: string;
  createdAt: string;
  kubeconfig: string;
  kube: { server: string; caFile: string };
  vault: { address: string; token: string };
  postgres: {
    host: string;
    port: number;
    database: string;
    user: string;
    password: string;
    superuserPassword: string;
    socketDir: string;
    baseDir: string;
    binDir: string;
  };
  etcd: { url: string };
  options: PlaygroundOptions;
  /** The local node, when started with --with-node; the addresses Pods use for Vault and PostgreSQL. */
  node?: NodeState & { vaultAddress: string; postgresHost: string };
}

export function defaultStateDir(): string {
  return process.env.VSO_DEV_DIR || join(cacheDir(), "dev");
}

export function stateFile(dir: string): string {
  return join(dir, "state.json");
}

export function readState(dir: string): DevState {
  const f = stateFile(dir);
  if (!existsSync(f)) {
    throw new Error(
      `no local environment in ${dir}; start one with: vso dev up${dir === defaultStateDir() ? "" : ` --dir ${dir}`}`,
    );
  }
  return JSON.parse(readFileSync(f, "utf8")) as DevState;
}

export interface UpOptions extends Partial<PlaygroundOptions> {
  dir?: string;
  log?: (line: string) => void;
  /** Also start a real node (kubelet, containerd, scheduler, kube-proxy, DNS); must run inside netnsName(dir). */
  withNode?: boolean;
}

/** Throws at once, saying why, when this machine or process cannot run the local node. */
export function assertNodeCanStart(dir: string): void {
  const why = nodeUnsupportedReason();
  if (why)
    throw new Error(`--with-node: ${why}; without --with-node the control-plane-only environment works`);
  requireTools(NODE_TOOLS);
  if (!insideNetns(netnsName(dir))) {
    throw new Error(`--with-node: this process is not inside the network namespace ${netnsName(dir)}`);
  }
}

/**
 * Stops whatever a previous environment in this directory left running, and
 * removes its state: processes, and for a local node its containers, mounts,
 * cgroups and network namespace (kept with keepNetns, when a caller inside it restarts).
 */
export async function down(dirArg?: string, opts: { keepNetns?: boolean } = {}): Promise<string[]> {
  const dir = resolve(dirArg ?? defaultStateDir());
  let pgBase: string | undefined;
  try {
    pgBase = readState(dir).postgres.baseDir;
  } catch {
    const partial = join(dir, "postgres-dir");
    if (existsSync(partial)) pgBase = readFileSync(partial, "utf8").trim();
  }
  let node: DevState["node"];
  try {
    node = readState(dir).node;
  } catch {
    /* a partial start: teardownNode derives every name from the directory */
  }
  const stopped = await stopAll(dir, STOP_ORDER);
  if (node || existsSync(join(dir, "node")) || existsSync(netnsPath(netnsName(dir)))) {
    stopped.push(...(await teardownNode(dir, node, opts.keepNetns)));
  }
  if (pgBase?.includes("vso-ts-pg-")) rmSync(pgBase, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
  return stopped;
}

export async function up(opts: UpOptions = {}): Promise<DevState> {
  const log = opts.log ?? (() => {});
  const dir = resolve(opts.dir ?? defaultStateDir());
  const tools = requireTools([
    "etcd",
    "kubeApiserver",
    "kubeControllerManager",
    "kubectl",
    "bao",
    "postgresBin",
  ]);
  const withNode = opts.withNode ?? false;
  if (withNode) assertNodeCanStart(dir);
  if (trackedProcesses(dir).length > 0 || existsSync(stateFile(dir)) || existsSync(join(dir, "node"))) {
    const stale = await down(dir, { keepNetns: withNode });
    if (stale.length > 0) log(`stopped processes left by an earlier run: ${stale.join(", ")}`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const options: PlaygroundOptions = {
    dbDefaultTtl: opts.dbDefaultTtl ?? "1h",
    dbMaxTtl: opts.dbMaxTtl ?? "24h",
  };
  const t0 = Date.now();
  const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
  try {
    const pki = await generateControlPlanePki();
    const apiPort = await freePort();
    const server = `https://127.0.0.1:${apiPort}`;
    const files = writeKubeFiles(dir, pki, server);
    const agent = adminAgent(pki);
    const rootToken = `root-${randomBytes(12).toString("hex")}`;
    const pgSuperPassword = randomBytes(12).toString("hex");

    // etcd, OpenBao and PostgreSQL do not depend on each other: start them together.
    log("starting etcd, OpenBao and PostgreSQL");
    const [etcd, bao, pg] = await Promise.all([
      startEtcd(dir, tools.etcd),
      startOpenBao(dir, tools.bao, rootToken, withNode),
      startPostgres(
        tools.postgresBin,
        dir,
        pgSuperPassword,
        withNode ? { listenAddress: NODE_IP, clientCidrs: [POD_CIDR, `${NODE_IP}/32`] } : undefined,
      ).then((p) => {
        writeFileSync(join(dir, "postgres-dir"), p.baseDir);
        return p;
      }),
    ]);
    log(`etcd, OpenBao and PostgreSQL healthy (${elapsed()}); starting kube-apiserver`);
    await startKubeApiserver(
      dir,
      tools.kubeApiserver,
      etcd.url,
      apiPort,
      files,
      agent,
      withNode ? NODE_IP : undefined,
    );
    log(`kube-apiserver ready (${elapsed()}); starting kube-controller-manager`);
    await startKubeControllerManager(dir, tools.kubeControllerManager, files, withNode);
    await agent.close();
    log(`kube-controller-manager healthy (${elapsed()}); configuring`);

    // The seed's init.sql: the superuser Vault's database engine connects as, and the app database.
    psqlAsSuperuser(tools.postgresBin, pg, "CREATE USER vaultadmin WITH PASSWORD 'vaultpassword' SUPERUSER");
    psqlAsSuperuser(tools.postgresBin, pg, "CREATE DATABASE mydb");

    const kube = await KubeClient.load(files.kubeconfig);
    const { reviewerJwt } = await configureKubernetes(kube);
    const crds = await applyCRDs(kube);
    log(`installed ${crds.length} CRDs of secrets.hashicorp.com`);
    let node: DevState["node"];
    if (withNode) {
      mkdirSync(join(dir, "node"), { recursive: true });
      const started = await startNode({
        stateDir: dir,
        tools: toolPaths(),
        kubeconfig: files.kubeconfig,
        caCert: files.caCert,
        kube,
        postgresBin: tools.postgresBin,
        log,
      });
      await waitForPodsSchedulable(kube);
      const vaultPort = new URL(bao.address).port;
      node = { ...started, vaultAddress: `http://${NODE_IP}:${vaultPort}`, postgresHost: NODE_IP };
    }
    await kube.close();
    const vault = new VaultHttp({ address: bao.address });
    await configureVault(
      vault,
      rootToken,
      { server, caPem: pki.ca.cert, reviewerJwt },
      { host: pg.host, port: pg.port },
      options,
    );
    const state: DevState = {
      version: 1,
      dir,
      createdAt: new Date().toISOString(),
      kubeconfig: files.kubeconfig,
      kube: { server, caFile: files.caCert },
      vault: { address: bao.address, token: rootToken },
      postgres: {
        host: pg.host,
        port: pg.port,
        database: "mydb",
        user: "vaultadmin",
        password: "vaultpassword",
        superuserPassword: pgSuperPassword,
        socketDir: pg.socketDir,
        baseDir: pg.baseDir,
        binDir: tools.postgresBin,
      },
      etcd: { url: etcd.url },
      options,
      ...(node ? { node } : {}),
    };
    writeFileSync(stateFile(dir), JSON.stringify(state, null, 2), { mode: 0o600 });
    log(`ready in ${elapsed()}`);
    return state;
  } catch (err) {
    await down(dir).catch(() => {});
    throw err;
  }
}

/**
 * The environment's own helm configuration, cache and data (its `hashicorp`
 * repository among them), so the user's ~/.config/helm is never touched.
 */
export function helmDirs(dir: string): Record<string, string> {
  return {
    HELM_CONFIG_HOME: join(dir, "helm", "config"),
    HELM_CACHE_HOME: join(dir, "helm", "cache"),
    HELM_DATA_HOME: join(dir, "helm", "data"),
  };
}

/** The variables a shell or a command needs to use the environment. */
export function envVars(state: DevState): Record<string, string> {
  const tools = toolPaths();
  const pathDirs = [
    join(tools.kubectl, ".."),
    join(tools.bao, ".."),
    join(tools.helm, ".."),
    state.postgres.binDir,
  ].map((p) => resolve(p));
  return {
    KUBECONFIG: state.kubeconfig,
    VAULT_ADDR: state.vault.address,
    VAULT_TOKEN: state.vault.token,
    BAO_ADDR: state.vault.address,
    BAO_TOKEN: state.vault.token,
    PGHOST: state.postgres.host,
    PGPORT: String(state.postgres.port),
    PGUSER: state.postgres.user,
    PGPASSWORD: state.postgres.password,
    PGDATABASE: state.postgres.database,
    ...(state.node ? helmDirs(state.dir) : {}),
    PATH: `${pathDirs.join(":")}:${process.env.PATH ?? "/usr/bin:/bin"}`,
  };
}

/**
 * Shell lines for the environment: `export`s, and with a local node, functions
 * that run kubectl, helm, bao and psql inside its network namespace (where the
 * servers listen), so the same commands work from the host shell.
 */
export function envExports(state: DevState): string {
  const quote = (v: string) => `'${v.replaceAll("'", "'\\''")}'`;
  const vars = envVars(state);
  const lines = Object.entries(vars)
    .filter(([k]) => k !== "PATH")
    .map(([k, v]) => `export ${k}=${quote(v)}`);
  const ownPath = vars.PATH.slice(0, vars.PATH.length - (process.env.PATH ?? "/usr/bin:/bin").length - 1);
  lines.push(`export PATH=${quote(ownPath)}:"$PATH"`);
  if (state.node) {
    const ns = quote(netnsPath(state.node.netns));
    lines.push(
      `# The servers listen inside the network namespace ${state.node.netns}; these run the tools there.`,
    );
    const tools = toolPaths();
    const bins: [string, string][] = [
      ["kubectl", tools.kubectl],
      ["helm", tools.helm],
      ["bao", tools.bao],
      ["psql", join(state.postgres.binDir, "psql")],
      // The walkthrough reads the metrics through `kubectl port-forward`, which listens in there.
      ["curl", "curl"],
    ];
    for (const [name, bin] of bins) lines.push(`${name}() { nsenter --net=${ns} -- ${quote(bin)} "$@"; }`);
  }
  return lines.join("\n");
}

export function summary(state: DevState): string {
  const flag = state.dir === resolve(defaultStateDir()) ? "" : ` --dir ${state.dir}`;
  return [
    "vso-ts local environment is up",
    "",
    `  Kubernetes API   ${state.kube.server}   (kubeconfig: ${state.kubeconfig})`,
    `  OpenBao (Vault)  ${state.vault.address}   (root token in \`vso dev env\`)`,
    `  PostgreSQL       ${state.postgres.host}:${state.postgres.port}   database ${state.postgres.database}, superuser ${state.postgres.user}`,
    "",
    "  Configured as in the walkthrough: KV v2 secret/myapp/{database,api-keys}, auth/kubernetes role",
    "  myapp-role (service account myapp-sa in default), policies myapp-policy and myapp-db-policy,",
    "  database/ with my-postgres and myapp-db-role, pki/ and transit/.",
    "",
    "  Use it from a shell:",
    `    eval "$(bin/vso dev env${flag})"`,
    "    kubectl get namespaces",
    "    bao kv get secret/myapp/database",
    "    bao read database/creds/myapp-db-role",
    "",
    `  Stop it and remove all state:  bin/vso dev down${flag}`,
  ].join("\n");
}
