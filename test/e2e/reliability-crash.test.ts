// The operator SIGKILLed at each step of a VaultDynamicSecret sync (issue 10,
// item 5), against OpenBao's database engine and PostgreSQL. Fault proxies of
// the test's own (test/support/fault-proxy.ts) sit between the operator and
// Vault and between the operator and the API server; each recognises one
// exchange of the sync and kills the operator at that moment:
//   vault     Vault answered the credentials read (the answer never reaches the operator)
//   issued    the ledger write recording the lease Vault just issued has been applied
//   written   the destination Secret write has been applied
//   status    the status write committing the sync is about to be sent
// After a restart: every live lease of the role is the one in the Secret and
// status (the others are revoked), the Secret's login works in PostgreSQL, and
// delete with revoke: true leaves 0 leases.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { CORE } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { dbSetup, spawnOperator, vds } from "../support/db.ts";
import { eventually, isolatedNamespace, pgQuery, type TestEnv, testEnv } from "../support/env.ts";
import {
  type Exchange,
  type FaultRule,
  startFaultProxy,
  startKubeFaultProxy,
} from "../support/fault-proxy.ts";
import { decoded, getStatus } from "../support/operator.ts";

interface Ledger {
  secretLease?: { id?: string };
  pendingRevocations?: { id: string; reason: string }[];
}

function statusIn(ex: Exchange): Ledger | undefined {
  try {
    return (JSON.parse(ex.requestBody) as { status?: Ledger }).status;
  } catch {
    return undefined;
  }
}

const statusWrite = (ns: string, ex: Exchange) =>
  ex.method === "PATCH" &&
  ex.path.startsWith(`/apis/secrets.hashicorp.com/v1beta1/namespaces/${ns}/vaultdynamicsecrets/creds/status`);

/** The steps at which the operator is killed, each as a proxy rule (without its action). */
const STEPS: Record<string, { proxy: "vault" | "kube"; rule: (ns: string) => Omit<FaultRule, "act"> }> = {
  vault: {
    proxy: "vault",
    rule: () => ({
      stage: "response",
      match: (ex) => ex.method === "GET" && ex.path.startsWith("/v1/database/creds/"),
    }),
  },
  issued: {
    proxy: "kube",
    rule: (ns) => ({
      stage: "response",
      match: (ex) =>
        statusWrite(ns, ex) && (statusIn(ex)?.pendingRevocations ?? []).some((p) => p.reason === "Issued"),
    }),
  },
  written: {
    proxy: "kube",
    rule: (ns) => ({
      stage: "response",
      match: (ex) =>
        !ex.path.includes("dryRun") &&
        ((ex.method === "POST" &&
          ex.path.split("?")[0] === `/api/v1/namespaces/${ns}/secrets` &&
          /"name":"creds"/.test(ex.requestBody)) ||
          (["PUT", "PATCH"].includes(ex.method) &&
            ex.path.split("?")[0] === `/api/v1/namespaces/${ns}/secrets/creds`)),
    }),
  },
  status: {
    proxy: "kube",
    rule: (ns) => ({
      stage: "request",
      match: (ex) => {
        const st = statusIn(ex);
        return (
          statusWrite(ns, ex) &&
          Boolean(st?.secretLease?.id) &&
          !(st?.pendingRevocations ?? []).some((p) => p.reason === "Issued")
        );
      },
    }),
  },
};

async function liveLeases(env: TestEnv, role: string): Promise<string[]> {
  const res = await env.vault.call<{ data?: { keys?: string[] } }>(
    "LIST",
    `sys/leases/lookup/database/creds/${role}`,
    { token: env.rootToken, accept: [404] },
  );
  return (res.json?.data?.keys ?? []).map((k) => `database/creds/${role}/${k}`);
}

async function killed(op: ChildProcess): Promise<void> {
  if (op.exitCode !== null || op.signalCode !== null) return;
  const exited = new Promise((r) => op.once("exit", r));
  op.kill("SIGKILL");
  await exited;
}

async function crashAt(t: TestContext, step: keyof typeof STEPS): Promise<void> {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, `crash-${step}`);
  const dir = mkdtempSync(join(tmpdir(), "vso-crash-"));
  const vault = await startFaultProxy(env.state.vault.address);
  const kube = await startKubeFaultProxy(env.state.kubeconfig, dir);
  t.after(async () => {
    await Promise.all([vault.close(), kube.proxy.close()]);
    rmSync(dir, { recursive: true, force: true });
  });
  // The operator reaches Vault (through the VaultConnection) and the API server only through the proxies.
  const viaProxies: TestEnv = {
    ...env,
    state: {
      ...env.state,
      kubeconfig: kube.kubeconfig,
      vault: { ...env.state.vault, address: vault.url },
    },
  };
  const { role } = await dbSetup(viaProxies, ns, "10m", "1h");
  let op = spawnOperator(viaProxies, ns);
  t.after(() => killed(op));

  const { proxy, rule } = STEPS[step];
  const fired = (proxy === "vault" ? vault : kube.proxy).arm({ ...rule(ns), act: () => killed(op) });
  await env.kube.create(VSO.VaultDynamicSecret, ns, vds("creds", { path: `creds/${role}`, revoke: true }));
  let timer: NodeJS.Timeout | undefined;
  const ex = await Promise.race([
    fired,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`step ${step} never seen: ${kube.proxy.seen.slice(-20).join("; ")}`)),
        90_000,
      );
    }),
  ]).finally(() => clearTimeout(timer)); // a pending timer would keep the test process alive
  const atKill = await liveLeases(env, role);
  const secretAtKill = await env.kube.getOrNull(CORE.secrets, ns, "creds");
  t.diagnostic(
    `${step}: killed at ${ex.method} ${ex.path.split("?")[0]}; live leases ${atKill.length}, Secret ${secretAtKill ? "written" : "absent"}`,
  );

  op = spawnOperator(viaProxies, ns);
  const settled = await eventually(
    "synced again with nothing left to revoke",
    async () => {
      const st = (await getStatus(env, "VaultDynamicSecret", ns, "creds")) as Ledger & {
        conditions?: { type: string; status: string }[];
      };
      const synced = st.conditions?.some((c) => c.type === "SecretSynced" && c.status === "True");
      const current = st.secretLease?.id;
      return synced && current && (st.pendingRevocations ?? []).length === 0 ? { current } : null;
    },
    90_000,
  );
  const live = await liveLeases(env, role);
  const leaked = live.filter((id) => id !== settled.current);
  t.diagnostic(
    `${step}: after restart ${live.length} live lease(s); ${atKill.filter((id) => !live.includes(id)).length} from before the kill revoked; leaked ${leaked.length}`,
  );
  assert.deepEqual(live, [settled.current], "the only live lease is the current one");
  const secret = decoded(await env.kube.get(CORE.secrets, ns, "creds"));
  assert.ok(
    (await pgQuery(env, secret.username, secret.password, "SELECT 1")).ok,
    "the Secret's login works",
  );

  await env.kube.delete(VSO.VaultDynamicSecret, ns, "creds");
  await eventually("0 leases after delete", async () => (await liveLeases(env, role)).length === 0, 30_000);
  assert.equal((await pgQuery(env, secret.username, secret.password, "SELECT 1")).ok, false, "login revoked");
}

/** Why a step fails today; a step listed here runs as a todo test. */
const KNOWN_DEFECTS: Partial<Record<keyof typeof STEPS, string>> = {
  vault:
    "defect: the operator killed after Vault issued a lease but before the response reached it leaves that lease alive until its TTL: nothing recorded it, and the operator cannot list the role's leases",
};

// One step after the other: four operators starting at once on a busy machine are slower than in turn.
for (const step of Object.keys(STEPS) as (keyof typeof STEPS)[]) {
  test(
    `SIGKILL at step "${step}" of a dynamic sync: 0 leases leaked, the Secret valid, 0 after delete`,
    {
      todo: KNOWN_DEFECTS[step],
    },
    (t) => crashAt(t, step),
  );
}
