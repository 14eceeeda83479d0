// VaultDynamicSecret cannot leak credentials (issue 10, defects 1, 5, 6, 8),
// proven against OpenBao's database engine and PostgreSQL: live leases are
// counted with sys/leases/lookup and live logins with pg_roles.
// 1. A destination that cannot be written (not owned with overwrite: false, a
//    name the API server refuses) or a template that does not parse asks
//    Vault for nothing; a template that fails on the real data gets one lease,
//    revoked at once, and no more for the same inputs, not even from an
//    operator restarted after it (the hold is a status condition).
// 5. A lease replaced under revoke: true is recorded in status; the operator
//    SIGKILLed during the grace period and restarted still revokes it. A lease
//    a crash left "Issued" (obtained, never committed) is revoked at the next
//    start and the destination synced anew; delete revokes every recorded lease.
// 6. A template error on a secret value leaks no fragment of it to the
//    condition, the Events or the operator log.
// 8. allowStaticCreds on a dynamic role: one lease, revoked at once, a
//    condition naming the field, and no more leases.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { describe, type TestContext, test } from "node:test";
import { CORE } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { dbSetup, leaseCount, spawnOperator, vds } from "../support/db.ts";
import { eventually, isolatedNamespace, pgQuery, type TestEnv, testEnv } from "../support/env.ts";
import {
  decoded,
  defaultConnectionAndAuth,
  eventsFor,
  getStatus,
  kvPut,
  plantPendingRevocations,
  startOperator,
  vaultRoleFor,
  waitForCondition,
  waitForSecret,
} from "../support/operator.ts";

/**
 * Logins Vault created in PostgreSQL for `role` and has not dropped yet. The
 * username template keeps the role name's first 8 characters, which differ
 * between the tests of this file (other tests' leases expire on their own time).
 */
async function vaultLogins(env: TestEnv, role: string): Promise<number> {
  const like = `v-%${role.slice(0, 8)}%`;
  const r = await pgQuery(
    env,
    "vaultadmin",
    "vaultpassword",
    `SELECT count(*) FROM pg_roles WHERE rolname LIKE '${like}'`,
  );
  if (!r.ok) throw new Error(r.error);
  return Number(r.output);
}

/** Samples `fn` every second for `ms` and returns the largest value seen. */
async function maxOver(ms: number, fn: () => Promise<number>): Promise<number> {
  let max = 0;
  const end = Date.now() + ms;
  while (Date.now() < end) {
    max = Math.max(max, await fn());
    await new Promise((r) => setTimeout(r, 1000));
  }
  return max;
}

async function revokeEvents(env: TestEnv, ns: string, name: string): Promise<number> {
  return (await eventsFor(env, ns, name)).filter((e) => /^Revoked lease /.test(e.message ?? "")).length;
}

// The cases are independent (own namespace and role, own operator watching only it) and mostly wait on retries and grace periods, so they run side by side.
describe("credential leaks: VaultDynamicSecret", { concurrency: true }, () => {
  test("#1: preconditions before Vault, and a post-issue failure revokes its lease and asks for no more", async (t: TestContext) => {
    const env = await testEnv();
    const ns = await isolatedNamespace(t, env, "pre");
    const { role } = await dbSetup(env, ns, "10m", "1h");
    const loginsBefore = await vaultLogins(env, role);
    await env.kube.create(CORE.secrets, ns, { metadata: { name: "taken" }, stringData: { keep: "me" } });
    await startOperator(t, env, { namespaces: [ns] });
    const path = `creds/${role}`;
    const withTemplate = (name: string, text: string) =>
      vds(name, {
        path,
        revoke: true,
        destination: { name, create: true, transformation: { templates: { out: { text } } } },
      });
    const resources = [
      vds("taken", { path, revoke: true }),
      vds("badname", { path, revoke: true, destination: { name: "Bad_Name", create: true } }),
      vds("badlabel", {
        path,
        revoke: true,
        destination: { name: "badlabel", create: true, labels: { "not a valid key": "x" } },
      }),
      withTemplate("parse", "{{ .Secrets.password "),
      withTemplate("exec", '{{ mustToDate "2006-01-02" .Secrets.password }}'),
    ];
    for (const r of resources) await env.kube.create(VSO.VaultDynamicSecret, ns, r);
    const expected: [string, RegExp][] = [
      ["taken", /spec\.destination\.overwrite: .*not owned/],
      ["badname", /spec\.destination: the API server refuses .*Bad_Name/],
      ["badlabel", /spec\.destination: the API server refuses .*metadata\.labels/],
      ["parse", /template parse error/],
      ["exec", /template error: .*no new credentials are requested/],
    ];
    for (const [name, message] of expected) {
      await waitForCondition(env, "VaultDynamicSecret", ns, name, "SecretSynced", "False", message, 30_000);
    }
    // Retries go on (every ~4.5 s for configuration errors): watch 25 s of them.
    const t0 = Date.now();
    const maxLeases = await maxOver(25_000, () => leaseCount(env, role));
    const exec = await revokeEvents(env, ns, "exec");
    const others = await Promise.all(
      ["taken", "badname", "badlabel", "parse"].map((n) => revokeEvents(env, ns, n)),
    );
    const leases = await leaseCount(env, role);
    const logins = await vaultLogins(env, role);
    t.diagnostic(
      `over ${((Date.now() - t0) / 1000).toFixed(0)} s: max live leases ${maxLeases}, now ${leases}; ` +
        `leases issued and revoked for the failing template: ${exec}; Vault logins in pg_roles ${loginsBefore} -> ${logins}`,
    );
    assert.deepEqual(others, [0, 0, 0, 0], "no lease was requested for a precondition failure");
    assert.equal(exec, 1, "one lease for the failing template, revoked, and none after it");
    assert.equal(leases, 0, "no live lease");
    assert.ok(maxLeases <= 1, `at most one lease alive at any time (saw ${maxLeases})`);
    assert.equal(logins, loginsBefore, "no PostgreSQL login left behind");
    assert.equal(await env.kube.getOrNull(CORE.secrets, ns, "exec"), null, "nothing written");
    assert.deepEqual(
      decoded(await env.kube.get(CORE.secrets, ns, "taken")),
      { keep: "me" },
      "foreign Secret untouched",
    );
    const st = await getStatus(env, "VaultDynamicSecret", ns, "exec");
    assert.deepEqual(st.pendingRevocations ?? [], [], "nothing left to revoke");

    // Fixing the template lifts the hold: one lease, delivered.
    await env.kube.patch(
      VSO.VaultDynamicSecret,
      ns,
      "exec",
      {
        spec: {
          destination: { transformation: { templates: { out: { text: "{{ .Secrets.username }}" } } } },
        },
      },
      "merge",
    );
    const s = decoded(await waitForSecret(env, ns, "exec", () => true, 30_000));
    assert.ok(s.out.startsWith("v-"), "the fixed template renders");
    assert.equal(await leaseCount(env, role), 1);
    assert.equal(await vaultLogins(env, role), loginsBefore + 1, "pg_roles sees the one live login");
    for (const r of resources) await env.kube.delete(VSO.VaultDynamicSecret, ns, r.metadata.name);
    await eventually("leases revoked on delete", async () => (await leaseCount(env, role)) === 0, 30_000);
  });

  test("#5: a replaced lease is revoked after the grace period even when the operator is SIGKILLed in it", async (t: TestContext) => {
    const env = await testEnv();
    const ns = await isolatedNamespace(t, env, "grace");
    const { role } = await dbSetup(env, ns, "10m", "1h");
    let op: ChildProcess = spawnOperator(env, ns);
    t.after(() => op.kill("SIGKILL"));
    await env.kube.create(VSO.VaultDynamicSecret, ns, vds("creds", { path: `creds/${role}`, revoke: true }));
    const first = decoded(await waitForSecret(env, ns, "creds", () => true, 30_000));
    // The status is committed just after the Secret is written.
    const oldLease = await eventually("the lease in status", async () => {
      const st = await getStatus(env, "VaultDynamicSecret", ns, "creds");
      return (st.secretLease as { id?: string } | undefined)?.id;
    }).catch(async (err) => {
      t.diagnostic(JSON.stringify(await getStatus(env, "VaultDynamicSecret", ns, "creds")));
      throw err;
    });
    // A spec change issues new credentials; the old lease waits 30 s for workloads to restart.
    await env.kube.patch(VSO.VaultDynamicSecret, ns, "creds", { spec: { renewalPercent: 60 } }, "merge");
    const st1 = await eventually(
      "new lease, old one pending revocation",
      async () => {
        const st = await getStatus(env, "VaultDynamicSecret", ns, "creds");
        const pending = (st.pendingRevocations ?? []) as {
          id: string;
          reason: string;
          revokeAfter: number;
        }[];
        return (st.secretLease as { id: string }).id !== oldLease && pending.some((p) => p.id === oldLease)
          ? { st, pending }
          : null;
      },
      30_000,
      100,
    ).catch(async (err) => {
      t.diagnostic(JSON.stringify(await getStatus(env, "VaultDynamicSecret", ns, "creds")));
      throw err;
    });
    op.kill("SIGKILL");
    await new Promise((r) => op.once("exit", r));
    const killedAt = Date.now();
    const entry = st1.pending.find((p) => p.id === oldLease);
    t.diagnostic(
      `pending: ${JSON.stringify(st1.pending)}; killed ${Math.round(entry!.revokeAfter - killedAt / 1000)} s before it was due`,
    );
    assert.equal(entry?.reason, "Replaced");
    assert.ok(entry!.revokeAfter * 1000 > killedAt, "killed inside the grace period");
    assert.equal(await leaseCount(env, role), 2, "both leases alive at the kill");
    assert.ok((await pgQuery(env, first.username, first.password, "SELECT 1")).ok, "old login still valid");

    await new Promise((r) => setTimeout(r, 2000));
    op = spawnOperator(env, ns);
    await eventually(
      "the old lease revoked by the restarted operator",
      async () => (await leaseCount(env, role)) === 1,
      60_000,
    );
    const revokedAfter = (Date.now() - killedAt) / 1000;
    t.diagnostic(`old lease revoked ${revokedAfter.toFixed(1)} s after the kill`);
    assert.ok(Date.now() / 1000 >= entry!.revokeAfter, "not before the grace period ended");
    assert.equal(
      (await pgQuery(env, first.username, first.password, "SELECT 1")).ok,
      false,
      "old login gone",
    );
    const now = decoded(await env.kube.get(CORE.secrets, ns, "creds"));
    assert.ok((await pgQuery(env, now.username, now.password, "SELECT 1")).ok, "current login works");
    const st2 = await getStatus(env, "VaultDynamicSecret", ns, "creds");
    assert.deepEqual(st2.pendingRevocations, []);
    await env.kube.delete(VSO.VaultDynamicSecret, ns, "creds");
    await eventually(
      "every lease revoked on delete",
      async () => (await leaseCount(env, role)) === 0,
      30_000,
    );
  });

  /** The lease IDs alive under database/creds/<role>. */
  async function liveLeases(env: TestEnv, role: string): Promise<string[]> {
    const res = await env.vault.call<{ data?: { keys?: string[] } }>(
      "LIST",
      `sys/leases/lookup/database/creds/${role}`,
      {
        token: env.rootToken,
        accept: [404],
      },
    );
    return (res.json?.data?.keys ?? []).map((k) => `database/creds/${role}/${k}`);
  }

  test("#1/#5: a lease left Issued by an interrupted sync is revoked at start; delete revokes every recorded lease", async (t: TestContext) => {
    const env = await testEnv();
    const ns = await isolatedNamespace(t, env, "intr");
    const { role } = await dbSetup(env, ns, "10m", "1h");
    let op: ChildProcess = spawnOperator(env, ns);
    t.after(() => op.kill("SIGKILL"));
    await env.kube.create(VSO.VaultDynamicSecret, ns, vds("creds", { path: `creds/${role}`, revoke: true }));
    const current = await eventually("the lease in status", async () => {
      const st = await getStatus(env, "VaultDynamicSecret", ns, "creds");
      return (st.secretLease as { id?: string } | undefined)?.id;
    });
    op.kill("SIGKILL");
    await new Promise((r) => op.once("exit", r));
    // What a crash leaves behind: a lease obtained but not committed (Issued), and
    // one replaced long before its revocation time (Replaced, due in an hour).
    const read = async () =>
      (await env.vault.call<{ lease_id: string }>("GET", `database/creds/${role}`, { token: env.rootToken }))
        .json?.lease_id ?? "";
    const issued = await read();
    const replaced = await read();
    await plantPendingRevocations(env, "VaultDynamicSecret", ns, "creds", issued, replaced);
    assert.equal((await liveLeases(env, role)).length, 3);
    op = spawnOperator(env, ns);
    const st = await eventually(
      "the interrupted lease revoked and the destination synced anew",
      async () => {
        const s = await getStatus(env, "VaultDynamicSecret", ns, "creds");
        const synced = s.conditions?.find((c) => c.type === "SecretSynced")?.message ?? "";
        return /InterruptedSync/.test(synced) ? s : null;
      },
      30_000,
    );
    const live = await liveLeases(env, role);
    const now = (st.secretLease as { id: string }).id;
    const pending = (st.pendingRevocations as { id: string; reason: string }[]).map(
      (p) => `${p.reason}:${p.id}`,
    );
    t.diagnostic(`live leases: ${live.length}; pending: ${pending.join(", ")}`);
    assert.ok(!live.includes(issued), "the Issued lease is revoked");
    assert.ok(now !== current && live.includes(now), "new credentials are current");
    assert.deepEqual(pending.sort(), [`Replaced:${current}`, `Replaced:${replaced}`].sort());
    const secret = decoded(await env.kube.get(CORE.secrets, ns, "creds"));
    assert.ok(
      (await pgQuery(env, secret.username, secret.password, "SELECT 1")).ok,
      "the destination holds the new login",
    );

    await env.kube.delete(VSO.VaultDynamicSecret, ns, "creds");
    await eventually(
      "every recorded lease revoked on delete",
      async () => (await liveLeases(env, role)).length === 0,
      30_000,
    );
  });

  test("#8: allowStaticCreds on a dynamic role: condition naming the field, no lease accumulates", async (t: TestContext) => {
    const env = await testEnv();
    const ns = await isolatedNamespace(t, env, "mism");
    const { role } = await dbSetup(env, ns, "10m", "1h");
    const loginsBefore = await vaultLogins(env, role);
    await startOperator(t, env, { namespaces: [ns] });
    await env.kube.create(
      VSO.VaultDynamicSecret,
      ns,
      vds("creds", { path: `creds/${role}`, allowStaticCreds: true, revoke: true }),
    );
    const c = await waitForCondition(
      env,
      "VaultDynamicSecret",
      ns,
      "creds",
      "SecretSynced",
      "False",
      /spec\.allowStaticCreds: the path returned dynamic credentials/,
      30_000,
    );
    t.diagnostic(c.message);
    // The defect issued a lease every 30 s poll: watch longer than one poll.
    const maxLeases = await maxOver(35_000, () => leaseCount(env, role));
    const revoked = await revokeEvents(env, ns, "creds");
    const events = await eventsFor(env, ns, "creds");
    t.diagnostic(`over 35 s: max live leases ${maxLeases}, leases issued and revoked ${revoked}`);
    assert.ok(
      events.some((e) => e.type === "Warning" && /spec\.allowStaticCreds/.test(e.message ?? "")),
      "a Warning Event names the field",
    );
    assert.equal(revoked, 1, "one lease, revoked at once");
    assert.equal(await leaseCount(env, role), 0);
    assert.ok(maxLeases <= 1);
    assert.equal(await vaultLogins(env, role), loginsBefore);
    assert.equal(await env.kube.getOrNull(CORE.secrets, ns, "creds"), null, "the Secret is not written");
    // Setting the field right syncs dynamic credentials, with one lease.
    await env.kube.patch(VSO.VaultDynamicSecret, ns, "creds", { spec: { allowStaticCreds: false } }, "merge");
    await waitForSecret(env, ns, "creds", () => true, 30_000);
    assert.equal(await leaseCount(env, role), 1);
  });

  /** The operator as a process whose log (stdout, JSON lines) is kept. */
  function operatorWithLog(env: TestEnv, ns: string): { child: ChildProcess; log: () => string } {
    let out = "";
    const child = spawnOperator(env, ns, [], {}, ["ignore", "pipe", "pipe"]);
    child.stdout?.on("data", (b: Buffer) => {
      out += b.toString("utf8");
    });
    child.stderr?.on("data", (b: Buffer) => {
      out += b.toString("utf8");
    });
    return { child, log: () => out };
  }

  test("#6: a template error on a secret value leaks no fragment to the condition, Events or log", async (t: TestContext) => {
    const env = await testEnv();
    const ns = await isolatedNamespace(t, env, "frag");
    const role = await vaultRoleFor(env, ns);
    await defaultConnectionAndAuth(env, ns, role);
    // mustToDate "Jan" parses the month and quotes the rest: `extra text: "<rest>"`. The rest is
    // drawn from consonants so that no 4-character piece of it occurs in a log by chance.
    const letters = "BCDFGHJKLMNPQRSTVWXZ";
    const rest = [...randomBytes(14)].map((b) => letters[b % letters.length]).join("");
    const secret = `Feb${rest}`;
    await kvPut(env, `${ns}/db`, { password: secret });
    const op = operatorWithLog(env, ns);
    t.after(() => op.child.kill("SIGKILL"));
    await env.kube.create(
      VSO.VaultDynamicSecret,
      ns,
      vds("frag", {
        mount: "secret",
        path: `data/${ns}/db`,
        destination: {
          name: "frag",
          create: true,
          transformation: { templates: { out: { text: '{{ mustToDate "Jan" .Secrets.data.password }}' } } },
        },
      }),
    );
    const c = await waitForCondition(
      env,
      "VaultDynamicSecret",
      ns,
      "frag",
      "SecretSynced",
      "False",
      /template error/,
      30_000,
    );
    await eventually(
      "the failure logged",
      async () => /sync failed/.test(op.log()) && /template error/.test(op.log()),
      15_000,
    );
    const events = (await eventsFor(env, ns, "frag")).map((e) => e.message ?? "");
    const status = JSON.stringify(await getStatus(env, "VaultDynamicSecret", ns, "frag"));
    t.diagnostic(`condition: ${c.message}`);
    const places: [string, string][] = [
      ["condition", c.message],
      ["status", status],
      ["events", events.join("\n")],
      ["log", op.log()],
    ];
    assert.ok(
      events.some((m) => /template error/.test(m)),
      "the Event reports the template error",
    );
    for (const [where, text] of places) {
      for (let i = 0; i + 4 <= secret.length; i++) {
        const fragment = secret.slice(i, i + 4);
        assert.ok(!text.includes(fragment), `${where} carries the fragment "${fragment}"`);
      }
    }
    assert.match(c.message, /<redacted>|<detail withheld/);
  });

  test("#1 across a restart: the issue hold is durable, a restarted operator asks for no new lease", async (t: TestContext) => {
    const env = await testEnv();
    const ns = await isolatedNamespace(t, env, "hold");
    const { role } = await dbSetup(env, ns, "10m", "1h");
    let op: ChildProcess = spawnOperator(env, ns);
    t.after(() => op.kill("SIGKILL"));
    const text = '{{ mustToDate "2006-01-02" .Secrets.password }}';
    await env.kube.create(
      VSO.VaultDynamicSecret,
      ns,
      vds("exec", {
        path: `creds/${role}`,
        destination: { name: "exec", create: true, transformation: { templates: { out: { text } } } },
      }),
    );
    await waitForCondition(
      env,
      "VaultDynamicSecret",
      ns,
      "exec",
      "IssueHold",
      "True",
      /template error/,
      30_000,
    );
    await eventually("the lease revoked", async () => (await revokeEvents(env, ns, "exec")) === 1, 30_000);
    // The hold is a typed status field of ours; the condition only tells humans.
    const hold = (await getStatus(env, "VaultDynamicSecret", ns, "exec")).issueHold as
      | { digest?: string; reason?: string; since?: string }
      | undefined;
    assert.match(hold?.digest ?? "", /^[\w-]{43}$/);
    assert.match(hold?.reason ?? "", /template error/);
    op.kill("SIGKILL");
    await new Promise((r) => op.once("exit", r));
    op = spawnOperator(env, ns);
    // The restarted operator reads the hold from status: its configuration rechecks (every ~4.5 s) issue nothing.
    const failedAgain = async () =>
      (await eventsFor(env, ns, "exec"))
        .filter((e) => /no new credentials are requested/.test(e.message ?? ""))
        .reduce((n, e) => n + ((e as { count?: number }).count ?? 1), 0);
    const before = await failedAgain();
    await eventually("the restarted operator reconciled", async () => (await failedAgain()) > before, 30_000);
    await new Promise((r) => setTimeout(r, 6000));
    const revoked = await revokeEvents(env, ns, "exec");
    t.diagnostic(`leases issued and revoked across the restart: ${revoked}`);
    assert.equal(revoked, 1, "no second lease after the restart");
    assert.deepEqual(
      (await getStatus(env, "VaultDynamicSecret", ns, "exec")).issueHold,
      hold,
      "the restarted operator kept the same hold",
    );
    assert.equal(await leaseCount(env, role), 0);
    await env.kube.delete(VSO.VaultDynamicSecret, ns, "exec");
  });
});
