// Go encoding/json compatibility for the few shapes where byte-exact output
// matters: strings (Go escapes <, >, &, U+2028, U+2029 and control characters,
// and replaces invalid UTF-16 with U+FFFD) and maps, whose keys Go sorts by
// byte order of their UTF-8 encoding.

const HEX = "0123456789abcdef";

export function goJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += s[i] + s[i + 1];
        i++;
      } else out += "\ufffd";
      continue;
    }
    if (c >= 0xdc00 && c <= 0xdfff) {
      out += "\ufffd";
      continue;
    }
    switch (c) {
      case 0x22:
        out += '\\"';
        continue;
      case 0x5c:
        out += "\\\\";
        continue;
      case 0x0a:
        out += "\\n";
        continue;
      case 0x0d:
        out += "\\r";
        continue;
      case 0x09:
        out += "\\t";
        continue;
      case 0x08:
        out += "\\b";
        continue;
      case 0x0c:
        out += "\\f";
        continue;
    }
    if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) {
      out += `\\u${HEX[(c >> 12) & 15]}${HEX[(c >> 8) & 15]}${HEX[(c >> 4) & 15]}${HEX[c & 15]}`;
      continue;
    }
    out += s[i];
  }
  return `${out}"`;
}

/** Go's map key order: byte-wise comparison of the UTF-8 encodings. */
export function goSortedKeys(obj: Record<string, unknown>): string[] {
  return Object.keys(obj).sort((a, b) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")));
}

/** json.Marshal(map[string][]byte): values become standard base64 strings. */
export function goMarshalBytesMap(data: Record<string, Buffer>): string {
  const parts = goSortedKeys(data).map((k) => `${goJsonString(k)}:"${data[k].toString("base64")}"`);
  return `{${parts.join(",")}}`;
}

/**
 * A JSON number kept as its source text, like Go's json.Number: Vault's Go
 * client decodes responses with UseNumber, so numbers round-trip verbatim
 * (1.50 stays "1.50", 1e3 stays "1e3") when VSO re-encodes them.
 */
export class JsonNumber {
  readonly source: string;
  constructor(source: string) {
    this.source = source;
  }
  valueOf(): number {
    return Number(this.source);
  }
  toString(): string {
    return this.source;
  }
  toJSON(): number {
    return Number(this.source);
  }
}

/** JSON.parse that keeps numbers as JsonNumber (needs the reviver's source text, Node >= 22). */
export function parseJsonKeepingNumbers(text: string): unknown {
  return JSON.parse(text, (_key, value, context?: { source?: string }) =>
    typeof value === "number" && context?.source !== undefined ? new JsonNumber(context.source) : value,
  );
}

/** Go's json.Marshal of a decoded JSON value (maps with sorted keys, HTML-safe escaping). */
export function goMarshal(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (value instanceof JsonNumber) return value.source;
  if (typeof value === "string") return goJsonString(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") return goFloat(value);
  if (Array.isArray(value)) return `[${value.map(goMarshal).join(",")}]`;
  if (Buffer.isBuffer(value)) return `"${value.toString("base64")}"`;
  if (typeof value === "object") {
    const obj = value as Record<string, unknown>;
    return `{${goSortedKeys(obj)
      .map((k) => `${goJsonString(k)}:${goMarshal(obj[k])}`)
      .join(",")}}`;
  }
  throw new Error(`cannot encode ${typeof value} as JSON`);
}

/**
 * Go's encoding of a float64: shortest representation, 'e' notation below 1e-6
 * and from 1e21 (Go then trims "e-07" to "e-7"), which is exactly what
 * ECMAScript's Number#toString and #toExponential produce; only -0 differs.
 */
function goFloat(f: number): string {
  if (!Number.isFinite(f)) throw new Error(`json: unsupported value: ${f}`);
  if (Object.is(f, -0)) return "-0";
  const abs = Math.abs(f);
  return abs !== 0 && (abs < 1e-6 || abs >= 1e21) ? f.toExponential() : String(f);
}
