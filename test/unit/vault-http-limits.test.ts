// A VaultConnection's address is a tenant's choice: a "Vault" that streams an
// endless body is cut off at VAULT_RESPONSE_MAX_BYTES with an error naming
// the address, instead of filling the operator's memory (issue 22).
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { VAULT_RESPONSE_MAX_BYTES, VaultHttp, VaultResponseTooLargeError } from "../../src/vault/http.ts";

test("an endless response body is cut off at the cap, naming the address", async (t) => {
  let sent = 0;
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const pump = () => {
      while (sent < 4 * VAULT_RESPONSE_MAX_BYTES) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once("drain", pump);
      }
      res.end();
    };
    res.on("error", () => {});
    pump();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => server.close());
  const address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const http = new VaultHttp({ address });
  await assert.rejects(http.call("GET", "secret/data/x"), (err: unknown) => {
    assert.ok(err instanceof VaultResponseTooLargeError);
    assert.match(err.message, new RegExp(`from ${address} exceeds 16 MiB`));
    return true;
  });
  assert.ok(sent < 2 * VAULT_RESPONSE_MAX_BYTES, `the server was stopped early (${sent} bytes sent)`);
});

test("a response within the cap is read whole", async (t) => {
  const body = JSON.stringify({ data: { big: "x".repeat(1024 * 1024) } });
  const server = createServer((_req, res) => res.end(body));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => server.close());
  const http = new VaultHttp({ address: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  const res = await http.call<{ data: { big: string } }>("GET", "x");
  assert.equal(res.json?.data.big.length, 1024 * 1024);
});
