// `vso demo --no-node` (the playground where no node can run) on its own fresh
// environment: the walkthrough's resources sync with the operator running in
// the background; `vso dev down` then leaves no process and no state behind.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import type { DevState } from "../../src/dev/environment.ts";
import { cacheDir, REPO_ROOT } from "../../src/dev/paths.ts";
import { processStartTime, trackedProcesses } from "../../src/dev/processes.ts";

const run = promisify(execFile);

test("vso demo --no-node syncs the walkthrough, and vso dev down leaves nothing behind", async () => {
  const parent = mkdtempSync(join(cacheDir(), "demo-test-"));
  const dir = join(parent, "env");
  const vso = join(REPO_ROOT, "bin", "vso");
  try {
    const { stdout } = await run(vso, ["demo", "--no-node", "--dir", dir], { timeout: 180_000 });
    assert.match(stdout, /myapp-database\s+keys: _raw, host, password, port, username/);
    assert.match(stdout, /api-keys\s+keys: _raw, private_key, public_key/);
    assert.match(stdout, /myapp-db-dynamic\s+keys: _raw, password, username/);
    assert.match(stdout, /myapp-db-creds\s+True\s+True\s+True/);
    const procs = trackedProcesses(dir);
    assert.deepEqual(procs.map((p) => p.name).sort(), [
      "etcd",
      "kube-apiserver",
      "kube-controller-manager",
      "openbao",
      "operator",
      "postgres",
    ]);
    // Idempotent: a second run reuses the environment and the operator.
    const again = await run(vso, ["demo", "--no-node", "--dir", dir], { timeout: 120_000 });
    assert.match(again.stdout, /myapp-db-dynamic\s+keys/);
    assert.equal(trackedProcesses(dir).length, 6);
    const pgBase = (JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as DevState).postgres.baseDir;
    assert.ok(existsSync(pgBase));
    await run(vso, ["dev", "down", "--dir", dir], { timeout: 60_000 });
    for (const p of procs) assert.equal(processStartTime(p.pid) === p.startTime, false, `${p.name} stopped`);
    assert.equal(existsSync(dir), false, "state removed");
    assert.equal(existsSync(pgBase), false, "the PostgreSQL data directory is removed");
  } finally {
    await run(vso, ["dev", "down", "--dir", dir]).catch(() => {});
    rmSync(parent, { recursive: true, force: true });
  }
});
