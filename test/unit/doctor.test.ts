// The doctor's pure parts: Vault's allowed_roles matching, the login-refusal
// to fix mapping, the paths and capabilities each kind needs, the report's
// exit rule and rendering, kind aliases, and reference resolution through
// the live lookup (the operator's refs.ts over fetched objects; the API server
// is a map here, the real one is in test/e2e/doctor.test.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { policyStanza, requiredAccess } from "../../src/doctor/access.ts";
import { roleAllowed } from "../../src/doctor/check-database.ts";
import { loginFix } from "../../src/doctor/check-login.ts";
import { LiveLookup } from "../../src/doctor/live-lookup.ts";
import {
  fail,
  guarded,
  pass,
  renderHuman,
  renderJson,
  reportOk,
  skip,
  warn,
} from "../../src/doctor/report.ts";
import {
  cleanVaultError,
  type DoctorOptions,
  parseKind,
  type SecretKind,
  type SecretResource,
  type Session,
} from "../../src/doctor/session.ts";
import type { KubeClient, KubeObject, ResourceType } from "../../src/kube/client.ts";
import { resolveConnection, resolveVaultAuthFor } from "../../src/operator/refs.ts";

function session(
  kind: SecretKind,
  spec: Partial<SecretResource["spec"]>,
  extra: Partial<Session> = {},
): Session {
  return {
    opts: {} as DoctorOptions,
    kind,
    namespace: "app",
    name: "r",
    obj: { metadata: { name: "r" }, spec: { mount: "secret", destination: { name: "d" }, ...spec } },
    ...extra,
  };
}

describe("doctor", () => {
  it("matches allowed_roles as Vault does: exact names, *, and globs", () => {
    assert.ok(roleAllowed(["*"], "r"));
    assert.ok(roleAllowed(["a", "r"], "r"));
    assert.ok(roleAllowed(["app-*"], "app-db"));
    assert.ok(roleAllowed(["*-db"], "app-db"));
    assert.ok(!roleAllowed(["app-*"], "web-db"));
    assert.ok(!roleAllowed([], "r"));
    assert.ok(!roleAllowed(["r.x"], "rax"), "a dot is not a wildcard");
  });

  it("turns each login refusal into the role setting to change", () => {
    const s = session(
      "VaultStaticSecret",
      {},
      {
        resolved: {
          auth: { metadata: { namespace: "app", name: "va" } },
          spec: { method: "kubernetes", mount: "k8s", kubernetes: { role: "web", serviceAccount: "sa" } },
        } as Session["resolved"],
      },
    );
    assert.match(
      loginFix(s, 'invalid role name "web"'),
      /role "web" does not exist on auth mount "k8s".*vault write auth\/k8s\/role\/web/s,
    );
    assert.match(
      loginFix(s, "service account name not authorized"),
      /add "sa" to bound_service_account_names of auth\/k8s\/role\/web/,
    );
    assert.match(
      loginFix(s, "namespace not authorized"),
      /add "app" to bound_service_account_namespaces of auth\/k8s\/role\/web/,
    );
    assert.match(
      loginFix(s, "invalid audience (aud) claim"),
      /spec\.kubernetes\.audiences of VaultAuth app\/va/,
    );
    assert.match(loginFix(s, "no handler for route 'auth/k8s/login'"), /no auth method is mounted at "k8s"/);
    assert.match(loginFix(s, "permission denied"), /auth\/k8s\/config/);
  });

  it("reads Vault's multi-error text as one line", () => {
    assert.equal(cleanVaultError("1 error occurred:\n\t* permission denied\n\n"), "permission denied");
    assert.equal(cleanVaultError("2 errors occurred:\n\t* a\n\t* b\n\n"), "a; b");
  });

  it("knows the paths and capabilities each kind needs", () => {
    const paths = (s: Session) => requiredAccess(s).map((a) => `${a.capability} ${a.path}`);
    assert.deepEqual(paths(session("VaultStaticSecret", { type: "kv-v2", path: "/app/db" })), [
      "read secret/data/app/db",
    ]);
    assert.deepEqual(paths(session("VaultStaticSecret", { mount: "/kv/", type: "kv-v1", path: "app/db" })), [
      "read kv/app/db",
    ]);
    assert.deepEqual(paths(session("VaultDynamicSecret", { mount: "database", path: "creds/r" })), [
      "read database/creds/r",
      "update sys/leases/renew",
      "update sys/leases/revoke",
    ]);
    assert.deepEqual(
      paths(session("VaultDynamicSecret", { mount: "aws", path: "sts/r", params: { ttl: "1h" } })),
      ["update aws/sts/r", "update sys/leases/renew", "update sys/leases/revoke"],
    );
    assert.deepEqual(paths(session("VaultDynamicSecret", { mount: "database", path: "static-creds/r" })), [
      "read database/static-creds/r",
    ]);
    assert.deepEqual(
      paths(session("VaultPKISecret", { mount: "pki", role: "web", issuerRef: "i1", revoke: true })),
      ["update pki/issuer/i1/issue/web", "update pki/revoke"],
    );
    assert.equal(
      policyStanza({ path: "secret/data/app/db", capability: "read", why: "" }),
      'path "secret/data/app/db" {\n  capabilities = ["read"]\n}',
    );
  });

  it("accepts kind names, plurals and short names in any case", () => {
    assert.equal(parseKind("VSS"), "VaultStaticSecret");
    assert.equal(parseKind("vaultdynamicsecrets"), "VaultDynamicSecret");
    assert.equal(parseKind("VaultPKISecret"), "VaultPKISecret");
    assert.equal(parseKind("vaultauth"), undefined);
  });

  it("exits 0 only when no step failed, and renders marks and fixes", () => {
    const ok = {
      target: "t",
      steps: [pass("a", "A", "fine"), warn("b", "B", "unsure", "ask"), skip("c", "C", "n/a")],
    };
    assert.ok(reportOk(ok));
    const bad = { target: "t", steps: [...ok.steps, fail("d", "D", "broken\nsecond line", "do this")] };
    assert.ok(!reportOk(bad));
    const text = renderHuman(bad);
    assert.match(text, /^✓ A +fine$/m);
    assert.match(text, /^! B +unsure\n {4}fix: ask$/m);
    assert.match(text, /^- C +n\/a$/m);
    assert.match(text, /^✗ D +broken\n +second line\n {4}fix: do this$/m);
    assert.match(text, /1 check failed$/);
    assert.deepEqual(JSON.parse(renderJson(bad)).ok, false);
  });

  it("a check that throws becomes a step: a warning when the doctor's user may not look, else a failure", async () => {
    const forbidden = Object.assign(new Error("events is forbidden"), { status: 403 });
    assert.deepEqual(
      (await guarded("events", "operator Events", async () => Promise.reject(forbidden))).map(
        (x) => x.status,
      ),
      ["warn"],
    );
    const broken = await guarded("crds", "CRDs", async () => Promise.reject(new Error("socket hang up")));
    assert.equal(broken[0].status, "fail");
    assert.match(broken[0].detail, /socket hang up/);
    assert.deepEqual(await guarded("x", "X", async () => undefined), []);
  });

  it("resolves references by the operator's rules, fetching what they ask for (default auth, global, connection)", async () => {
    const objects: Record<string, KubeObject & { spec?: unknown }> = {
      "vaultauths/op/default": {
        metadata: { namespace: "op", name: "default", uid: "a1" },
        spec: { vaultAuthGlobalRef: { allowDefault: true }, kubernetes: { serviceAccount: "sa" } },
      },
      "vaultauthglobals/op/default": {
        metadata: { namespace: "op", name: "default" },
        spec: {
          defaultAuthMethod: "kubernetes",
          kubernetes: { role: "from-global", mount: "k8s" },
          vaultConnectionRef: "vc",
        },
      },
      "vaultconnections/op/vc": { metadata: { namespace: "op", name: "vc" }, spec: { address: "http://v" } },
    };
    const asked: string[] = [];
    const kube = {
      getOrNull: async (rt: ResourceType, ns: string, name: string) => {
        asked.push(`${rt.plural}/${ns}/${name}`);
        return objects[`${rt.plural}/${ns}/${name}`] ?? null;
      },
    } as unknown as KubeClient;
    const live = new LiveLookup(kube);
    const { resolved, connection } = await live.resolve((lookup) => {
      const resolved = resolveVaultAuthFor(lookup, "app", undefined, "op", { allowDefaultGlobals: true });
      return { resolved, connection: resolveConnection(lookup, resolved, "op") };
    });
    assert.equal(resolved.spec.method, "kubernetes");
    assert.equal(resolved.spec.mount, "k8s");
    assert.equal((resolved.spec.kubernetes as { role?: string }).role, "from-global");
    assert.equal(connection.metadata.name, "vc");
    // The global is looked for in the VaultAuth's namespace, which is the operator's here.
    assert.deepEqual(asked, [
      "vaultauths/op/default",
      "vaultauthglobals/op/default",
      "vaultconnections/op/vc",
    ]);
    // A missing object ends the loop with the operator's own error.
    await assert.rejects(
      new LiveLookup(kube).resolve((lookup) =>
        resolveVaultAuthFor(lookup, "app", "nope", "op", { allowDefaultGlobals: true }),
      ),
      /VaultAuth app\/nope not found/,
    );
  });
});
