// OCI image archives without a registry or a Docker engine: one layer (a tar of
// the root filesystem), the image config, the manifest and an OCI image layout
// (oci-layout, index.json, blobs/sha256/...) wrapped in a tar, the format
// `ctr images import` and standard OCI tools read. Deterministic: the same
// entries give the same digests (mtime 0 everywhere, gzip without a name or time).
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { type TarEntry, tarArchive } from "./tar.ts";

export interface ImageSpec {
  /** Full reference, e.g. "docker.io/library/busybox:1.35". */
  name: string;
  entries: TarEntry[];
  entrypoint?: string[];
  cmd?: string[];
  user?: string;
  env?: string[];
  workingDir?: string;
  labels?: Record<string, string>;
}

export interface BuiltImage {
  archive: Buffer;
  manifestDigest: string;
  layerBytes: number;
}

const sha256 = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** Adds the parent directories an entry list lacks, and sorts by path, so every layer is well formed. */
export function normalizeEntries(entries: TarEntry[]): TarEntry[] {
  const byPath = new Map<string, TarEntry>();
  for (const e of entries)
    byPath.set(e.path.replace(/^\/+|\/+$/g, ""), { ...e, path: e.path.replace(/^\/+|\/+$/g, "") });
  for (const p of [...byPath.keys()]) {
    const parts = p.split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      if (!byPath.has(dir)) byPath.set(dir, { path: dir, type: "dir" });
    }
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export function buildImage(spec: ImageSpec): BuiltImage {
  const layerTar = tarArchive(normalizeEntries(spec.entries));
  const layer = gzipSync(layerTar, { level: 1 });
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: {
        ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
        ...(spec.cmd ? { Cmd: spec.cmd } : {}),
        ...(spec.user ? { User: spec.user } : {}),
        Env: spec.env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        ...(spec.workingDir ? { WorkingDir: spec.workingDir } : {}),
        ...(spec.labels ? { Labels: spec.labels } : {}),
      },
      rootfs: { type: "layers", diff_ids: [sha256(layerTar)] },
      history: [{ created_by: "vso-ts image writer" }],
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: sha256(config),
        size: config.length,
      },
      layers: [
        {
          mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
          digest: sha256(layer),
          size: layer.length,
        },
      ],
    }),
  );
  const manifestDigest = sha256(manifest);
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: manifestDigest,
          size: manifest.length,
          platform: { architecture: "amd64", os: "linux" },
          annotations: {
            "io.containerd.image.name": spec.name,
            "org.opencontainers.image.ref.name": spec.name.slice(spec.name.lastIndexOf(":") + 1),
          },
        },
      ],
    }),
  );
  const blob = (b: Buffer): TarEntry => ({
    path: `blobs/sha256/${sha256(b).slice(7)}`,
    type: "file",
    data: b,
  });
  const archive = tarArchive([
    { path: "oci-layout", type: "file", data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
    { path: "index.json", type: "file", data: index },
    { path: "blobs", type: "dir" },
    { path: "blobs/sha256", type: "dir" },
    blob(config),
    blob(layer),
    blob(manifest),
  ]);
  return { archive, manifestDigest, layerBytes: layer.length };
}
