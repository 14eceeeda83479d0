// `vso render`: renders a resource's transformation offline, exactly as the
// operator would write the Secret data (templates, SecretTransformation refs
// found in the same manifest file, includes/excludes, _raw), so templates can
// be debugged without a cluster. Values are masked unless --show-values.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { parseAllDocuments, stringify } from "yaml";
import type { SecretTransformation, Transformation } from "../api/index.ts";
import type { KubeObject } from "../kube/client.ts";
import { validateSecretTransformation } from "../operator/controllers/secrettransformation.ts";
import { renderTransformation } from "../operator/controllers/transformation.ts";
import { buildSecretData, keyedMap } from "../operator/secret-data.ts";
import { parseJsonKeepingNumbers } from "../util/gojson.ts";

const USAGE =
  "usage: vso render -f MANIFEST --data DATA.json [--metadata META.json] [--show-values] [--exclude-raw] [-o text|json|yaml]";

interface Resource extends KubeObject {
  spec?: { type?: string; destination?: { transformation?: Transformation } };
}

function readJson(path: string, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = parseJsonKeepingNumbers(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
  if (v === null || typeof v !== "object" || Array.isArray(v))
    throw new Error(`${what} ${path} must hold a JSON object`);
  return v as Record<string, unknown>;
}

function mask(v: Buffer): string {
  return `<${v.length} bytes, sha256:${createHash("sha256").update(v).digest("hex").slice(0, 12)}>`;
}

export async function renderCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      file: { type: "string", short: "f" },
      data: { type: "string" },
      metadata: { type: "string" },
      "show-values": { type: "boolean", default: false },
      "exclude-raw": { type: "boolean", default: false },
      output: { type: "string", short: "o", default: "text" },
    },
  });
  if (!values.file || !values.data) {
    console.error(USAGE);
    return 2;
  }
  if (!["text", "json", "yaml"].includes(values.output ?? "")) {
    console.error(`vso render: -o must be text, json or yaml\n${USAGE}`);
    return 2;
  }
  const docs = parseAllDocuments(readFileSync(values.file, "utf8"), { uniqueKeys: false })
    .map((d) => d.toJS() as Resource | null)
    .filter((d): d is Resource => d !== null && typeof d === "object");
  const transformations = docs.filter(
    (d) => d.kind === "SecretTransformation",
  ) as unknown as SecretTransformation[];
  for (const st of transformations) {
    st.metadata.namespace ??= "default";
    const err = await validateSecretTransformation(st);
    st.status = { valid: err === undefined, error: err ?? "" };
  }
  const resource = docs.find((d) => d.spec?.destination !== undefined);
  if (!resource) throw new Error(`${values.file} has no resource with spec.destination`);
  resource.metadata.namespace ??= "default";
  const secrets = readJson(values.data, "data file");
  const metadata = values.metadata ? readJson(values.metadata, "metadata file") : {};
  const tr = resource.spec?.destination?.transformation;
  const lookup = {
    informers: {
      secretTransformations: {
        get: (ns: string, name: string) =>
          transformations.find((s) => s.metadata.name === name && s.metadata.namespace === ns),
      },
    },
  } as unknown as Parameters<typeof renderTransformation>[0];
  const rendered = await renderTransformation(lookup, resource, tr, secrets, metadata);
  const kvV2 = resource.kind === "VaultStaticSecret" && resource.spec?.type === "kv-v2";
  const data = buildSecretData({
    secrets,
    raw: kvV2 ? { data: secrets, metadata } : secrets,
    filter: rendered.filter,
    excludeRaw: Boolean(tr?.excludeRaw) || Boolean(values["exclude-raw"]),
    rendered: rendered.values,
  });
  const out = keyedMap<string>();
  for (const k of Object.keys(data).sort())
    out[k] = values["show-values"] ? data[k].toString("utf8") : mask(data[k]);
  if (values.output === "json") console.log(JSON.stringify(out, null, 2));
  else if (values.output === "yaml") process.stdout.write(stringify(out));
  else {
    console.log(
      `# ${resource.kind} ${resource.metadata.namespace}/${resource.metadata.name}: ${Object.keys(out).length} keys`,
    );
    for (const [k, v] of Object.entries(out)) {
      if (v.includes("\n")) console.log(`${k}: |\n${v.replace(/^/gm, "  ")}`);
      else console.log(`${k}: ${v}`);
    }
  }
  return 0;
}
