// status.secretMAC must be byte-identical to VSO's: checked against Go's own
// encoding/json and crypto/hmac (test/oracles/hmac).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { secretDataMAC } from "../../src/operator/hmac.ts";
import { goMarshalBytesMap } from "../../src/util/gojson.ts";
import { GO_ORACLES, goOracle, runOracle } from "../support/go-oracle.ts";

function vectors(): { key: Buffer; data: Record<string, Buffer> }[] {
  const out: { key: Buffer; data: Record<string, Buffer> }[] = [
    { key: Buffer.alloc(16, 1), data: {} },
    { key: Buffer.alloc(16, 2), data: { username: Buffer.from("myapp"), password: Buffer.from("s3cr3t") } },
    {
      key: Buffer.alloc(16, 3),
      data: { "b.key": Buffer.from(""), "a-key": Buffer.from([0, 255, 10]), _raw: Buffer.from('{"a":1}') },
    },
    // Keys Go escapes or orders differently from UTF-16 order.
    {
      key: Buffer.alloc(16, 4),
      data: {
        "<tag>&": Buffer.from("x"),
        "\u2028": Buffer.from("y"),
        é: Buffer.from("z"),
        "😀": Buffer.from("w"),
        "\uffff": Buffer.from("v"),
        'k"q\\': Buffer.from("u"),
        "ctl\u0001": Buffer.from("t"),
      },
    },
  ];
  for (let i = 0; i < 40; i++) {
    const data: Record<string, Buffer> = {};
    for (let j = 0; j < 1 + (i % 7); j++)
      data[`k${randomBytes(3).toString("hex")}.${j}`] = randomBytes(i * 3);
    out.push({ key: randomBytes(16), data });
  }
  return out;
}

test("secretMAC and its JSON input match Go byte for byte", () => {
  const bin = goOracle(GO_ORACLES.hmac);
  const vs = vectors();
  const input = vs
    .map((v) =>
      JSON.stringify({
        key: v.key.toString("base64"),
        data: Object.fromEntries(Object.entries(v.data).map(([k, b]) => [k, b.toString("base64")])),
      }),
    )
    .join("\n");
  const lines = runOracle(bin, `${input}\n`).trim().split("\n");
  assert.equal(lines.length, vs.length);
  vs.forEach((v, i) => {
    const [mac, msg] = lines[i].split(" ");
    assert.equal(Buffer.from(goMarshalBytesMap(v.data)).toString("base64"), msg, `JSON of vector ${i}`);
    assert.equal(secretDataMAC(v.key, v.data), mac, `MAC of vector ${i}`);
  });
});

test("a known vector", () => {
  // Computed once with the Go oracle: key = 16 bytes of 0x02, data {password: s3cr3t, username: myapp}.
  const mac = secretDataMAC(Buffer.alloc(16, 2), {
    username: Buffer.from("myapp"),
    password: Buffer.from("s3cr3t"),
  });
  assert.equal(
    goMarshalBytesMap({ username: Buffer.from("myapp"), password: Buffer.from("s3cr3t") }),
    '{"password":"czNjcjN0","username":"bXlhcHA="}',
  );
  assert.equal(mac, "fY0ow/v91+fLKykY8qv5rjOSwcxWfdwWqHpeDOUCMGA=");
});
