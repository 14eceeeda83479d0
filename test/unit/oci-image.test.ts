// The image writer: layers that GNU tar reads back exactly (long names via
// the ustar prefix and PAX records, symlinks, modes), an OCI layout that
// names the image, and the same digest for the same inputs; the operator image
// itself, built twice as `make image` does, comes out byte for byte the same.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { gunzipSync } from "node:zlib";
import { buildImage, normalizeEntries } from "../../src/dev/node/oci-image.ts";
import { type TarEntry, tarArchive } from "../../src/dev/node/tar.ts";
import { REPO_ROOT } from "../../src/dev/paths.ts";

const longDir = `app/node_modules/${"very-long-package-name-".repeat(6)}x/lib/${"nested-".repeat(10)}deep`;
const longFile = `${longDir}/${"file-name-".repeat(12)}.js`; // over 255 bytes: needs PAX
const midFile = `${"d".repeat(120)}/index.js`; // over 100 bytes: fits the ustar prefix

const entries: TarEntry[] = [
  { path: "bin/busybox", type: "file", mode: 0o755, data: Buffer.from("#!binary\n") },
  { path: "bin/sh", type: "symlink", linkTarget: "busybox" },
  { path: "tmp", type: "dir", mode: 0o1777 },
  { path: longFile, type: "file", data: Buffer.from("module.exports = 1;\n") },
  { path: midFile, type: "file", data: Buffer.from("x") },
  { path: "etc/link-far", type: "symlink", linkTarget: `/${"t".repeat(150)}` },
];

function gnuTarList(tar: Buffer): string[] {
  const dir = mkdtempSync(join(tmpdir(), "tar-test-"));
  writeFileSync(join(dir, "a.tar"), tar);
  return execFileSync("tar", ["-tvf", join(dir, "a.tar")], { encoding: "utf8" })
    .trim()
    .split("\n");
}

test("GNU tar reads the layer back: names of any length, symlinks, modes", () => {
  const tar = tarArchive(normalizeEntries(entries));
  const listing = gnuTarList(tar);
  const has = (re: RegExp) =>
    assert.ok(
      listing.some((l) => re.test(l)),
      `${re} in\n${listing.join("\n")}`,
    );
  has(/^-rwxr-xr-x 0\/0 +9 1970-01-01 00:00 bin\/busybox$/);
  has(/^lrwxrwxrwx 0\/0 +0 1970-01-01 00:00 bin\/sh -> busybox$/);
  has(/^drwxrwxrwt 0\/0 +0 1970-01-01 00:00 tmp\/$/);
  assert.ok(
    listing.some((l) => l.endsWith(` ${longFile}`)),
    "a PAX long name survives",
  );
  assert.ok(
    listing.some((l) => l.endsWith(` ${midFile}`)),
    "a prefix-split name survives",
  );
  assert.ok(
    listing.some((l) => l.endsWith(`etc/link-far -> /${"t".repeat(150)}`)),
    "a long link target survives",
  );
  // Parents are added and come first.
  const names = listing.map((l) => l.split(/\s+/)[5]);
  assert.ok(names.indexOf("app/") < names.findIndex((n) => n?.startsWith("app/node_modules/")));
  const dir = mkdtempSync(join(tmpdir(), "tar-x-"));
  writeFileSync(join(dir, "a.tar"), tar);
  execFileSync("tar", ["-xf", join(dir, "a.tar"), "-C", dir]);
  assert.equal(readFileSync(join(dir, longFile), "utf8"), "module.exports = 1;\n");
});

test("the OCI layout names the image and its blobs match their digests; same inputs, same digest", () => {
  const spec = { name: "docker.io/library/busybox:1.35", entries, cmd: ["sh"], user: "65534" };
  const a = buildImage(spec);
  const b = buildImage(spec);
  assert.equal(a.manifestDigest, b.manifestDigest);
  assert.ok(a.archive.equals(b.archive), "byte-identical archives");
  const dir = mkdtempSync(join(tmpdir(), "oci-"));
  writeFileSync(join(dir, "image.tar"), a.archive);
  execFileSync("tar", ["-xf", join(dir, "image.tar"), "-C", dir]);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, "oci-layout"), "utf8")), {
    imageLayoutVersion: "1.0.0",
  });
  const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
  const desc = index.manifests[0];
  assert.equal(desc.digest, a.manifestDigest);
  assert.equal(desc.annotations["io.containerd.image.name"], "docker.io/library/busybox:1.35");
  assert.equal(desc.annotations["org.opencontainers.image.ref.name"], "1.35");
  const blob = (d: string) => readFileSync(join(dir, "blobs", "sha256", d.slice(7)));
  const sha = (buf: Buffer) => `sha256:${createHash("sha256").update(buf).digest("hex")}`;
  const manifest = JSON.parse(blob(desc.digest).toString());
  assert.equal(sha(blob(desc.digest)), desc.digest);
  const config = JSON.parse(blob(manifest.config.digest).toString());
  assert.equal(sha(blob(manifest.config.digest)), manifest.config.digest);
  const layer = blob(manifest.layers[0].digest);
  assert.equal(sha(layer), manifest.layers[0].digest);
  assert.equal(
    config.rootfs.diff_ids[0],
    sha(gunzipSync(layer)),
    "diff_id is the uncompressed layer's digest",
  );
  assert.deepEqual(config.config.Cmd, ["sh"]);
  assert.equal(config.config.User, "65534");
  assert.equal(config.os, "linux");
});

test("the operator image is reproducible: `make image` twice, in two processes, gives the same digest and bytes", (t) => {
  const built = [0, 1].map(() => {
    const out = mkdtempSync(join(tmpdir(), "vso-image-"));
    t.after(() => rmSync(out, { recursive: true, force: true }));
    // What `make image` runs, into a directory of its own.
    const res = spawnSync(
      process.execPath,
      [
        "--disable-warning=ExperimentalWarning",
        join(REPO_ROOT, "scripts", "build-image.ts"),
        "--out-dir",
        out,
      ],
      { cwd: REPO_ROOT, encoding: "utf8", timeout: 120_000 },
    );
    assert.equal(res.status, 0, res.stderr);
    const digest = /^digest\s+(sha256:[0-9a-f]{64})$/m.exec(res.stdout)?.[1];
    assert.ok(digest, res.stdout);
    const archives = readdirSync(out).filter((f) => f.endsWith(".oci.tar"));
    assert.equal(archives.length, 1, `one archive in ${out}`);
    const bytes = readFileSync(join(out, archives[0]));
    return { digest, sha: createHash("sha256").update(bytes).digest("hex"), size: bytes.length };
  });
  assert.equal(built[0].digest, built[1].digest, "same manifest digest");
  assert.equal(built[0].sha, built[1].sha, "same archive bytes");
  assert.ok(built[0].size > 10 * 1048576, "a whole image (Node and the bundle), not an empty archive");
});
