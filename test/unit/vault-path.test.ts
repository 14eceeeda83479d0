// Vault URLs built from user input stay under their mount and never gain a
// query string or fragment (issue 10, defect 10).
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { ConfigurationError } from "../../src/runtime/errors.ts";
import { VaultHttp } from "../../src/vault/http.ts";
import { encodeVaultPath, VaultPathError } from "../../src/vault/path.ts";

test("ordinary paths are unchanged", () => {
  assert.equal(encodeVaultPath("kv/data/app/config"), "kv/data/app/config");
  assert.equal(encodeVaultPath("/pki/issue/web-role"), "pki/issue/web-role");
  assert.equal(encodeVaultPath("kv/metadata/"), "kv/metadata/", "a trailing slash (LIST) is kept");
  assert.equal(encodeVaultPath("kv//data///x"), "kv/data/x", "empty segments collapse");
  assert.equal(encodeVaultPath("db/creds/my_role-1.2"), "db/creds/my_role-1.2");
});

test("'?', '#', '%' and spaces are encoded inside their segment, never URL syntax", () => {
  assert.equal(encodeVaultPath("kv/data/a?version=1"), "kv/data/a%3Fversion%3D1");
  assert.equal(encodeVaultPath("kv/data/a#frag"), "kv/data/a%23frag");
  assert.equal(encodeVaultPath("kv/data/50%/x y"), "kv/data/50%25/x%20y");
  assert.equal(encodeVaultPath("kv/data/한"), "kv/data/%ED%95%9C");
});

for (const bad of [
  "kv/data/../../sys/mounts",
  "kv/data/./x",
  "..",
  "kv/data/x/..",
  "kv/a\nb",
  "kv/\u0000",
  "",
  "/",
]) {
  test(`${JSON.stringify(bad)} is refused as a configuration error`, () => {
    assert.throws(
      () => encodeVaultPath(bad),
      (e: unknown) => e instanceof VaultPathError && e instanceof ConfigurationError,
    );
  });
}

test("the HTTP layer sends the encoded path and queries only from the query option", async (t) => {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(req.url ?? "");
    res.setHeader("content-type", "application/json");
    res.end("{}");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => server.close());
  const http = new VaultHttp({ address: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  await http.call("GET", "kv/data/a?b#c", { query: { version: "3" } });
  await http.call("LIST", "kv/metadata/");
  await assert.rejects(http.call("GET", "kv/data/../../sys/mounts"), VaultPathError);
  assert.deepEqual(seen, ["/v1/kv/data/a%3Fb%23c?version=3", "/v1/kv/metadata/?list=true"]);
});
