// `vso run` that cannot start ends at once, non-zero, with one line on
// standard error that says what to fix: its metrics port taken, no API server
// behind its kubeconfig (a closed loopback port), leader-election durations
// that cannot work. Before, such a process printed an error and lingered
// without serving, with a watch open, ignoring SIGTERM.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { stringify } from "yaml";

const MAIN = join(import.meta.dirname, "..", "..", "src", "cli", "main.ts");

/** A loopback port with a listener on it (closed by the test). */
async function listening(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as { port: number }).port };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const { server, port } = await listening();
  await new Promise((r) => server.close(r));
  return port;
}

/** A kubeconfig whose API server is 127.0.0.1:`port`. */
function kubeconfig(t: { after: (fn: () => void) => void }, port: number): string {
  const dir = mkdtempSync(join(tmpdir(), "run-start-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "config");
  writeFileSync(
    file,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      "current-context": "a",
      clusters: [
        { name: "c", cluster: { server: `https://127.0.0.1:${port}`, "insecure-skip-tls-verify": true } },
      ],
      users: [{ name: "u", user: { token: "t" } }],
      contexts: [{ name: "a", context: { cluster: "c", user: "u" } }],
    }),
  );
  return file;
}

/** Runs `vso run ARGS`; resolves with its exit, its stderr lines and how long it ran, or fails after `limitMs`. */
async function run(args: string[], limitMs = 10_000) {
  const t0 = Date.now();
  const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", MAIN, "run", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  child.stdout.resume();
  const timer = setTimeout(() => child.kill("SIGKILL"), limitMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on("exit", (c, s) => resolve([c, s])),
  );
  clearTimeout(timer);
  return {
    code,
    signal,
    tookMs: Date.now() - t0,
    lines: stderr.split("\n").filter((l) => l.trim() !== ""),
  };
}

test("a metrics port already taken: exit 1 within seconds, one line naming the address and the flag", async (t) => {
  const taken = await listening();
  t.after(() => taken.server.close());
  const r = await run([
    `--kubeconfig=${kubeconfig(t, await closedPort())}`,
    `--metrics-bind-address=127.0.0.1:${taken.port}`,
    "--health-probe-bind-address=0",
  ]);
  assert.equal(r.signal, null, "ended by itself, not killed");
  assert.equal(r.code, 1);
  assert.ok(r.tookMs < 8_000, `ran ${r.tookMs} ms`);
  assert.equal(r.lines.length, 1, `one line on stderr: ${JSON.stringify(r.lines)}`);
  assert.match(
    r.lines[0] ?? "",
    new RegExp(
      `^vso run: cannot start: cannot listen on 127\\.0\\.0\\.1:${taken.port} \\(--metrics-bind-address\\): .*EADDRINUSE`,
    ),
  );
});

test("a health port already taken fails the same way", async (t) => {
  const taken = await listening();
  t.after(() => taken.server.close());
  const r = await run([
    `--kubeconfig=${kubeconfig(t, await closedPort())}`,
    "--metrics-bind-address=0",
    `--health-probe-bind-address=127.0.0.1:${taken.port}`,
  ]);
  assert.equal(r.code, 1);
  assert.equal(r.lines.length, 1, JSON.stringify(r.lines));
  assert.match(r.lines[0] ?? "", /cannot listen on .* \(--health-probe-bind-address\): .*EADDRINUSE/);
});

test("no API server behind the kubeconfig: exit 1 within seconds, one line naming the server", async (t) => {
  const port = await closedPort();
  const r = await run([
    `--kubeconfig=${kubeconfig(t, port)}`,
    "--metrics-bind-address=127.0.0.1:0",
    "--health-probe-bind-address=127.0.0.1:0",
  ]);
  assert.equal(r.signal, null, "ended by itself, not killed");
  assert.equal(r.code, 1);
  assert.ok(r.tookMs < 8_000, `ran ${r.tookMs} ms`);
  assert.equal(r.lines.length, 1, `one line on stderr: ${JSON.stringify(r.lines)}`);
  assert.match(
    r.lines[0] ?? "",
    new RegExp(
      `^vso run: cannot start: cannot reach the Kubernetes API server at https://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`,
    ),
  );
});

test("leader-election durations that cannot work: exit 1 at once, naming the flags", async (t) => {
  const r = await run([
    `--kubeconfig=${kubeconfig(t, await closedPort())}`,
    "--leader-elect=true",
    "--leader-election-lease-duration=10s",
    "--leader-election-renew-deadline=15s",
  ]);
  assert.equal(r.code, 1);
  assert.equal(r.lines.length, 1, JSON.stringify(r.lines));
  assert.match(
    r.lines[0] ?? "",
    /--leader-election-lease-duration must be greater than --leader-election-renew-deadline/,
  );
});

test("SIGTERM while the start waits on a silent API server ends the process at once", async (t) => {
  // Accepts connections and never answers: the first request hangs (until undici's connect timeout).
  const held: import("node:net").Socket[] = [];
  const silent = createServer((sock) => held.push(sock));
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    for (const s of held) s.destroy();
    silent.close();
  });
  const port = (silent.address() as { port: number }).port;
  const child = spawn(
    process.execPath,
    [
      "--disable-warning=ExperimentalWarning",
      MAIN,
      "run",
      `--kubeconfig=${kubeconfig(t, port)}`,
      "--metrics-bind-address=127.0.0.1:0",
      "--health-probe-bind-address=0",
    ],
    { stdio: ["ignore", "pipe", "ignore"] },
  );
  t.after(() => child.kill("SIGKILL"));
  // Wait until it is up to the first request (its metrics port is bound just before).
  await new Promise<void>((resolve) =>
    child.stdout.on("data", (d) => String(d).includes("listening") && resolve()),
  );
  for (const end = Date.now() + 5_000; held.length === 0 && Date.now() < end; )
    await new Promise((r) => setTimeout(r, 20));
  assert.ok(held.length > 0, "the start is waiting on the API server");
  const t0 = Date.now();
  child.kill("SIGTERM");
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on("exit", (c, s) => resolve([c, s])),
  );
  assert.equal(signal, null, "exited by itself");
  assert.equal(code, 0);
  assert.ok(Date.now() - t0 < 3_000, `exited ${Date.now() - t0} ms after SIGTERM`);
});
