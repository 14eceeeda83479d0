// Destination data built from Vault keys (issue 10, defects 3 and 9): keys such
// as __proto__ are ordinary keys, and data a Secret cannot hold is refused
// before anything is sent.
import assert from "node:assert/strict";
import { test } from "node:test";
import { secretDataMAC } from "../../src/operator/hmac.ts";
import {
  buildSecretData,
  fromSecretData,
  MAX_SECRET_DATA_BYTES,
  SecretDataError,
  toSecretData,
} from "../../src/operator/secret-data.ts";
import { renderGoTemplates } from "../../src/operator/templates.ts";
import { parseJsonKeepingNumbers } from "../../src/util/gojson.ts";

const noFilter = { includes: [], excludes: [] };
const PROTO = "__proto__";

test("keys named __proto__, constructor and toString survive every step to the Secret", () => {
  // Vault's JSON, parsed as the Vault client parses it.
  const secrets = parseJsonKeepingNumbers(
    '{"__proto__":"p","constructor":"c","toString":"t","plain":"x"}',
  ) as Record<string, unknown>;
  const data = buildSecretData({ secrets, raw: secrets, filter: noFilter, excludeRaw: true });
  assert.deepEqual(Object.keys(data).sort(), ["__proto__", "constructor", "plain", "toString"]);
  assert.equal(data[PROTO].toString(), "p");
  const wire = toSecretData(data);
  assert.equal(JSON.parse(JSON.stringify(wire))[PROTO], Buffer.from("p").toString("base64"));
  const back = fromSecretData(JSON.parse(JSON.stringify(wire)));
  assert.deepEqual(Object.keys(back).sort(), ["__proto__", "constructor", "plain", "toString"]);
  // The MAC covers the key too: dropping it would change the MAC.
  const key = Buffer.alloc(16, 1);
  const withoutProto = buildSecretData({
    secrets: { constructor: "c", toString: "t", plain: "x" },
    raw: {},
    filter: noFilter,
    excludeRaw: true,
  });
  assert.notEqual(secretDataMAC(key, data), secretDataMAC(key, withoutProto));
});

test("a template named __proto__ renders into a key named __proto__", () => {
  const out = renderGoTemplates({
    data: { Secrets: { a: "1" }, Metadata: {}, Annotations: {}, Labels: {} },
    templates: [{ key: "__proto__", name: "t", text: "v={{ .Secrets.a }}" }],
    sourceTemplates: [],
  } as unknown as Parameters<typeof renderGoTemplates>[0]);
  assert.deepEqual(Object.keys(out), ["__proto__"]);
  assert.equal(out[PROTO], "v=1");
});

test("data over 1 MiB is a configuration error naming the destination, at build and at write", () => {
  const big = "x".repeat(MAX_SECRET_DATA_BYTES);
  assert.throws(
    () => buildSecretData({ secrets: { a: big, b: "y" }, raw: {}, filter: noFilter, excludeRaw: true }),
    (e: unknown) =>
      e instanceof SecretDataError && e.field === "spec.destination" && /1048576/.test(e.message),
  );
  // Exactly 1 MiB fits.
  assert.equal(
    buildSecretData({ secrets: { a: big }, raw: {}, filter: noFilter, excludeRaw: true }).a.length,
    MAX_SECRET_DATA_BYTES,
  );
  assert.throws(() => toSecretData({ a: Buffer.from(big), b: Buffer.from("y") }), SecretDataError);
});

test("the size error does not carry the secret's value", () => {
  const big = `SENTINEL${"z".repeat(MAX_SECRET_DATA_BYTES)}`;
  try {
    buildSecretData({ secrets: { a: big }, raw: {}, filter: noFilter, excludeRaw: true });
    assert.fail("expected an error");
  } catch (e) {
    assert.ok(!(e as Error).message.includes("SENTINEL"));
    assert.ok(!(e as Error).message.includes("zzzz"));
  }
});
