// Manager flags against the real API server: --kube-client-qps/--kube-client-burst
// throttle the operator's own requests (and nothing does by default),
// --max-concurrent-reconciles-vds sets the VaultDynamicSecret workers, the zap
// flags shape the real process's log, and a bad value stops the process at start.
import assert from "node:assert/strict";
import { test } from "node:test";
import { VSO } from "../../src/operator/resources.ts";
import { spawnOperator } from "../support/db.ts";
import { eventually, isolatedNamespace, type TestEnv, testEnv } from "../support/env.ts";
import {
  defaultConnectionAndAuth,
  kvPut,
  startOperator,
  vaultRoleFor,
  waitForSecret,
} from "../support/operator.ts";

const SECRETS = 10;

/** Starts an operator with `args`, then times 10 VaultStaticSecret syncs and counts its API requests. */
async function timeSyncs(t: import("node:test").TestContext, env: TestEnv, args: string[]) {
  const ns = await isolatedNamespace(t, env, "flags");
  const role = await vaultRoleFor(env, ns);
  await defaultConnectionAndAuth(env, ns, role);
  for (let i = 0; i < SECRETS; i++) await kvPut(env, `${ns}/s${i}`, { v: String(i) });
  const mgr = await startOperator(t, env, { namespaces: [ns], args });
  const r0 = mgr.ctx.kube.requests;
  const t0 = performance.now();
  for (let i = 0; i < SECRETS; i++) {
    await env.kube.create(VSO.VaultStaticSecret, ns, {
      apiVersion: "secrets.hashicorp.com/v1beta1",
      kind: "VaultStaticSecret",
      metadata: { name: `s${i}` },
      spec: {
        mount: "secret",
        type: "kv-v2",
        path: `${ns}/s${i}`,
        destination: { name: `s${i}`, create: true },
      },
    });
  }
  await Promise.all(
    Array.from({ length: SECRETS }, (_, i) => waitForSecret(env, ns, `s${i}`, () => true, 120_000)),
  );
  return { seconds: (performance.now() - t0) / 1000, requests: mgr.ctx.kube.requests - r0 };
}

test("--kube-client-qps=2 --kube-client-burst=2 throttles the operator's API requests; the default does not", async (t) => {
  const env = await testEnv();
  const limited = await timeSyncs(t, env, ["--kube-client-qps=2", "--kube-client-burst=2"]);
  const free = await timeSyncs(t, env, []);
  t.diagnostic(
    `qps 2/burst 2: ${limited.requests} requests in ${limited.seconds.toFixed(1)} s; ` +
      `default: ${free.requests} requests in ${free.seconds.toFixed(1)} s`,
  );
  // A bucket of 2 refilled at 2/s lets at most 2 + 2·t requests through in t seconds.
  const floor = (n: number) => (n - 2) / 2;
  assert.ok(limited.requests >= SECRETS, "each sync needs at least one request");
  assert.ok(limited.seconds >= 4, `10 syncs took ${limited.seconds} s under qps 2`);
  assert.ok(
    limited.seconds >= floor(limited.requests) - 0.2,
    `${limited.requests} requests in ${limited.seconds} s exceed qps 2, burst 2`,
  );
  // Unlimited by default: the same work goes faster than qps 2 would ever allow.
  assert.ok(
    free.seconds < floor(free.requests),
    `default: ${free.requests} requests in ${free.seconds} s, no faster than qps 2`,
  );
});

test("--max-concurrent-reconciles-vds sets the VaultDynamicSecret workers, the others keep --max-concurrent-reconciles", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "flags");
  const scrape = async (args: string[]) => {
    const mgr = await startOperator(t, env, { namespaces: [ns], args });
    assert.ok(mgr.metricsUrl);
    const body = await (await fetch(mgr.metricsUrl)).text();
    const workers = (c: string) =>
      Number(
        body.match(
          new RegExp(`controller_runtime_max_concurrent_reconciles\\{controller="${c}"\\} (\\d+)`),
        )?.[1],
      );
    const out = {
      vds: workers("vaultdynamicsecret"),
      vss: workers("vaultstaticsecret"),
      pki: workers("vaultpkisecret"),
    };
    return out;
  };
  assert.deepEqual(await scrape(["--max-concurrent-reconciles=3", "--max-concurrent-reconciles-vds=7"]), {
    vds: 7,
    vss: 3,
    pki: 3,
  });
  // VSO's rule: the deprecated flag at its default (100) defers to --max-concurrent-reconciles.
  assert.deepEqual(await scrape(["--max-concurrent-reconciles=4"]), { vds: 4, vss: 4, pki: 4 });
});

/** Runs `vso run` as a process, collecting what it writes. */
function runOperator(env: TestEnv, ns: string, args: string[]) {
  const child = spawnOperator(env, ns, args, {}, ["ignore", "pipe", "pipe"]);
  const io = { out: "", err: "" };
  child.stdout?.on("data", (d: Buffer) => {
    io.out += d.toString("utf8");
  });
  child.stderr?.on("data", (d: Buffer) => {
    io.err += d.toString("utf8");
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    io,
    running: () => child.exitCode === null,
    exited,
    waitFor: (re: RegExp) => eventually(`operator output ${re}`, async () => re.test(io.out), 60_000),
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      return await exited;
    },
  };
}

test("the zap flags shape the real process's log; a bad value stops it at start, naming the flag", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "flags");

  const json = runOperator(env, ns, ["--zap-time-encoding=epoch"]);
  t.after(() => json.stop());
  await json.waitFor(/operator started/);
  await json.stop();
  const started = json.io.out
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { level: string; ts: unknown; msg: string })
    .find((l) => l.msg === "vso-ts operator started");
  assert.ok(started, json.io.out + json.io.err);
  assert.equal(started.level, "info");
  assert.equal(typeof started.ts, "number");
  assert.ok(Math.abs((started.ts as number) - Date.now() / 1000) < 120, "epoch seconds");

  const devel = runOperator(env, ns, ["--zap-devel"]);
  t.after(() => devel.stop());
  await devel.waitFor(/operator started/);
  await devel.stop();
  assert.match(devel.io.out, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\tINFO\tvso-ts operator started\t\{/m);

  // At error level a healthy start writes nothing at all (the other runs wrote info lines by now).
  const quiet = runOperator(env, ns, ["--zap-log-level=error"]);
  t.after(() => quiet.stop());
  await new Promise((r) => setTimeout(r, 8000));
  assert.ok(quiet.running(), quiet.io.err);
  await quiet.stop();
  assert.equal(quiet.io.out, "", "nothing below error is written at --zap-log-level=error");

  const bad = runOperator(env, ns, ["--zap-time-encoding=unix"]);
  assert.equal(await bad.exited, 1);
  assert.match(bad.io.err, /--zap-time-encoding/);
});
