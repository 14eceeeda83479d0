// VaultPKISecret mints no certificate in vain (issue 10, defects 1 and 7),
// proven against OpenBao's PKI engine, counting certificates with
// LIST <mount>/certs on a mount of the test's own.
// 1. A destination that cannot be written (not owned with overwrite: false, a
//    name the API server refuses) or a template that does not parse issues
//    nothing; a template that fails on the real certificate issues one,
//    revoked at once, and no more for the same inputs.
//    A serial a crash left "Issued" is revoked at the next start and the
//    destination synced anew; delete revokes every recorded serial.
// 7. expiryOffset longer than the ttl: the offset is clamped and reported in
//    the ResourceValidation condition; the number of certificates stays
//    bounded (it was 175 a minute).
import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import { CORE } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { eventually, isolatedNamespace, type TestEnv, testEnv } from "../support/env.ts";
import {
  decoded,
  defaultConnectionAndAuth,
  getStatus,
  plantPendingRevocations,
  startOperator,
  vaultRoleFor,
  waitForCondition,
  waitForSecret,
} from "../support/operator.ts";
import { pkiMountWithRole, pkiPolicyLines } from "../support/pki.ts";

/** A PKI mount of the test's own (role `web`), usable by the namespace's default VaultAuth; returns the mount. */
async function pkiMount(t: TestContext, env: TestEnv, ns: string): Promise<string> {
  const mount = await pkiMountWithRole(t, env, ns);
  const role = await vaultRoleFor(env, ns, "app", pkiPolicyLines(mount).join("\n"));
  await defaultConnectionAndAuth(env, ns, role);
  return mount;
}

async function certSerials(env: TestEnv, mount: string): Promise<string[]> {
  const r = await env.vault.call<{ data: { keys: string[] } }>("LIST", `${mount}/certs`, {
    token: env.rootToken,
    accept: [404],
  });
  return r.json?.data?.keys ?? [];
}

async function revoked(env: TestEnv, mount: string, serial: string): Promise<boolean> {
  const r = await env.vault.call<{ data: { revocation_time: number } }>("GET", `${mount}/cert/${serial}`, {
    token: env.rootToken,
  });
  return (r.json?.data.revocation_time ?? 0) > 0;
}

function vps(name: string, spec: Record<string, unknown>) {
  return { apiVersion: "secrets.hashicorp.com/v1beta1", kind: "VaultPKISecret", metadata: { name }, spec };
}

// The cases are independent (own namespace, own operator watching only it), so they run side by side.
describe("credential leaks: VaultPKISecret", { concurrency: true }, () => {
  test("#1: no certificate for a destination or template known to fail; one, revoked, for a template failing on the data", async (t: TestContext) => {
    const env = await testEnv();
    const ns = await isolatedNamespace(t, env, "pkipre");
    const mount = await pkiMount(t, env, ns);
    await env.kube.create(CORE.secrets, ns, { metadata: { name: "taken" }, stringData: { keep: "me" } });
    const before = new Set(await certSerials(env, mount));
    await startOperator(t, env, { namespaces: [ns] });
    const base = { mount, role: "web", commonName: "app.example.com", ttl: "1h" };
    const withTemplate = (name: string, text: string) =>
      vps(name, {
        ...base,
        destination: { name, create: true, transformation: { templates: { out: { text } } } },
      });
    const resources = [
      vps("taken", { ...base, destination: { name: "taken", create: true } }),
      vps("badname", { ...base, destination: { name: "Bad_Name", create: true } }),
      withTemplate("parse", "{{ .Secrets.certificate "),
      withTemplate("exec", '{{ mustToDate "2006" .Secrets.certificate }}'),
    ];
    for (const r of resources) await env.kube.create(VSO.VaultPKISecret, ns, r);
    const expected: [string, RegExp][] = [
      ["taken", /spec\.destination\.overwrite: .*not owned/],
      ["badname", /spec\.destination: the API server refuses .*Bad_Name/],
      ["parse", /template parse error/],
      ["exec", /template error: .*no new credentials are requested/],
    ];
    for (const [name, message] of expected) {
      await waitForCondition(env, "VaultPKISecret", ns, name, "SecretSynced", "False", message, 30_000);
    }
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 25_000));
    const minted = (await certSerials(env, mount)).filter((s) => !before.has(s));
    t.diagnostic(
      `certificates issued in ${((Date.now() - t0) / 1000 + 5).toFixed(0)}+ s of retries: ${minted.length}`,
    );
    assert.equal(minted.length, 1, "one certificate, for the template that fails on the real data");
    assert.ok(await revoked(env, mount, minted[0]), "and it is revoked");
    assert.deepEqual(decoded(await env.kube.get(CORE.secrets, ns, "taken")), { keep: "me" });
    for (const name of ["exec", "parse", "badname"]) {
      assert.equal(await env.kube.getOrNull(CORE.secrets, ns, name), null, `${name}: nothing written`);
      const st = await getStatus(env, "VaultPKISecret", ns, name);
      assert.deepEqual(st.pendingRevocations ?? [], [], `${name}: nothing left to revoke`);
    }
  });

  test("#7: expiryOffset longer than the ttl is clamped and reported, with a bounded number of certificates", async (t: TestContext) => {
    const env = await testEnv();
    const ns = await isolatedNamespace(t, env, "pkioff");
    const mount = await pkiMount(t, env, ns);
    const before = new Set(await certSerials(env, mount));
    await startOperator(t, env, { namespaces: [ns] });
    await env.kube.create(
      VSO.VaultPKISecret,
      ns,
      vps("cert", {
        mount,
        role: "web",
        commonName: "app.example.com",
        ttl: "6s",
        expiryOffset: "1h",
        revoke: true,
        destination: { name: "cert", create: true },
      }),
    );
    await waitForSecret(env, ns, "cert", () => true, 30_000);
    const c = await waitForCondition(
      env,
      "VaultPKISecret",
      ns,
      "cert",
      "ResourceValidation",
      "False",
      /spec\.expiryOffset 1h is not shorter than the certificate's lifetime/,
    );
    t.diagnostic(c.message);
    const t0 = Date.now();
    const start = (await certSerials(env, mount)).filter((s) => !before.has(s)).length;
    await new Promise((r) => setTimeout(r, 20_000));
    const minted = (await certSerials(env, mount)).filter((s) => !before.has(s)).length - start;
    const seconds = (Date.now() - t0) / 1000;
    t.diagnostic(`${minted} certificates in ${seconds.toFixed(1)} s`);
    // Renewal at half of the 6 s life, at most 1 s early (the minimum horizon):
    // certificates at least 2 s apart, so at most 11 in 20 s. The loop made 32.
    assert.ok(minted >= 3, "the certificate is still renewed before it expires");
    assert.ok(minted <= 11, `bounded: ${minted} certificates in ${seconds.toFixed(0)} s`);
    const st = await getStatus(env, "VaultPKISecret", ns, "cert");
    assert.ok((st.expiration as number) * 1000 > Date.now(), "the current certificate is valid");
    await env.kube.delete(VSO.VaultPKISecret, ns, "cert");
    await eventually(
      "the resource gone",
      async () => (await env.kube.getOrNull(VSO.VaultPKISecret, ns, "cert")) === null,
    );
  });

  test("#1/#5: a serial left Issued by an interrupted sync is revoked at start; delete revokes every recorded serial", async (t: TestContext) => {
    const env = await testEnv();
    const ns = await isolatedNamespace(t, env, "pkiintr");
    const mount = await pkiMount(t, env, ns);
    const spec = {
      mount,
      role: "web",
      commonName: "app.example.com",
      ttl: "1h",
      revoke: true,
      destination: { name: "cert", create: true },
    };
    let first = "";
    await t.test("first operator", async (st: TestContext) => {
      await startOperator(st, env, { namespaces: [ns] });
      await env.kube.create(VSO.VaultPKISecret, ns, vps("cert", spec));
      first = await eventually("the serial in status", async () => {
        return (await getStatus(env, "VaultPKISecret", ns, "cert")).serialNumber as string | undefined;
      });
    });
    // What a crash leaves behind: a certificate issued but not committed, and one
    // replaced whose revocation is an hour away.
    const issue = async () =>
      (
        await env.vault.call<{ data: { serial_number: string } }>("PUT", `${mount}/issue/web`, {
          token: env.rootToken,
          body: { common_name: "app.example.com", ttl: "1h" },
        })
      ).json?.data.serial_number ?? "";
    const issued = await issue();
    const replaced = await issue();
    await plantPendingRevocations(env, "VaultPKISecret", ns, "cert", issued, replaced);
    await t.test("second operator", async (st: TestContext) => {
      await startOperator(st, env, { namespaces: [ns] });
      const status = await eventually(
        "the interrupted certificate revoked and a new one issued",
        async () => {
          const s = await getStatus(env, "VaultPKISecret", ns, "cert");
          const synced = s.conditions?.find((c) => c.type === "SecretSynced")?.message ?? "";
          return /InterruptedSync/.test(synced) ? s : null;
        },
        30_000,
      );
      const now = status.serialNumber as string;
      t.diagnostic(`pending after the restart: ${JSON.stringify(status.pendingRevocations)}`);
      assert.ok(await revoked(env, mount, issued), "the Issued serial is revoked");
      assert.ok(await revoked(env, mount, first), "revoke: true revokes the serial it replaced");
      assert.equal(await revoked(env, mount, replaced), false, "a Replaced serial waits for its time");
      assert.notEqual(now, first);
      assert.equal(decoded(await env.kube.get(CORE.secrets, ns, "cert")).serial_number, now);
      assert.deepEqual(
        (status.pendingRevocations as { id: string }[]).map((p) => p.id),
        [replaced],
      );
      await env.kube.delete(VSO.VaultPKISecret, ns, "cert");
      await eventually(
        "every recorded serial revoked on delete",
        async () => (await revoked(env, mount, now)) && (await revoked(env, mount, replaced)),
        30_000,
      );
    });
  });
});
