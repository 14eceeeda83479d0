// The walkthrough runner end to end, as a user starts it: `vso demo` brings up a
// fresh playground with a real node (Vault as vault-0, PostgreSQL as the Service
// postgres, the chart in the Helm repository `hashicorp`) and plays
// docs/walkthrough/walkthrough.sh: helm installs vso-ts, the static secret syncs
// with its includes/excludes, myapp logs in to PostgreSQL with dynamic
// credentials, a rotation replaces its Pod, every troubleshooting command
// answers and the metrics are read with a token. Then `up` on the running
// environment starts fresh (new certificates, new node) instead of reusing stale
// state, and `down` leaves nothing behind (processes, mounts, cgroups,
// namespaces, interfaces, files under /run; host sysctls untouched).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { hierarchies } from "../../src/dev/node/cgroups.ts";
import { envId, netnsName, netnsPath } from "../../src/dev/node/netns.ts";
import { cacheDir, REPO_ROOT, toolPaths } from "../../src/dev/paths.ts";
import { testEnv } from "../support/env.ts";
import { requireNode } from "../support/node.ts";

const execFileP = promisify(execFile);
const VSO = join(REPO_ROOT, "bin", "vso");
const SYSCTLS = [
  "vm/overcommit_memory",
  "vm/panic_on_oom",
  "kernel/panic",
  "kernel/panic_on_oops",
  "kernel/keys/root_maxkeys",
];

async function vso(args: string[], timeoutMs = 300_000) {
  return await execFileP(VSO, args, { timeout: timeoutMs, maxBuffer: 16 << 20 });
}

/**
 * The host's interfaces. /sys was mounted in the host's network namespace and
 * `nsenter --net` does not remount it, so /sys/class/net lists the host's
 * interfaces even from inside the test environment's namespace.
 */
function hostInterfaces(): string[] {
  return readdirSync("/sys/class/net").sort();
}

const SHIM_SOCKETS = "/run/containerd/s";

function shimSockets(): string[] {
  return existsSync(SHIM_SOCKETS) ? readdirSync(SHIM_SOCKETS) : [];
}

/** A socket nobody listens on any more: left behind by a killed shim. */
async function dead(socket: string): Promise<boolean> {
  return await new Promise((resolve) => {
    const c = connect(socket);
    c.once("connect", () => {
      c.destroy();
      resolve(false);
    });
    c.once("error", () => resolve(true));
  });
}

function sysctls(): Record<string, string> {
  return Object.fromEntries(SYSCTLS.map((s) => [s, readFileSync(`/proc/sys/${s}`, "utf8").trim()]));
}

/** Everything of the environment in `dir` that is still on the machine; empty when it left nothing. */
function leftovers(dir: string): string[] {
  const id = envId(dir);
  const marks = [dir, `vso-dev-${id}`];
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      let cwd = "";
      try {
        cwd = readlinkSync(`/proc/${pid}/cwd`);
      } catch {
        /* kernel thread */
      }
      if (marks.some((m) => cmd.includes(m) || cwd.startsWith(m)))
        found.push(`process ${pid}: ${cmd.slice(0, 120)}`);
    } catch {
      /* exited */
    }
  }
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    if (marks.some((m) => line.includes(m))) found.push(`mount: ${line.split(" ")[4]}`);
  }
  for (const h of hierarchies())
    if (existsSync(join(h, `vso-dev-${id}`))) found.push(`cgroup ${h}/vso-dev-${id}`);
  if (existsSync(`/run/netns/${netnsName(dir)}`)) found.push(`network namespace ${netnsName(dir)}`);
  if (existsSync(`/run/vso-dev-${id}`)) found.push(`/run/vso-dev-${id}`);
  if (existsSync(dir)) found.push(`state directory ${dir}`);
  return found;
}

async function nodeReady(dir: string): Promise<string> {
  const { stdout } = await vso([
    "dev",
    "exec",
    "--dir",
    dir,
    "--",
    "kubectl",
    "get",
    "node",
    "vso-dev-node",
    "-o",
    "jsonpath={.metadata.uid} {.status.conditions[?(@.type=='Ready')].status}",
  ]);
  return stdout.trim();
}

/**
 * The runner's transcript by command: it prints "$ <command>" before each one (bash's
 * $BASH_COMMAND: continued lines joined, a here-document's body on the lines after), then
 * the command's output. Repeated commands keep every run.
 */
function sections(transcript: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let key: string | undefined;
  let body: string[] = [];
  const flush = () => {
    if (key !== undefined) out.set(key, [...(out.get(key) ?? []), body.join("\n")]);
  };
  for (const line of transcript.split("\n")) {
    if (line.startsWith("$ ")) {
      flush();
      key = line.slice(2);
      body = [];
    } else body.push(line);
  }
  flush();
  return out;
}

test("vso demo plays the walkthrough on a fresh node; up again starts fresh; down leaves nothing behind", {
  timeout: 900_000,
}, async (t) => {
  const env = await testEnv();
  if (!requireNode(t, env)) return;
  const dir = mkdtempSync(join(cacheDir(), "walkthrough-"));
  const hostIfsBefore = hostInterfaces();
  const sysctlsBefore = sysctls();
  const socketsBefore = new Set(shimSockets());
  t.after(async () => {
    await vso(["dev", "down", "--dir", dir]).catch(() => {});
  });
  // kubectl inside the demo's namespace, directly (not through `vso dev exec`: a Node start each).
  const kubectl = async (args: string[]) =>
    (
      await execFileP(
        "nsenter",
        [
          `--net=${netnsPath(netnsName(dir))}`,
          "--",
          toolPaths().kubectl,
          `--kubeconfig=${join(dir, "kubeconfig")}`,
          ...args,
        ],
        { maxBuffer: 16 << 20 },
      )
    ).stdout;
  const lap = (() => {
    let at = Date.now();
    return (what: string) => {
      t.diagnostic(`${what}: ${(Date.now() - at) / 1000}s`);
      at = Date.now();
    };
  })();

  const { stdout: demo } = await vso(["demo", "--dir", dir], 600_000);
  lap("vso demo (fresh environment, playground, the whole walkthrough)");
  const ran = sections(demo);
  const last = (command: string): string => {
    const runs = ran.get(command);
    assert.ok(runs, `the runner ran: ${command}\n--- end of its output ---\n${demo.slice(-4000)}`);
    return runs[runs.length - 1];
  };
  assert.match(demo, /The walkthrough ran to its end/);

  // Install, from the playground's Helm repository `hashicorp`, and the one-manifest path over it.
  assert.match(last("helm repo update"), /Successfully got an update from the "hashicorp" chart repository/);
  assert.match(
    last(
      "helm install vault-secrets-operator hashicorp/vault-secrets-operator --namespace vault-secrets-operator-system --create-namespace",
    ),
    /STATUS: deployed/,
  );
  assert.match(
    last("kubectl get deployment -n vault-secrets-operator-system"),
    /vault-secrets-operator-controller-manager\s+1\/1/,
  );
  const repos = join(process.env.HOME ?? "/root", ".config", "helm", "repositories.yaml");
  assert.ok(
    !existsSync(repos) || !readFileSync(repos, "utf8").includes("10.200.0.1:8879"),
    "the user's own helm configuration is untouched",
  );

  // Connection and auth against the in-cluster Vault (vault-0 behind the Service vault).
  assert.match(
    last("kubectl describe vaultconnection default"),
    /Address:\s+http:\/\/vault\.vault\.svc\.cluster\.local:8200[\s\S]*VaultConnectionHealthy/,
  );
  assert.match(last("kubectl describe vaultauth default"), /VaultAuthHealthy/);
  const vaultPodIp = await kubectl([
    "get",
    "pod",
    "vault-0",
    "-n",
    "vault",
    "-o",
    "jsonpath={.status.podIP}",
  ]);
  const vaultEndpoints = await kubectl([
    "get",
    "endpointslices",
    "-n",
    "vault",
    "-l",
    "kubernetes.io/service-name=vault",
    "-o",
    "jsonpath={.items[*].endpoints[*].addresses[*]}",
  ]);
  assert.equal(vaultEndpoints.trim(), vaultPodIp.trim(), "the Service vault leads to vault-0 only");

  // The static secrets: example 1 whole, example 2 with its includes and excludes.
  assert.match(last("kubectl get secret myapp-database -o yaml"), /username: bXlhcHA=/);
  const apiKeys = await kubectl([
    "get",
    "secret",
    "api-keys",
    "-o",
    "go-template={{range $k, $v := .data}}{{$k}} {{end}}",
  ]);
  assert.deepEqual(apiKeys.trim().split(" "), ["_raw", "private_key", "public_key"]);

  // Dynamic credentials used by myapp, rotated: a new user, a new Pod that logs in with it.
  const users = new Set(demo.match(/v-kubernet-myapp-db-[A-Za-z0-9]+-\d+/g) ?? []);
  assert.ok(users.size >= 2, `a first user and a rotated one: ${[...users].join(", ")}`);
  assert.match(last("kubectl logs deployment/myapp"), /PostgreSQL 15\.\d+/);
  assert.match(last('kubectl logs "$new_pod"'), /PostgreSQL 15\.\d+/);
  const current = Buffer.from(
    await kubectl(["get", "secret", "myapp-db-dynamic", "-o", "jsonpath={.data.username}"]),
    "base64",
  ).toString();
  assert.ok(users.has(current), "the Secret holds one of the users the walkthrough showed");
  const replicaSets = await kubectl(["get", "replicasets", "-l", "app=myapp", "-o", "name"]);
  assert.equal(replicaSets.trim().split("\n").length, 2, "the rotation restarted myapp: a second ReplicaSet");

  // Every troubleshooting command answers.
  assert.match(
    last(
      "kubectl logs -n vault-secrets-operator-system deployment/vault-secrets-operator-controller-manager",
    ),
    /vso-ts operator started/,
  );
  assert.match(last("kubectl describe vaultstaticsecret myapp-database-secret"), /SecretSynced/);
  assert.match(last("kubectl get serviceaccount myapp-sa"), /^myapp-sa\s/m);
  assert.match(
    last("kubectl exec -n vault vault-0 -- vault read auth/kubernetes/role/myapp-role"),
    /policies\s+\[myapp-db-policy myapp-policy\]/,
  );
  assert.match(
    last("kubectl exec -n vault vault-0 -- vault policy read myapp-policy"),
    /path "secret\/data\/myapp\/\*"/,
  );
  assert.match(last("kubectl get vaultdynamicsecret myapp-db-creds -o yaml"), /secretLease:/);
  assert.match(
    last("kubectl exec -n vault vault-0 -- vault list sys/leases/lookup/database/creds/myapp-db-role"),
    /Keys\n----\n\S+/,
  );

  // Metrics: the bare curl is refused, the one with a service account's token reads them.
  const bare = last("curl -k https://localhost:8443/metrics");
  assert.match(bare, /Unauthorized/);
  assert.doesNotMatch(bare, /^vso_/m);
  const afterBinding = demo.slice(demo.lastIndexOf("$ kubectl create clusterrolebinding metrics-reader"));
  assert.match(afterBinding, /^vso_\w+/m);
  assert.doesNotMatch(demo, /eyJ[A-Za-z0-9_-]{20,}\./, "no token is printed");

  const first = await nodeReady(dir);
  assert.match(first, / True$/, "the node is Ready");
  const firstCa = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")).kube.caFile;
  const firstCaPem = readFileSync(firstCa, "utf8");
  const { stdout: envLines } = await vso(["dev", "env", "--dir", dir]);
  assert.match(
    envLines,
    /^kubectl\(\) \{ nsenter --net=/m,
    "env gives wrappers that run inside the namespace",
  );

  // A second up on a running environment tears it down (as `down` does) and starts a fresh one.
  lap("checks of the walkthrough's outcomes");
  await vso(["dev", "up", "--with-node", "--dir", dir]);
  lap("vso dev up --with-node on the running environment");
  const second = await nodeReady(dir);
  assert.match(second, / True$/);
  assert.notEqual(second.split(" ")[0], first.split(" ")[0], "a new Node object, not the old one");
  assert.notEqual(readFileSync(firstCa, "utf8"), firstCaPem, "new certificates");

  await vso(["dev", "down", "--dir", dir]);
  lap("vso dev down");
  assert.deepEqual(leftovers(dir), [], "down leaves nothing of the environment");
  assert.deepEqual(hostInterfaces(), hostIfsBefore, "no interface added to the host");
  assert.deepEqual(sysctls(), sysctlsBefore, "host sysctls unchanged");
  // The shared environment's shims may add live sockets meanwhile; none of ours may stay.
  const stale: string[] = [];
  for (const s of shimSockets())
    if (!socketsBefore.has(s) && (await dead(join(SHIM_SOCKETS, s)))) stale.push(s);
  assert.deepEqual(stale, [], "no shim socket of this environment is left in /run/containerd/s");
});
