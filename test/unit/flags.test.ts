// Manager flags that used to be parsed and ignored: the token bucket behind
// --kube-client-qps/--kube-client-burst, the VDS worker count, the zap flags.
import assert from "node:assert/strict";
import { test } from "node:test";
import { TokenBucket } from "../../src/kube/token-bucket.ts";
import { parseOperatorConfig } from "../../src/operator/config.ts";
import { consoleLine, createLogger, encodeTime, parseLoggingFlags } from "../../src/operator/logging.ts";

function fakeClock() {
  const c = {
    t: 0,
    slept: [] as number[],
    now: () => c.t,
    sleep: async (ms: number) => {
      c.slept.push(ms);
      c.t += ms;
    },
  };
  return c;
}

test("token bucket: burst requests pass at once, then one every 1/qps seconds", () => {
  const clock = fakeClock();
  const b = new TokenBucket(2, 3, clock);
  assert.deepEqual([b.reserve(), b.reserve(), b.reserve()], [0, 0, 0]);
  // Empty: the 4th waits 500 ms, the 5th (reserved at the same instant) 1000 ms.
  assert.equal(b.reserve(), 500);
  assert.equal(b.reserve(), 1000);
  clock.t = 10_000; // long idle: refilled to burst, never beyond
  assert.deepEqual([b.reserve(), b.reserve(), b.reserve(), b.reserve()], [0, 0, 0, 500]);
});

test("token bucket: 10 requests at qps 2, burst 2 take 4 s of waiting", async () => {
  const clock = fakeClock();
  const b = new TokenBucket(2, 2, clock);
  for (let i = 0; i < 10; i++) await b.take();
  assert.equal(clock.t, 4000);
  assert.deepEqual(clock.slept, [500, 500, 500, 500, 500, 500, 500, 500]);
});

test("token bucket: an aborted wait gives its token back", async () => {
  let t = 0;
  const b = new TokenBucket(1, 1, {
    now: () => t,
    sleep: async (_ms, signal) => {
      if (signal?.aborted) throw new Error("aborted");
    },
  });
  b.reserve();
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(b.take(ac.signal), /aborted/);
  t = 1000; // one refill: exactly one token again, as if the aborted request never came
  assert.equal(b.reserve(), 0);
  assert.equal(b.reserve(), 1000);
});

test("kube client flags: defaults off, invalid values refused by name", () => {
  const d = parseOperatorConfig([], {});
  assert.equal(d.kubeClientQps, 0);
  assert.equal(d.kubeClientBurst, 0);
  const c = parseOperatorConfig(["--kube-client-qps=2.5", "--kube-client-burst=4"], {});
  assert.equal(c.kubeClientQps, 2.5);
  assert.equal(c.kubeClientBurst, 4);
  const e = parseOperatorConfig([], { VSO_KUBE_CLIENT_QPS: "7", VSO_KUBE_CLIENT_BURST: "9" });
  assert.deepEqual([e.kubeClientQps, e.kubeClientBurst], [7, 9]);
  assert.throws(() => parseOperatorConfig(["--kube-client-qps=fast"], {}), /--kube-client-qps/);
  assert.throws(() => parseOperatorConfig(["--kube-client-burst=1.5"], {}), /--kube-client-burst/);
  assert.throws(() => parseOperatorConfig(["--kube-client-burst=-1"], {}), /--kube-client-burst/);
});

test("--max-concurrent-reconciles-vds: VSO's rule, it wins only when not 100", () => {
  const d = parseOperatorConfig([], {});
  assert.deepEqual([d.maxConcurrentReconciles, d.maxConcurrentReconcilesVds], [100, 100]);
  const a = parseOperatorConfig(["--max-concurrent-reconciles=5"], {});
  assert.equal(a.maxConcurrentReconcilesVds, 5);
  const b = parseOperatorConfig(["--max-concurrent-reconciles=5", "--max-concurrent-reconciles-vds=3"], {});
  assert.deepEqual([b.maxConcurrentReconciles, b.maxConcurrentReconcilesVds], [5, 3]);
  const c = parseOperatorConfig(["--max-concurrent-reconciles=5", "--max-concurrent-reconciles-vds=100"], {});
  assert.equal(c.maxConcurrentReconcilesVds, 5);
  assert.throws(() => parseOperatorConfig(["--max-concurrent-reconciles-vds=0"], {}), /-vds/);
  assert.throws(() => parseOperatorConfig(["--max-concurrent-reconciles=two"], {}), /concurrent-reconciles/);
});

test("--global-vault-auth-options: allow-default-globals or nothing; an unknown value is refused", () => {
  assert.deepEqual(parseOperatorConfig([], {}).globalVaultAuthOptions, ["allow-default-globals"]);
  assert.deepEqual(parseOperatorConfig(["--global-vault-auth-options="], {}).globalVaultAuthOptions, []);
  assert.deepEqual(
    parseOperatorConfig(["--global-vault-auth-options=allow-default-globals"], {}).globalVaultAuthOptions,
    ["allow-default-globals"],
  );
  // A typo must not silently turn the default globals off.
  assert.throws(
    () => parseOperatorConfig(["--global-vault-auth-options=allow-default-global"], {}),
    /unsupported --global-vault-auth-options value "allow-default-global" \(known: allow-default-globals\)/,
  );
  assert.throws(
    () => parseOperatorConfig(["--global-vault-auth-options=allow-default-globals,bogus"], {}),
    /"bogus"/,
  );
  assert.throws(
    () => parseOperatorConfig([], { VSO_GLOBAL_VAULT_AUTH_OPTIONS: "bogus" }),
    /--global-vault-auth-options value "bogus"/,
  );
});

test("inert and auxiliary flags are validated", () => {
  const d = parseOperatorConfig([], {});
  assert.deepEqual(
    [d.clientCacheNumLocks, d.minRefreshAfterHvsaMs, d.preDeleteHookTimeoutSeconds],
    [100, 30_000, 60],
  );
  assert.equal(parseOperatorConfig(["--client-cache-num-locks=0"], {}).clientCacheNumLocks, 0);
  assert.throws(() => parseOperatorConfig(["--client-cache-num-locks=x"], {}), /--client-cache-num-locks/);
  assert.throws(() => parseOperatorConfig(["--min-refresh-after-hvsa=soon"], {}), /--min-refresh-after-hvsa/);
  assert.throws(
    () => parseOperatorConfig(["--pre-delete-hook-timeout-seconds=0"], {}),
    /--pre-delete-hook-timeout-seconds/,
  );
  assert.equal(parseOperatorConfig(["--output=yaml"], {}).output, "yaml");
  assert.equal(parseOperatorConfig([], { VSO_OUTPUT_FORMAT: "json" }).output, "json");
  assert.throws(() => parseOperatorConfig(["--output=xml"], {}), /--output/);
});

test("zap flags: production and devel defaults, levels, refusals naming the flag", () => {
  assert.deepEqual(parseOperatorConfig([], {}).logging, {
    level: "info",
    timeEncoding: "rfc3339",
    stacktraceLevel: "error",
    encoder: "json",
    devel: false,
  });
  const dev = parseOperatorConfig(["--zap-devel"], {}).logging;
  assert.deepEqual([dev.level, dev.stacktraceLevel, dev.encoder], ["debug", "warn", "console"]);
  assert.equal(parseOperatorConfig([], { VSO_LOGGER_DEVELOPMENT_MODE: "1" }).logging.devel, true);
  assert.equal(parseOperatorConfig(["--zap-devel", "--zap-encoder=json"], {}).logging.encoder, "json");
  const lv = (v: string) => parseLoggingFlags({ level: v, devel: false }).level;
  assert.deepEqual(["debug", "INFO", "warn", "error", "panic", "1", "5", "6"].map(lv), [
    "debug",
    "info",
    "warn",
    "error",
    "fatal",
    "debug",
    "debug",
    "trace",
  ]);
  for (const [flag, bad] of [
    ["zap-log-level", "loud"],
    ["zap-log-level", "0"],
    ["zap-time-encoding", "unix"],
    ["zap-stacktrace-level", "debug"],
    ["zap-encoder", "xml"],
    ["zap-devel", "maybe"],
  ]) {
    assert.throws(() => parseOperatorConfig([`--${flag}=${bad}`], {}), new RegExp(`--${flag}`));
  }
});

test("time encodings match zap's encoders", () => {
  const ms = Date.UTC(2026, 10, 30, 1, 2, 3, 450);
  const t = ms + 0.25; // 450.25 ms, exact in a double
  assert.equal(encodeTime("epoch", t), String(t / 1000));
  assert.equal(encodeTime("millis", t), String(t));
  assert.equal(encodeTime("nano", t), String(BigInt(ms) * 1_000_000n + 250_000n));
  assert.equal(encodeTime("iso8601", t), '"2026-11-30T01:02:03.450Z"');
  assert.equal(encodeTime("rfc3339", t), '"2026-11-30T01:02:03Z"');
  assert.equal(encodeTime("rfc3339nano", t), '"2026-11-30T01:02:03.45025Z"');
  assert.equal(encodeTime("rfc3339nano", Date.UTC(2026, 0, 1)), '"2026-01-01T00:00:00Z"');
});

function capture(flags: string[]) {
  const lines: string[] = [];
  const log = createLogger(parseOperatorConfig(flags, {}).logging, { write: (l: string) => lines.push(l) });
  return { log, lines };
}

test("JSON lines carry zap's keys; error stacks only at and above the stacktrace level", () => {
  const { log, lines } = capture(["--zap-time-encoding=millis", "--zap-stacktrace-level=error"]);
  const err = new Error("boom");
  log.warn({ err }, "warned");
  log.error({ err }, "failed");
  log.debug("hidden at info");
  assert.equal(lines.length, 2);
  const [w, e] = lines.map((l) => JSON.parse(l));
  assert.equal(w.level, "warn");
  assert.equal(typeof w.ts, "number");
  assert.equal(w.msg, "warned");
  assert.equal(w.err, "boom");
  assert.equal(e.level, "error");
  assert.match(e.err.stack, /Error: boom\n\s+at /);
  const info = capture(["--zap-stacktrace-level=info"]);
  info.log.info({ err }, "with stack");
  assert.match(JSON.parse(info.lines[0]).err.stack, /boom/);
  assert.match(JSON.parse(info.lines[0]).ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
});

test("devel mode writes console lines", () => {
  const { log, lines } = capture(["--zap-devel", "--zap-time-encoding=iso8601"]);
  log.debug({ namespace: "ns", name: "x" }, "synced");
  assert.match(
    lines[0],
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\tDEBUG\tsynced\t\{"namespace":"ns","name":"x"\}\n$/,
  );
  assert.equal(consoleLine('{"ts":1,"level":"info","msg":"m"}'), "1\tINFO\tm\n");
});
