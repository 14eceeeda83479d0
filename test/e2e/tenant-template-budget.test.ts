// Issue 22, item 2: a namespace tenant cannot stall the operator with a
// template. Before the execution budget, a VaultStaticSecret whose template
// was two nested `range (until 900000)` froze the event loop: no Vault change
// reached any other resource and /healthz stopped answering. Here stalling
// templates in one namespace sit beside a healthy VaultStaticSecret in another;
// the healthy one keeps delivering Vault changes within seconds, each stalling
// one gets SecretSynced=False and a Warning Event naming its template and the
// budget, and /healthz answers every probe throughout.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";
import { CORE } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { MAX_TEMPLATE_MILLIS, MAX_TEMPLATE_STEPS } from "../../src/template/index.ts";
import { isolatedNamespace, type TestEnv, testEnv } from "../support/env.ts";
import {
  decoded,
  defaultConnectionAndAuth,
  eventsFor,
  kvPut,
  startOperator,
  vaultRoleFor,
  waitForCondition,
  waitForSecret,
} from "../support/operator.ts";

const API = "secrets.hashicorp.com/v1beta1";

/** Templates that ran for hours (or grew to gigabytes) before the budget. */
const STALLING: Record<string, string> = {
  "nested-range": "{{ range until 900000 }}{{ range until 900000 }}{{ end }}{{ end }}",
  "nested-print": "{{ range $i := until 400000 }}{{ range until 400000 }}{{ $i }}{{ end }}{{ end }}",
  doubling: "{{ $x := list 1 }}{{ range until 40 }}{{ $x = list $x $x }}{{ end }}{{ toJson $x }}",
  bcrypt: '{{ range until 100000 }}{{ bcrypt "x" }}{{ end }}',
};

const budgetExceeded = new RegExp(
  `template execution budget exceeded: more than (${MAX_TEMPLATE_STEPS} steps|${MAX_TEMPLATE_MILLIS} ms)`,
);

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const { port } = srv.address() as { port: number };
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

async function vss(env: TestEnv, ns: string, name: string, spec: Record<string, unknown>) {
  await env.kube.create(VSO.VaultStaticSecret, ns, {
    apiVersion: API,
    kind: "VaultStaticSecret",
    metadata: { name },
    spec: {
      mount: "secret",
      type: "kv-v2",
      refreshAfter: "1s",
      destination: { name, create: true },
      ...spec,
    },
  });
}

/** Probes /healthz every 100 ms until stopped: the slowest answer and the probes that got none. */
function probeHealth(url: string) {
  const result = { probes: 0, failures: [] as string[], slowestMs: 0 };
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const start = performance.now();
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
        await res.text();
        if (res.status !== 200) result.failures.push(`HTTP ${res.status}`);
      } catch (err) {
        result.failures.push(String(err));
      }
      result.probes++;
      result.slowestMs = Math.max(result.slowestMs, performance.now() - start);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    result,
    async stop() {
      stopped = true;
      await done;
      return result;
    },
  };
}

test("stalling templates in one namespace: another keeps syncing, /healthz keeps answering", async (t) => {
  const env = await testEnv();
  const nsOk = await isolatedNamespace(t, env, "tb-ok");
  const nsBad = await isolatedNamespace(t, env, "tb-bad");
  await defaultConnectionAndAuth(env, nsOk, await vaultRoleFor(env, nsOk));
  await env.kube.create(VSO.VaultAuth, nsBad, {
    apiVersion: API,
    kind: "VaultAuth",
    metadata: { name: "tenant" },
    spec: {
      method: "kubernetes",
      mount: "kubernetes",
      kubernetes: { role: await vaultRoleFor(env, nsBad), serviceAccount: "app" },
    },
  });
  const port = await freePort();
  await startOperator(t, env, {
    namespaces: [nsOk, nsBad],
    operatorNamespace: nsOk,
    args: [`--health-probe-bind-address=127.0.0.1:${port}`],
  });

  await kvPut(env, `${nsOk}/app`, { v: "v0" });
  await kvPut(env, `${nsBad}/app`, { v: "tenant" });
  await vss(env, nsOk, "healthy", { path: `${nsOk}/app` });
  await waitForSecret(env, nsOk, "healthy", (s) => decoded(s).v === "v0");

  const health = probeHealth(`http://127.0.0.1:${port}/healthz`);
  t.after(() => health.stop());
  for (const [name, text] of Object.entries(STALLING)) {
    await vss(env, nsBad, name, {
      vaultAuthRef: "tenant",
      path: `${nsBad}/app`,
      destination: { name, create: true, transformation: { templates: { out: { text } } } },
    });
  }

  // Each stalling resource is told which template and which budget.
  for (const name of Object.keys(STALLING)) {
    const c = await waitForCondition(
      env,
      "VaultStaticSecret",
      nsBad,
      name,
      "SecretSynced",
      "False",
      budgetExceeded,
    );
    assert.match(c.message, /^spec\.destination\.transformation\.templates\.out: template error: /);
    assert.match(c.message, new RegExp(`executing "${nsBad}/${name}/out"`));
    const events = await eventsFor(env, nsBad, name);
    assert.ok(
      events.some(
        (e) =>
          e.type === "Warning" &&
          budgetExceeded.test(e.message ?? "") &&
          e.message?.includes(`${nsBad}/${name}/out`),
      ),
      `a Warning Event for ${name} names the template and the budget`,
    );
  }

  // Vault changes keep reaching the healthy resource while the stalling ones are retried.
  const delays: number[] = [];
  for (let i = 1; i <= 4; i++) {
    const start = Date.now();
    await kvPut(env, `${nsOk}/app`, { v: `v${i}` });
    await waitForSecret(env, nsOk, "healthy", (s) => decoded(s).v === `v${i}`, 15_000);
    delays.push(Date.now() - start);
  }
  const probed = await health.stop();
  t.diagnostic(
    `healthy resource: Vault changes delivered in ${delays.join(", ")} ms; /healthz: ${probed.probes} probes, ` +
      `slowest ${Math.round(probed.slowestMs)} ms, ${probed.failures.length} unanswered`,
  );
  for (const d of delays) assert.ok(d < 10_000, `a Vault change took ${d} ms to arrive`);
  assert.deepEqual(probed.failures, [], "every /healthz probe answered");
  assert.ok(probed.probes >= 20, `${probed.probes} probes`);
  // Each render stops within the time budget; a probe may wait for the four stalling
  // renders queued before it, no longer.
  const bound = Object.keys(STALLING).length * MAX_TEMPLATE_MILLIS + 1000;
  assert.ok(probed.slowestMs < bound, `slowest /healthz answer ${Math.round(probed.slowestMs)} ms`);

  // No Secret was written for any stalling resource.
  for (const name of Object.keys(STALLING)) {
    assert.equal(await env.kube.getOrNull(CORE.secrets, nsBad, name), null, `no Secret ${name}`);
  }
});
