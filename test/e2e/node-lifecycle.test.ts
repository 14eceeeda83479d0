// `vso demo`, `vso dev up --with-node` and `vso dev down` as a user runs them,
// in a second environment beside the shared one. The playground is the
// walkthrough for real: vso-ts installed by helm into the node, the
// walkthrough's manifests as written, its myapp Pod logging in to PostgreSQL
// with dynamic credentials, a rotation replacing the Pod. Then `up` on the
// running environment starts fresh (new certificates, new node) instead of
// reusing stale state, and `down` leaves nothing behind (processes, mounts,
// cgroups, namespaces, interfaces, files under /run; host sysctls untouched).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { hierarchies } from "../../src/dev/node/cgroups.ts";
import { envId, netnsName } from "../../src/dev/node/netns.ts";
import { cacheDir, REPO_ROOT } from "../../src/dev/paths.ts";
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

test("vso demo runs the walkthrough on the node; up again starts fresh; down leaves nothing behind", {
  timeout: 900_000,
}, async (t) => {
  const env = await testEnv();
  if (!requireNode(t, env)) return;
  const dir = mkdtempSync(join(cacheDir(), "node-lifecycle-"));
  const hostIfsBefore = hostInterfaces();
  const sysctlsBefore = sysctls();
  const socketsBefore = new Set(shimSockets());
  t.after(async () => {
    await vso(["dev", "down", "--dir", dir]).catch(() => {});
  });

  const { stdout: demo } = await vso(["demo", "--dir", dir]);
  assert.match(demo, /vault-secrets-operator-controller-manager-\S+\s+1\/1\s+Running/, demo);
  assert.match(demo, /myapp \(myapp-\S+\) logged in to PostgreSQL as v-kubernet-myapp-db-/);
  assert.match(demo, /^\s+PostgreSQL 15\.\d+/m);
  const rotated = /rotated: new user (\S+), myapp replaced by (\S+)/.exec(demo);
  const firstUser = /logged in to PostgreSQL as (\S+):/.exec(demo)?.[1];
  assert.ok(rotated && rotated[1] !== firstUser, "the rotation issued a new user and replaced the Pod");
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
  await vso(["dev", "up", "--with-node", "--dir", dir]);
  const second = await nodeReady(dir);
  assert.match(second, / True$/);
  assert.notEqual(second.split(" ")[0], first.split(" ")[0], "a new Node object, not the old one");
  assert.notEqual(readFileSync(firstCa, "utf8"), firstCaPem, "new certificates");

  await vso(["dev", "down", "--dir", dir]);
  assert.deepEqual(leftovers(dir), [], "down leaves nothing of the environment");
  assert.deepEqual(hostInterfaces(), hostIfsBefore, "no interface added to the host");
  assert.deepEqual(sysctls(), sysctlsBefore, "host sysctls unchanged");
  // The shared environment's shims may add live sockets meanwhile; none of ours may stay.
  const stale: string[] = [];
  for (const s of shimSockets())
    if (!socketsBefore.has(s) && (await dead(join(SHIM_SOCKETS, s)))) stale.push(s);
  assert.deepEqual(stale, [], "no shim socket of this environment is left in /run/containerd/s");
});
