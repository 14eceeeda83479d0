// A minimal, reproducible tar writer for image layers: regular files,
// directories and symlinks, ustar headers with the 155+100 name split and PAX
// records for longer names or link targets. Written here rather than taken
// from npm because `vso dev` and the image build live in src/ and a tar
// package would have to ship with the operator for these ~80 lines.
// Every entry gets mtime 0 and uid/gid 0 unless given, so the same inputs
// always give the same bytes (and the same image digest).

export interface TarEntry {
  path: string; // relative, no leading "/"; directories without a trailing slash
  type: "file" | "dir" | "symlink";
  mode?: number;
  data?: Buffer; // files
  linkTarget?: string; // symlinks
  uid?: number;
  gid?: number;
}

const BLOCK = 512;

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, "0")}\0`;
}

function header(
  name: string,
  prefix: string,
  e: TarEntry,
  size: number,
  typeflag: string,
  link: string,
): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, "utf8");
  h.write(octal(e.mode ?? (e.type === "dir" ? 0o755 : e.type === "symlink" ? 0o777 : 0o644), 8), 100);
  h.write(octal(e.uid ?? 0, 8), 108);
  h.write(octal(e.gid ?? 0, 8), 116);
  h.write(octal(size, 12), 124);
  h.write(octal(0, 12), 136); // mtime
  h.write("        ", 148); // checksum placeholder
  h.write(typeflag, 156);
  h.write(link, 157, 100, "utf8");
  h.write("ustar\0", 257);
  h.write("00", 263);
  h.write(prefix, 345, 155, "utf8");
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  return h;
}

function pad(len: number): Buffer {
  const rest = len % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** Splits a path into ustar's prefix and name fields, or undefined when it does not fit. */
function splitName(path: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(path) <= 100) return { prefix: "", name: path };
  for (let i = path.indexOf("/"); i > 0; i = path.indexOf("/", i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return { prefix, name };
  }
  return undefined;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (`${len}${body}`.length !== len) len = Buffer.byteLength(`${len}${body}`);
  return `${len}${body}`;
}

/** The tar archive of the entries, in the order given, with the two closing zero blocks. */
export function tarArchive(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const path = e.type === "dir" ? `${e.path}/` : e.path;
    const link = e.linkTarget ?? "";
    const data = e.type === "file" ? (e.data ?? Buffer.alloc(0)) : Buffer.alloc(0);
    const split = splitName(path);
    const longLink = Buffer.byteLength(link) > 100;
    if (!split || longLink) {
      let pax = "";
      if (!split) pax += paxRecord("path", path);
      if (longLink) pax += paxRecord("linkpath", link);
      const paxData = Buffer.from(pax);
      parts.push(
        header("PaxHeader", "", { path: "", type: "file" }, paxData.length, "x", ""),
        paxData,
        pad(paxData.length),
      );
    }
    const { prefix, name } = split ?? { prefix: "", name: path.slice(-100) };
    const typeflag = e.type === "dir" ? "5" : e.type === "symlink" ? "2" : "0";
    parts.push(header(name, prefix, e, data.length, typeflag, longLink ? "" : link), data, pad(data.length));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}
