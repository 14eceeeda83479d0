// The cluster admin's guard rails for tenant namespaces (issue 22), as tables.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseOperatorConfig } from "../../src/operator/config.ts";
import { type TenantGuards, tenantTokenRequest, vaultAddressRefusal } from "../../src/vault/tenant-guards.ts";

const g: TenantGuards = {
  operatorNamespace: "vso",
  vaultAddresses: ["https://vault.example.com:8200", "https://*.vault.svc", "http://127.0.0.1:8200"],
  tokenAudiences: ["vault"],
  tokenMaxExpirationSeconds: 900,
};

test("tenant VaultConnections may use only the allowed Vault addresses", () => {
  const cases: [string, string, boolean][] = [
    ["https://vault.example.com:8200", "team-a", true],
    ["https://vault.example.com:8200/", "team-a", true],
    ["https://vault.example.com", "team-a", false], // port 443, not 8200
    ["http://vault.example.com:8200", "team-a", false], // scheme
    ["https://prod.vault.svc", "team-a", true],
    ["https://a.b.vault.svc:443", "team-a", true],
    ["https://vault.svc", "team-a", false], // the suffix itself is not a host under it
    ["https://evilvault.svc", "team-a", false],
    ["https://attacker.example.net", "team-a", false],
    ["http://127.0.0.1:8200", "team-a", true],
    ["https://attacker.example.net", "vso", true], // the operator's namespace is the admin's
  ];
  for (const [address, ns, allowed] of cases) {
    const why = vaultAddressRefusal(address, ns, g);
    assert.equal(why === undefined, allowed, `${address} in ${ns}: ${why}`);
    if (why) assert.match(why, /--tenant-vault-addresses.*no request was sent/);
  }
  assert.equal(vaultAddressRefusal("https://anything", "team-a", { ...g, vaultAddresses: [] }), undefined);
});

test("tenant ServiceAccount tokens carry the admin's audiences and lifetime cap", () => {
  assert.deepEqual(tenantTokenRequest("team-a", ["https://attacker"], 86_400, g), {
    audiences: ["vault"],
    expirationSeconds: 900,
  });
  assert.deepEqual(tenantTokenRequest("team-a", undefined, undefined, g), {
    audiences: ["vault"],
    expirationSeconds: 600,
  });
  assert.deepEqual(tenantTokenRequest("vso", ["x"], 86_400, g), {
    audiences: ["x"],
    expirationSeconds: 86_400,
  });
  const none = { ...g, tokenAudiences: [], tokenMaxExpirationSeconds: 0 };
  assert.deepEqual(tenantTokenRequest("team-a", ["x"], 86_400, none), {
    audiences: ["x"],
    expirationSeconds: 86_400,
  });
});

test("the flags are parsed and bad values refused at start", () => {
  const cfg = parseOperatorConfig([
    "--operator-namespace=vso",
    "--tenant-vault-addresses=https://vault.example.com:8200, https://*.vault.svc",
    "--tenant-token-audiences=vault",
    "--tenant-token-max-expiration-seconds=900",
  ]);
  assert.deepEqual(cfg.tenantVaultAddresses, ["https://vault.example.com:8200", "https://*.vault.svc"]);
  assert.deepEqual(cfg.tenantTokenAudiences, ["vault"]);
  assert.equal(cfg.tenantTokenMaxExpirationSeconds, 900);
  assert.throws(() => parseOperatorConfig(["--tenant-vault-addresses=vault.example.com"]), /not a URL/);
  assert.throws(() => parseOperatorConfig(["--tenant-vault-addresses=https://v/path"]), /no path/);
  assert.throws(() => parseOperatorConfig(["--tenant-token-max-expiration-seconds=60"]), /at least 600/);
});
