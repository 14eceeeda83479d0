// The Kubernetes client's transport: watch lines decoded with a streaming UTF-8
// decoder (issue 10, defect 4) and a broken connection pool replaced so one
// failed request cannot stop the others (defect 3).
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { KubeClient, LineDecoder } from "../../src/kube/client.ts";

test("a multi-byte character split across chunks is decoded whole", () => {
  const text = '{"a":"한글 🔐 ü"}\n{"b":"ok"}\n';
  const bytes = new TextEncoder().encode(text);
  // Split at every byte offset, so some split falls inside every multi-byte character.
  for (let cut = 1; cut < bytes.length; cut++) {
    const d = new LineDecoder();
    const lines = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut)), ...d.end()];
    assert.deepEqual(lines, ['{"a":"한글 🔐 ü"}', '{"b":"ok"}'], `cut at byte ${cut}`);
  }
});

test("one byte per chunk still yields the exact text, and a last line without newline is kept", () => {
  const text = "🔐🔐\n\n  é  \nend";
  const d = new LineDecoder();
  const lines: string[] = [];
  for (const b of new TextEncoder().encode(text)) lines.push(...d.push(Uint8Array.of(b)));
  lines.push(...d.end());
  assert.deepEqual(lines, ["🔐🔐", "é", "end"]);
  assert.ok(!lines.join("").includes("\ufffd"));
});

test("a request whose connection breaks replaces the pool; later requests succeed", async (t) => {
  const server = createServer((req, res) => {
    if (req.url?.startsWith("/api/v1/namespaces/x/secrets/broken")) {
      req.socket.destroy(); // the transport fails, not the HTTP exchange
      return;
    }
    res.setHeader("content-type", "application/json");
    if (req.url?.endsWith("/missing")) {
      res.statusCode = 404;
      res.end(JSON.stringify({ kind: "Status", reason: "NotFound", message: "not found" }));
      return;
    }
    res.end(JSON.stringify({ metadata: { name: "fine" } }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => server.close());
  const kube = KubeClient.fromConnection({
    server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tls: { rejectUnauthorized: false },
    authHeaders: async () => ({}),
  });
  t.after(() => kube.close());
  const rt = { group: "", version: "v1", plural: "secrets", kind: "Secret", namespaced: true };
  await assert.rejects(kube.get(rt, "x", "broken"));
  assert.equal(kube.transportResets, 1);
  assert.equal((await kube.get(rt, "x", "fine")).metadata.name, "fine");
  // An HTTP error status is not a transport failure: the pool stays.
  assert.equal(await kube.getOrNull(rt, "x", "missing"), null);
  assert.equal(kube.transportResets, 1);
});
