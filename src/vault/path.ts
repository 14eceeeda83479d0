// Vault API paths come partly from users (mount, path, role, issuer). Before a
// path becomes part of a URL, every segment is checked and percent-encoded, so
// that no value can leave its mount ('.' or '..' segments, which HTTP clients
// and servers resolve) or end the path early ('?' or '#' starting a query
// string or fragment). The CRD schema refuses such values at apply; this is
// the check nothing can bypass.
import { ConfigurationError } from "../runtime/errors.ts";

export class VaultPathError extends ConfigurationError {
  constructor(path: string, why: string) {
    super(`invalid Vault path ${JSON.stringify(path)}: ${why}`);
    this.name = "VaultPathError";
  }
}

const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * The URL form of a Vault API path (what follows /v1/): empty segments
 * collapsed (a trailing slash kept, it means LIST in Vault), each segment
 * percent-encoded; '.' and '..' segments and control characters refused.
 */
export function encodeVaultPath(path: string): string {
  const segments = path.split("/");
  const out: string[] = [];
  segments.forEach((s, i) => {
    if (s === "") {
      if (i === segments.length - 1 && out.length > 0) out.push("");
      return;
    }
    if (s === "." || s === "..") throw new VaultPathError(path, `a '${s}' segment would leave the mount`);
    if (CONTROL.test(s)) throw new VaultPathError(path, "control characters are not allowed");
    out.push(encodeURIComponent(s));
  });
  if (out.length === 0) throw new VaultPathError(path, "the path is empty");
  return out.join("/");
}
