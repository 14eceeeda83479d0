// `make image`: writes the operator's OCI image archive to dist/ and prints
// its name, digest and sizes. Load it into a containerd with
// `ctr -n k8s.io images import FILE`, or push it with any OCI tool
// (e.g. `skopeo copy oci-archive:FILE docker://REGISTRY/vso-ts:TAG`).
//
// usage: node scripts/build-image.ts [--out-dir DIR]   (default: dist/)
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildOperatorImage, operatorVersion } from "../src/dev/operator-image.ts";
import { REPO_ROOT } from "../src/dev/paths.ts";

const { values } = parseArgs({ options: { "out-dir": { type: "string" } } });
const t0 = Date.now();
const img = await buildOperatorImage();
const dir = values["out-dir"] ? resolve(values["out-dir"]) : join(REPO_ROOT, "dist");
mkdirSync(dir, { recursive: true });
const file = join(dir, `vso-ts-${operatorVersion()}.oci.tar`);
writeFileSync(file, img.archive);
const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
console.log(`image    ${img.name}`);
console.log(`digest   ${img.manifestDigest}`);
console.log(
  `archive  ${file} (${mib(img.archive.length)}; layer ${mib(img.layerBytes)} compressed; operator bundle ${mib(img.bundleBytes)})`,
);
console.log(`built in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
