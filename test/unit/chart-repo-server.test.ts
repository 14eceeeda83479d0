// The playground's chart repository server: it serves the files of its
// directory and nothing else (no path outside it, no hidden file).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startDaemon, stopAll } from "../../src/dev/processes.ts";
import { waitHealthy } from "../../src/dev/wait.ts";
import { freePort } from "../../src/util/net.ts";

const SERVER = join(import.meta.dirname, "..", "..", "src", "dev", "walkthrough", "chart-repo-server.ts");

/** A raw GET, so that "../" reaches the server as written (fetch would resolve it). */
function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: "127.0.0.1", port, path }, (res) => {
      let body = "";
      res.on("data", (c) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on("error", reject)
      .end();
  });
}

test("the chart repository serves its directory's files and nothing else", async (t) => {
  const state = mkdtempSync(join(tmpdir(), "vso-chart-repo-"));
  t.after(async () => {
    await stopAll(state);
    rmSync(state, { recursive: true, force: true });
  });
  const repo = join(state, "repo");
  mkdirSync(repo);
  writeFileSync(join(repo, "index.yaml"), "apiVersion: v1\nentries: {}\n");
  writeFileSync(join(repo, "chart-0.1.0.tgz"), "not really gzip");
  writeFileSync(join(repo, ".hidden"), "private");
  writeFileSync(join(state, "outside.txt"), "private");
  const port = await freePort();
  const proc = startDaemon(state, {
    name: "chart-repo",
    command: process.execPath,
    args: ["--disable-warning=ExperimentalWarning", SERVER, repo, "127.0.0.1", String(port)],
  });
  await waitHealthy(
    "chart repository",
    proc,
    async () => (await get(port, "/index.yaml")).status === 200,
    15_000,
  );

  assert.deepEqual(await get(port, "/index.yaml"), { status: 200, body: "apiVersion: v1\nentries: {}\n" });
  assert.equal((await get(port, "/chart-0.1.0.tgz")).body, "not really gzip");
  for (const path of [
    "/../outside.txt",
    "/%2e%2e/outside.txt",
    "/%2e%2e%2foutside.txt",
    "/.hidden",
    "/",
    "/nope.tgz",
  ]) {
    const res = await get(port, path);
    assert.equal(res.status, 404, path);
    assert.doesNotMatch(res.body, /private/, path);
  }
});
