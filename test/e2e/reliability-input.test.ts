// Issue 10, defects 4 and 9, against the real API server and OpenBao:
// non-ASCII text large enough to span watch chunks arrives byte-identical;
// Vault keys named __proto__ and constructor reach the Secret. (Defect 10,
// Vault paths leaving their mount or becoming a query string, is covered by
// the hostile-input table: test/support/hostile-inputs.ts.)
import assert from "node:assert/strict";
import { test } from "node:test";
import { VSO } from "../../src/operator/resources.ts";
import { eventually, isolatedNamespace, testEnv } from "../support/env.ts";
import {
  decoded,
  defaultConnectionAndAuth,
  kvPut,
  startOperator,
  vaultRoleFor,
  waitForSecret,
} from "../support/operator.ts";

const API = "secrets.hashicorp.com/v1beta1";

function vssObject(name: string, spec: Record<string, unknown>) {
  return {
    apiVersion: API,
    kind: "VaultStaticSecret",
    metadata: { name },
    spec: { mount: "secret", type: "kv-v2", destination: { name, create: true }, ...spec },
  };
}

async function setup(t: import("node:test").TestContext, prefix: string) {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, prefix);
  await defaultConnectionAndAuth(env, ns, await vaultRoleFor(env, ns));
  await startOperator(t, env, { namespaces: [ns] });
  return { env, ns };
}

/** `n` characters of Korean and emoji (3 and 4 bytes each in UTF-8), varied so every chunk boundary lands differently. */
function multibyte(n: number, seed: string): string {
  const alphabet = [..."한국어텍스트🔐🙂🚀가나다라마바사é"];
  let s = seed;
  for (let i = 0; s.length < n; i++) s += alphabet[(i * 7 + seed.length) % alphabet.length];
  return s;
}

test("non-ASCII annotations and templates spanning watch chunks arrive byte-identical", async (t) => {
  const { env, ns } = await setup(t, "rel-utf8");
  await kvPut(env, `${ns}/app`, { v: "값🔑" });
  const note1 = multibyte(60_000, "a");
  const text1 = multibyte(40_000, "b");
  // Created after the operator started, so the resource reaches it through the watch.
  await env.kube.create(
    VSO.VaultStaticSecret,
    ns,
    vssObject("utf8", {
      path: `${ns}/app`,
      destination: {
        name: "utf8",
        create: true,
        annotations: { note: note1 },
        transformation: { templates: { out: { text: `${text1}{{ .Secrets.v }}` } } },
      },
    }),
  );
  const s1 = await waitForSecret(env, ns, "utf8");
  const ann1 = (s1.metadata as { annotations?: Record<string, string> }).annotations?.note ?? "";
  assert.ok(!ann1.includes("\ufffd"), "no replacement character in the annotation");
  assert.ok(Buffer.from(ann1).equals(Buffer.from(note1)), "annotation byte-identical");
  assert.ok(
    Buffer.from(decoded(s1).out).equals(Buffer.from(`${text1}값🔑`)),
    "template output byte-identical",
  );

  // An update arrives through the watch too.
  const note2 = multibyte(70_000, "cc");
  // Read-modify-write, again on a conflict (the operator writes the object too).
  await eventually("the update accepted", async () => {
    const live = (await env.kube.get(VSO.VaultStaticSecret, ns, "utf8")) as unknown as {
      spec: { destination: { annotations: Record<string, string> } };
    };
    live.spec.destination.annotations.note = note2;
    await env.kube.replace(VSO.VaultStaticSecret, ns, "utf8", live);
    return true;
  });
  const s2 = await waitForSecret(
    env,
    ns,
    "utf8",
    (s) =>
      (s.metadata as { annotations?: Record<string, string> }).annotations?.note?.startsWith("cc") === true,
  );
  const ann2 = (s2.metadata as { annotations?: Record<string, string> }).annotations?.note ?? "";
  assert.ok(Buffer.from(ann2).equals(Buffer.from(note2)), "updated annotation byte-identical");
});

test("Vault keys named __proto__ and constructor reach the destination Secret", async (t) => {
  const { env, ns } = await setup(t, "rel-proto");
  // JSON text, so __proto__ is an ordinary key of the request body.
  await env.vault.call("POST", `secret/data/${ns}/proto`, {
    token: env.rootToken,
    body: JSON.parse('{"data":{"__proto__":"p-value","constructor":"c-value","plain":"x"}}'),
  });
  await env.kube.create(VSO.VaultStaticSecret, ns, vssObject("proto", { path: `${ns}/proto` }));
  const s = await waitForSecret(env, ns, "proto");
  // The Secret as parsed from the API server's JSON (own properties, whatever their names).
  const data = new Map(
    Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]),
  );
  assert.deepEqual([...data.keys()].sort(), ["__proto__", "_raw", "constructor", "plain"]);
  assert.equal(data.get("__proto__"), "p-value");
  assert.equal(data.get("constructor"), "c-value");
});
