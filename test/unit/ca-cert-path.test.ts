// spec.caCertPath cannot read or probe files of the operator's Pod (issue 22):
// only the operator namespace's VaultConnections, only under --vault-ca-cert-dir,
// and one refusal for every other case, whether or not the file exists.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { CaCertPathRefused, readCaCertPath, validateCaCertDir } from "../../src/vault/ca-cert-path.ts";

test("caCertPath reads only allowed files, and every refusal reads the same", (t) => {
  const root = mkdtempSync(join(tmpdir(), "vso-ca-path-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, "ca");
  mkdirSync(join(dir, "..data"), { recursive: true });
  writeFileSync(join(dir, "..data", "ca.crt"), "PEM");
  symlinkSync("..data/ca.crt", join(dir, "ca.crt")); // how a mounted Secret's file looks
  writeFileSync(join(root, "secret.txt"), "not yours");
  symlinkSync(join(root, "secret.txt"), join(dir, "out.pem"));
  writeFileSync(join(dir, "big.pem"), Buffer.alloc(1024 * 1024 + 1));
  const policy = { operatorNamespace: "vso", dir };

  assert.equal(readCaCertPath(join(dir, "ca.crt"), "vso", policy), "PEM");
  const refusal = (path: string, ns = "vso") => {
    try {
      readCaCertPath(path, ns, policy);
    } catch (err) {
      assert.ok(err instanceof CaCertPathRefused);
      return err.message;
    }
    assert.fail(`${path} was read`);
  };
  const same = new Set(
    [
      join(root, "secret.txt"), // exists, outside
      join(dir, "out.pem"), // a link leading out
      join(dir, "missing.pem"), // inside, absent
      join(dir, "..", "secret.txt"), // climbs out
      join(dir, "big.pem"), // too large
      dir, // a directory
      "/var/run/secrets/kubernetes.io/serviceaccount/token",
      "/proc/self/environ",
      "relative/ca.crt",
    ].map((p) => refusal(p)),
  );
  assert.equal(same.size, 1, [...same].join("\n"));
  assert.match([...same][0], /must name a readable file .* under .*--vault-ca-cert-dir/);
  assert.match(
    refusal(join(dir, "ca.crt"), "tenant"),
    /only for VaultConnections in the operator's namespace vso/,
  );
  assert.throws(() => readCaCertPath(join(dir, "ca.crt"), "vso", undefined), /not read here/);
});

test("--vault-ca-cert-dir cannot expose the Pod's own secrets", () => {
  assert.equal(validateCaCertDir("/vault/ca/"), "/vault/ca");
  for (const bad of [
    "/",
    "relative",
    "/var/run/secrets",
    "/var",
    "/proc/1",
    "/etc",
    "/run/secrets/x",
    "/dev",
  ]) {
    assert.throws(() => validateCaCertDir(bad), /--vault-ca-cert-dir/, bad);
  }
});
