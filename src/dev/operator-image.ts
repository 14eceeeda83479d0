// The operator's OCI image, built without a Docker engine or a registry:
// Node.js 24 with the shared libraries it loads, and the operator as one
// esbuild bundle (the CLI minus `vso dev`, which needs a checkout). Non-root
// (65532), no shell, nothing written at run time, so it runs with a read-only
// root filesystem. Deterministic: the same commit and Node binary give the
// same digest. The Dockerfile at the repository root builds the equivalent.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cachedArchive, nodeRuntimeEntries } from "./node/images.ts";
import { type BuiltImage, buildImage, type ImageSpec } from "./node/oci-image.ts";
import { REPO_ROOT } from "./paths.ts";

export const OPERATOR_UID = 65532;

export function operatorVersion(): string {
  return (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version;
}

export function operatorImageName(version = operatorVersion()): string {
  return `docker.io/library/vso-ts:${version}`;
}

/**
 * `import ... from "undici"` in the operator's sources resolves to src/dev/bundle/undici-subset.mjs:
 * Agent and request without undici's index (fetch, WebSocket, mocks, caches), which would be
 * parsed and evaluated at start for nothing. The subset's own imports of undici's files resolve
 * as usual.
 */
const undiciSubset: import("esbuild").Plugin = {
  name: "undici-subset",
  setup(build) {
    const subset = join(REPO_ROOT, "src", "dev", "bundle", "undici-subset.mjs");
    build.onResolve({ filter: /^undici$/ }, () => ({ path: subset }));
  },
};

/** The operator as one ES module, with a `require` for the CommonJS packages it bundles. */
export async function bundleOperator(): Promise<Buffer> {
  const esbuild = await import("esbuild");
  const res = await esbuild.build({
    entryPoints: [join(REPO_ROOT, "src", "cli", "main.ts")],
    bundle: true,
    write: false,
    platform: "node",
    format: "esm",
    target: "node24",
    // `vso dev` drives a local environment from a checkout; it has no place in the image.
    external: ["./dev.ts"],
    plugins: [undiciSubset],
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: "eof",
    banner: {
      js: "import { createRequire as __vsoCreateRequire } from 'node:module'; const require = __vsoCreateRequire(import.meta.url);",
    },
    logLevel: "warning",
  });
  // V8 keeps a module's source in memory for as long as it runs, and a single
  // non-ASCII character makes it a two-byte string: 3.6 MB of source held 7 MiB.
  // esbuild escapes strings and identifiers but leaves regex literals and legal
  // comments as written; a \uXXXX escape means the same in both.
  const text = res.outputFiles[0].text.replace(
    /[^\x00-\x7f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return Buffer.from(text, "latin1");
}

export function operatorImageSpec(bundle: Buffer, version = operatorVersion()): ImageSpec {
  const passwd = `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${OPERATOR_UID}:${OPERATOR_UID}:nonroot:/home/nonroot:/sbin/nologin\n`;
  const entries = nodeRuntimeEntries()
    .filter((e) => e.path !== "etc/passwd" && e.path !== "etc/group")
    .concat([
      { path: "etc/passwd", type: "file", data: Buffer.from(passwd) },
      { path: "etc/group", type: "file", data: Buffer.from(`root:x:0:\nnonroot:x:${OPERATOR_UID}:\n`) },
      { path: "home/nonroot", type: "dir", uid: OPERATOR_UID, gid: OPERATOR_UID },
      { path: "app/vso.mjs", type: "file", mode: 0o644, data: bundle },
    ]);
  return {
    name: operatorImageName(version),
    entries,
    entrypoint: ["/usr/local/bin/node", "--disable-warning=ExperimentalWarning", "/app/vso.mjs"],
    cmd: ["run"],
    user: `${OPERATOR_UID}:${OPERATOR_UID}`,
    env: ["PATH=/usr/local/bin", "NODE_ENV=production"],
    workingDir: "/app",
    labels: {
      "org.opencontainers.image.title": "vso-ts",
      "org.opencontainers.image.version": version,
      "org.opencontainers.image.licenses": "Apache-2.0",
      "org.opencontainers.image.description": "Vault Secrets Operator API, in TypeScript",
    },
  };
}

export async function buildOperatorImage(): Promise<BuiltImage & { name: string; bundleBytes: number }> {
  const bundle = await bundleOperator();
  const spec = operatorImageSpec(bundle);
  return { ...buildImage(spec), name: spec.name, bundleBytes: bundle.length };
}

/**
 * The operator image's archive in the cache, rebuilt only when the bundle (the
 * code) or the Node.js binary changed; for loading into the local node.
 */
export async function cachedOperatorImage(): Promise<{ file: string; name: string }> {
  const bundle = await bundleOperator();
  const key = createHash("sha256").update(bundle).digest("hex").slice(0, 16);
  const name = operatorImageName();
  const file = cachedArchive(name, [process.execPath], () => operatorImageSpec(bundle), key);
  return { file, name };
}
