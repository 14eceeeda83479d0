// `vso dev up --with-node` run by an unprivileged user fails at once, says it
// needs root, and leaves nothing behind: no network namespace, no state
// directory. Run for real as uid 65534 (setpriv), so it needs root to start.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { netnsName, netnsPath } from "../../src/dev/node/netns.ts";
import { REPO_ROOT } from "../../src/dev/paths.ts";

/** The environments' network namespaces present now (/run/netns exists only once one was made). */
function devNetns(): string[] {
  return existsSync("/run/netns") ? readdirSync("/run/netns").filter((n) => n.startsWith("vso-dev-")) : [];
}

function hasSetpriv(): boolean {
  try {
    execFileSync("sh", ["-c", "command -v setpriv"], { stdio: "pipe" });
    return true;
  } catch {
    return false;
  }
}

test("vso dev up --with-node as an unprivileged user: exit 1 at once, says it needs root, creates nothing", (t) => {
  if (process.platform !== "linux" || process.getuid?.() !== 0 || !hasSetpriv()) {
    t.skip("needs root and setpriv to run the command as another user");
    return;
  }
  const work = mkdtempSync(join(tmpdir(), "vso-node-refusal-"));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  // The unprivileged user can write here, so the absence of anything afterwards is the command's
  // doing; and it gets its own copy of Node (the cached one is under root's home).
  chmodSync(work, 0o777);
  const node = join(work, "node");
  copyFileSync(process.execPath, node);
  chmodSync(node, 0o755);
  const dir = join(work, "env");
  const before = devNetns();

  const t0 = Date.now();
  const res = spawnSync(
    "setpriv",
    [
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      node,
      "--disable-warning=ExperimentalWarning",
      join(REPO_ROOT, "src", "cli", "main.ts"),
      "dev",
      "up",
      "--with-node",
      "--dir",
      dir,
    ],
    {
      cwd: work,
      encoding: "utf8",
      timeout: 30_000,
      env: { PATH: process.env.PATH, HOME: work, VSO_TS_CACHE: join(work, "cache") },
    },
  );
  const tookMs = Date.now() - t0;
  assert.equal(res.status, 1, `exit status (stderr: ${res.stderr})`);
  assert.match(res.stderr, /--with-node: the local node needs root/);
  assert.match(res.stderr, /without --with-node the control-plane-only environment works/);
  assert.ok(tookMs < 10_000, `refused after ${tookMs} ms`);
  assert.equal(existsSync(dir), false, "no state directory");
  assert.equal(existsSync(join(work, "cache")), false, "nothing cached");
  assert.equal(existsSync(netnsPath(netnsName(dir))), false, "no network namespace for it");
  assert.deepEqual(
    devNetns().filter((n) => !before.includes(n)),
    [],
    "no new network namespace at all",
  );
});
