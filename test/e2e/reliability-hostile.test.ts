// Issue 10, item 5: the table of hostile inputs (test/support/hostile-inputs.ts)
// against the real API server, OpenBao and one operator. Each input is either
// refused at apply with a message naming the field, or accepted and reported
// in a condition (or status.error) naming the field; meanwhile a healthy
// VaultStaticSecret in the same namespace keeps propagating Vault changes, and
// a Secret the operator does not own stays untouched.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CORE, KubeApiError } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { isolatedNamespace, testEnv } from "../support/env.ts";
import { HOSTILE_INPUTS, type HostileContext, type Kind, type Manifest } from "../support/hostile-inputs.ts";
import {
  decoded,
  defaultConnectionAndAuth,
  kvPut,
  startOperator,
  vaultRoleFor,
  waitForSecret,
} from "../support/operator.ts";

interface Observed {
  conditions?: { type: string; status: string; message: string }[];
  error?: string;
}

/** What the object's status says is wrong: the messages of its False conditions and status.error. */
function complaints(status: Observed | undefined): string[] {
  const out = (status?.conditions ?? [])
    .filter((c) => c.status === "False")
    .map((c) => `${c.type}: ${c.message}`);
  if (status?.error) out.push(`error: ${status.error}`);
  return out;
}

test("hostile inputs of every kind: refused or reported naming the field; the healthy resource keeps syncing", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "hostile");
  await defaultConnectionAndAuth(env, ns, await vaultRoleFor(env, ns));
  const ctx: HostileContext = { ns, vaultAddress: env.state.vault.address, kvPath: `${ns}/app` };
  await kvPut(env, ctx.kvPath, { v: "one" });
  const ids = new Set(HOSTILE_INPUTS.map((h) => h.id));
  assert.equal(ids.size, HOSTILE_INPUTS.length, "ids are unique");
  const kinds = new Set(HOSTILE_INPUTS.map((h) => h.kind));
  assert.equal(kinds.size, 7, "every kind is attacked");

  const create = (kind: Kind | "Secret", obj: Manifest) =>
    env.kube.create(kind === "Secret" ? CORE.secrets : VSO[kind], ns, obj);

  // Apply-time refusals need no operator.
  const atApply = HOSTILE_INPUTS.filter((h) => h.expect.at === "apply");
  const refusals = await Promise.all(
    atApply.map(async (h) => {
      try {
        await create(h.kind, h.object(ctx));
        return `${h.id}: accepted`;
      } catch (err) {
        if (!(err instanceof KubeApiError) || err.status !== 422) return `${h.id}: ${String(err)}`;
        return h.expect.field.test(err.message) ? undefined : `${h.id}: ${err.message}`;
      }
    }),
  );
  assert.deepEqual(
    refusals.filter((r) => r !== undefined),
    [],
    "every apply-time input is refused with a 422 naming the field",
  );
  // The rules refuse only what they should: an ordinary path with dots in its names is accepted.
  await create("VaultStaticSecret", {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultStaticSecret",
    metadata: { name: "dotted-path" },
    spec: {
      mount: "secret",
      type: "kv-v2",
      path: "team/app.v1/config",
      destination: { name: "dotted-path" },
    },
  });

  // The rest all at once, with one operator, next to a healthy resource.
  const atRuntime = HOSTILE_INPUTS.filter((h) => h.expect.at === "status");
  for (const h of atRuntime) for (const c of h.companions?.(ctx) ?? []) await create(c.kind, c.object);
  await startOperator(t, env, { namespaces: [ns] });
  await env.kube.create(VSO.VaultStaticSecret, ns, {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultStaticSecret",
    metadata: { name: "healthy" },
    spec: {
      mount: "secret",
      type: "kv-v2",
      path: ctx.kvPath,
      refreshAfter: "1s",
      destination: { name: "healthy", create: true },
    },
  });
  await Promise.all(atRuntime.map((h) => create(h.kind, h.object(ctx))));
  await waitForSecret(env, ns, "healthy", (s) => decoded(s).v === "one", 30_000);

  const pending = new Map(atRuntime.map((h) => [h.id, h]));
  const last = new Map<string, string[]>();
  const deadline = Date.now() + 60_000;
  while (pending.size > 0 && Date.now() < deadline) {
    await Promise.all(
      [...pending.values()].map(async (h) => {
        if (h.expect.at !== "status") return;
        const target = h.expect.observe ?? { kind: h.kind, name: h.id };
        const obj = (await env.kube.getOrNull(VSO[target.kind], ns, target.name)) as {
          status?: Observed;
        } | null;
        const said = complaints(obj?.status);
        last.set(h.id, said);
        if (said.some((m) => h.expect.field.test(m))) pending.delete(h.id);
      }),
    );
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 500));
  }
  assert.deepEqual(
    [...pending.keys()].map((id) => `${id}: ${JSON.stringify(last.get(id) ?? [])}`),
    [],
    "every accepted input is reported naming the field",
  );

  // The healthy resource kept syncing through all of it.
  await kvPut(env, ctx.kvPath, { v: "two" });
  await waitForSecret(env, ns, "healthy", (s) => decoded(s).v === "two", 30_000);
  assert.deepEqual(
    decoded(await env.kube.get(CORE.secrets, ns, "foreign")),
    { keep: "me" },
    "foreign Secret untouched",
  );
  t.diagnostic(
    `hostile inputs: ${HOSTILE_INPUTS.length} across ${kinds.size} kinds; ${atApply.length} refused at apply, ` +
      `${atRuntime.length} reported in status, all naming the field; the healthy resource kept syncing`,
  );
});
