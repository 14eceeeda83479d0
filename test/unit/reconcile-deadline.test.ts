// Every reconcile has a deadline (issue 19): a reconcile stuck on a silent
// Vault has its request aborted then, frees its worker for the next key, counts
// as a failure and is retried with the backoff; timers it created live on.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import pino from "pino";
import { Controller, type ReconcileOutcome } from "../../src/runtime/controller.ts";
import { currentReconcileSignal, withReconcileDeadline } from "../../src/util/reconcile-scope.ts";
import { VaultHttp } from "../../src/vault/http.ts";

const log = pino({ level: "silent" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A "Vault" that accepts requests and never answers. */
async function silentServer(t: import("node:test").TestContext): Promise<string> {
  const held: import("node:http").ServerResponse[] = [];
  const server: Server = createServer((_req, res) => void held.push(res));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => {
    for (const r of held) r.destroy();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test("a reconcile stuck on a silent Vault ends at its deadline and frees its worker", async (t) => {
  const http = new VaultHttp({ address: await silentServer(t), timeoutMs: 60_000 });
  const done: { key: string; outcome: ReconcileOutcome; ms: number }[] = [];
  const started = new Map<string, number>();
  let aborted: unknown;
  const c = new Controller({
    name: "t",
    workers: 1,
    log,
    reconcileDeadlineMs: 300,
    backoff: {
      initialIntervalMs: 60_000,
      maxIntervalMs: 60_000,
      multiplier: 1,
      randomizationFactor: 0,
      maxElapsedMs: 0,
    },
    reconcile: async ({ name }) => {
      started.set(name, Date.now());
      if (name === "stuck") {
        try {
          await http.call("GET", "secret/data/x");
        } catch (err) {
          aborted = err;
          throw err;
        }
      }
      return undefined;
    },
    onReconcileDone: (_n, outcome, seconds) => done.push({ key: "", outcome, ms: seconds * 1000 }),
  });
  c.start();
  t.after(() => c.stop());
  c.enqueue("ns/stuck");
  c.enqueue("ns/healthy");
  for (const end = Date.now() + 5000; done.length < 2 && Date.now() < end; ) await sleep(10);
  assert.equal(done.length, 2, "both keys were reconciled by the one worker");
  assert.equal(done[0].outcome, "error");
  assert.ok(
    done[0].ms >= 290 && done[0].ms < 2000,
    `the stuck reconcile ended at its deadline (${done[0].ms} ms)`,
  );
  assert.equal(done[1].outcome, "success");
  assert.ok(aborted instanceof Error, "the Vault request itself was aborted");
});

test("outside a reconcile, or after it ended, no deadline signal is lent", async () => {
  assert.equal(currentReconcileSignal(), undefined);
  let fromTimer: Promise<AbortSignal | undefined> | undefined;
  await withReconcileDeadline(1000, async (signal) => {
    assert.equal(currentReconcileSignal(), signal);
    // A timer created inside (a token renewal) fires after the reconcile has ended.
    fromTimer = new Promise((r) => setTimeout(() => r(currentReconcileSignal()), 50));
  });
  assert.equal(await fromTimer, undefined, "it does not inherit the ended reconcile's deadline");
});
