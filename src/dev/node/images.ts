// The local node's images, built from files on this machine and imported into
// its containerd (no registry): the pod sandbox's pause, a busybox test image
// and a Node.js runtime image. Archives are cached by content under
// $VSO_TS_CACHE/images, so a second `up` only imports them.
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { cacheDir } from "../paths.ts";
import { buildImage, type ImageSpec } from "./oci-image.ts";
import type { TarEntry } from "./tar.ts";

export const PAUSE_IMAGE = "registry.k8s.io/pause:3.10";
export const BUSYBOX_IMAGE = "docker.io/library/busybox:1.35";
export const NODE_IMAGE = "vso-dev.local/node:24";
/** The walkthrough's app image name; here busybox's shell with PostgreSQL 15's psql from this machine. */
export const PSQL_IMAGE = "docker.io/library/postgres:15-alpine";
/** The playground's in-cluster Vault: OpenBao's binary, also named `vault`, with busybox's shell. */
export const OPENBAO_IMAGE = "vso-dev.local/openbao:2";

const PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
const GROUP = "root:x:0:\nnogroup:x:65534:\n";

/** /etc/passwd, /etc/group and a world-writable /tmp: what most programs expect of a root filesystem. */
export function baseEntries(): TarEntry[] {
  return [
    { path: "etc/passwd", type: "file", data: Buffer.from(PASSWD) },
    { path: "etc/group", type: "file", data: Buffer.from(GROUP) },
    { path: "tmp", type: "dir", mode: 0o1777 },
  ];
}

/** A file of this machine, with its permission bits (the dynamic loader, for one, must stay executable). */
function fileEntry(path: string, source: string, mode?: number): TarEntry {
  const real = realpathSync(source);
  return { path, type: "file", mode: mode ?? statSync(real).mode & 0o7777, data: readFileSync(real) };
}

export function pauseImage(pauseBinary: string): ImageSpec {
  return {
    name: PAUSE_IMAGE,
    entries: [fileEntry("pause", pauseBinary)],
    entrypoint: ["/pause"],
    user: "65535:65535",
  };
}

export function busyboxImage(busybox = "/bin/busybox"): ImageSpec {
  const applets = execFileSync(busybox, ["--list"], { encoding: "utf8" }).split("\n").filter(Boolean);
  const entries: TarEntry[] = [...baseEntries(), fileEntry("bin/busybox", busybox)];
  for (const a of applets) {
    if (a !== "busybox") entries.push({ path: `bin/${a}`, type: "symlink", linkTarget: "busybox" });
  }
  return { name: BUSYBOX_IMAGE, entries, cmd: ["sh"] };
}

/**
 * A shell and psql: what the walkthrough's `myapp` runs (`sh -c 'while true; do
 * psql postgresql://... -c "SELECT version();"; ...'`), under the image name it uses.
 */
export function psqlImage(psql: string, busybox = "/bin/busybox"): ImageSpec {
  const shell = busyboxImage(busybox).entries;
  return {
    name: PSQL_IMAGE,
    entries: [
      ...shell,
      fileEntry("usr/local/bin/psql", psql),
      ...sharedLibraries(psql).map((l) => fileEntry(l.slice(1), l)),
    ],
    env: ["PATH=/usr/local/bin:/bin", "PGCONNECT_TIMEOUT=5"],
    cmd: ["sh"],
  };
}

/**
 * OpenBao as the walkthrough's `vault-0` runs it: the statically linked `bao`
 * binary this machine already has, `vault` as a second name for it (so
 * `kubectl exec -n vault vault-0 -- vault ...` works as written) and a shell
 * for `kubectl exec -it vault-0 -- sh`. Its entrypoint is the server.
 */
export function openbaoImage(bao: string, busybox = "/bin/busybox"): ImageSpec {
  return {
    name: OPENBAO_IMAGE,
    entries: [
      ...busyboxImage(busybox).entries,
      fileEntry("bin/bao", bao),
      { path: "bin/vault", type: "symlink", linkTarget: "bao" },
    ],
    env: ["PATH=/bin", "HOME=/tmp"],
    entrypoint: ["/bin/bao"],
    cmd: ["server", "-dev"],
  };
}

/** The shared libraries a dynamically linked binary loads, as (path in the image, file on this machine). */
export function sharedLibraries(binary: string): string[] {
  const out = execFileSync("ldd", [binary], { encoding: "utf8" });
  const libs: string[] = [];
  for (const line of out.split("\n")) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]);
  }
  return libs;
}

/** The Node.js binary this process runs on, with its libraries: enough to run JavaScript in a Pod. */
export function nodeRuntimeEntries(nodeBinary = process.execPath): TarEntry[] {
  return [
    ...baseEntries(),
    fileEntry("usr/local/bin/node", nodeBinary),
    ...sharedLibraries(nodeBinary).map((l) => fileEntry(l.slice(1), l)),
  ];
}

export function nodeImage(): ImageSpec {
  return { name: NODE_IMAGE, entries: nodeRuntimeEntries(), entrypoint: ["/usr/local/bin/node"] };
}

/**
 * The image archive's path in the cache, built by `make` on first use. The key
 * names the inputs (binary paths and their sizes and times), so a changed input
 * builds a new archive.
 */
export function cachedArchive(name: string, inputs: string[], make: () => ImageSpec, extraKey = ""): string {
  const dir = join(cacheDir(), "images");
  mkdirSync(dir, { recursive: true });
  const h = createHash("sha256").update(name).update(extraKey);
  for (const f of inputs) {
    const st = statSync(realpathSync(f));
    h.update(`\n${f}:${st.size}:${st.mtimeMs}`);
  }
  const file = join(dir, `${name.replace(/[^a-zA-Z0-9.-]+/g, "_")}-${h.digest("hex").slice(0, 16)}.tar`);
  if (existsSync(file)) return file;
  const { archive } = buildImage(make());
  // Several processes (parallel test files) may build the same archive: each writes its own
  // temporary file and the rename makes one of them the archive, whole.
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(tmp, archive);
  renameSync(tmp, file);
  return file;
}

/** Imports an OCI archive into containerd's k8s.io namespace, where the kubelet finds it. */
export function importImage(ctr: string, address: string, archive: string): void {
  execFileSync(ctr, ["--address", address, "-n", "k8s.io", "images", "import", "--local", archive], {
    stdio: ["ignore", "pipe", "pipe"],
  });
}
