// Process tracking of the local environment: pid files with start times,
// stopping only what we started, and shell-safe export lines.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type DevState, envExports } from "../../src/dev/environment.ts";
import {
  isAlive,
  processStartTime,
  startDaemon,
  stopAll,
  trackedProcesses,
} from "../../src/dev/processes.ts";

test("a tracked daemon is stopped through its pid file and its pid file removed", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "vso-proc-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const p = startDaemon(dir, { name: "sleeper", command: "/bin/sleep", args: ["300"] });
  assert.ok(isAlive(p));
  assert.equal(trackedProcesses(dir).length, 1);
  const stopped = await stopAll(dir);
  assert.deepEqual(stopped, [`sleeper (pid ${p.pid})`]);
  assert.equal(isAlive(p), false);
  assert.equal(trackedProcesses(dir).length, 0);
});

test("a stale pid file whose pid now belongs to another process is not signalled", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "vso-proc-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const p = startDaemon(dir, { name: "victim", command: "/bin/sleep", args: ["300"] });
  t.after(() => {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {}
  });
  // Pretend the pid file was written for an earlier process that had the same pid.
  const { writeFileSync } = await import("node:fs");
  writeFileSync(join(dir, "pids", "victim.pid"), JSON.stringify({ ...p, startTime: "1" }));
  const stopped = await stopAll(dir);
  assert.deepEqual(stopped, []);
  assert.ok(processStartTime(p.pid), "the unrelated process is still running");
});

test("export lines are quoted for the shell", () => {
  const state = {
    kubeconfig: "/tmp/it's here/kubeconfig",
    vault: { address: "http://127.0.0.1:1", token: "root-abc" },
    postgres: {
      host: "127.0.0.1",
      port: 5,
      user: "u",
      password: "p'w",
      database: "mydb",
      binDir: "/usr/bin",
    },
  } as unknown as DevState;
  const out = envExports(state);
  assert.match(out, /^export KUBECONFIG='\/tmp\/it'\\''s here\/kubeconfig'$/m);
  assert.match(out, /^export PGPASSWORD='p'\\''w'$/m);
  assert.match(out, /^export VAULT_TOKEN='root-abc'$/m);
  assert.match(out, /^export BAO_ADDR='http:\/\/127.0.0.1:1'$/m);
  assert.match(out, /^export PATH='.*':"\$PATH"$/m);
});
