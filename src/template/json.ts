// Go encoding/json over the value model: Marshal / MarshalIndent / Encoder(SetEscapeHTML(false))
// and Unmarshal into interface{} (optionally with UseNumber), with Go's error messages.
import { chargeSteps } from "./budget.ts";
import { formatFloat, quote } from "./strconv.ts";
import { formatTime } from "./timefmt.ts";
import {
  GoInt,
  GoSemver,
  GoStruct,
  GoTime,
  Iface,
  isNilContainer,
  JsonNumber,
  sortedKeys,
  typeName,
} from "./values.ts";

export class JsonError extends Error {}

const jsonNames: Record<string, Record<string, string>> = {
  "helpers.SecretInput": {
    Secrets: "secrets",
    Metadata: "metadata",
    Annotations: "annotations",
    Labels: "labels",
  },
};

function encodeString(s: string, escapeHTML: boolean): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (
      c >= 0x20 &&
      c !== 0x22 &&
      c !== 0x5c &&
      c < 0x7f &&
      !(escapeHTML && (c === 0x3c || c === 0x3e || c === 0x26))
    ) {
      out += s[i];
      continue;
    }
    if (c < 0x80) {
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
      }
      if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26) {
        out += "\\u00" + c.toString(16).padStart(2, "0");
        continue;
      }
      out += s[i];
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out += s[i] + s[i + 1];
        i++;
        continue;
      }
      out += "\\ufffd";
      continue;
    }
    if (c >= 0xdc00 && c <= 0xdfff) {
      out += "\\ufffd";
      continue;
    }
    if (c === 0x2028 || c === 0x2029) {
      out += "\\u" + c.toString(16);
      continue;
    }
    out += s[i];
  }
  return out + '"';
}

function encodeFloat(f: number): string {
  if (!Number.isFinite(f)) throw new JsonError(`json: unsupported value: ${formatFloat(f, "g", -1)}`);
  const abs = Math.abs(f);
  let fmt: "f" | "e" = "f";
  if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) fmt = "e";
  let s = formatFloat(f, fmt, -1);
  if (fmt === "e") {
    // clean up e-09 to e-9
    const n = s.length;
    if (n >= 4 && s[n - 4] === "e" && s[n - 3] === "-" && s[n - 2] === "0")
      s = s.slice(0, n - 2) + s.slice(n - 1);
  }
  return s;
}

const numberRe = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

function encode(v: unknown, escapeHTML: boolean): string {
  chargeSteps(1);
  if (v instanceof Iface) v = v.v;
  if (v === null || v === undefined) return "null";
  switch (typeof v) {
    case "string":
      return encodeString(v, escapeHTML);
    case "boolean":
      return v ? "true" : "false";
    case "number":
      return encodeFloat(v);
  }
  if (v instanceof GoInt) return v.v.toString();
  if (v instanceof JsonNumber) {
    if (v.s === "") return "0";
    if (!numberRe.test(v.s)) throw new JsonError(`json: invalid number literal ${quote(v.s)}`);
    return v.s;
  }
  if (Array.isArray(v)) {
    if (isNilContainer(v)) return "null";
    return "[" + v.map((x) => encode(x, escapeHTML)).join(",") + "]";
  }
  if (v instanceof Map) {
    if (isNilContainer(v)) return "null";
    return (
      "{" +
      sortedKeys(v)
        .map((k) => encodeString(k, escapeHTML) + ":" + encode(v.get(k), escapeHTML))
        .join(",") +
      "}"
    );
  }
  if (v instanceof Uint8Array) return '"' + Buffer.from(v).toString("base64") + '"';
  if (v instanceof GoTime) return '"' + formatTime(v, "2006-01-02T15:04:05.999999999Z07:00") + '"';
  if (v instanceof GoSemver) return encodeString(v.toString(), escapeHTML);
  if (v instanceof GoStruct) {
    const names = jsonNames[v.type] ?? {};
    const parts: string[] = [];
    for (const [k, x] of v.fields) {
      if (k[0] < "A" || k[0] > "Z") continue;
      parts.push(encodeString(names[k] ?? k, escapeHTML) + ":" + encode(x, escapeHTML));
    }
    return "{" + parts.join(",") + "}";
  }
  throw new JsonError(`json: unsupported type: ${typeName(v)}`);
}

/** json.Marshal */
export function marshal(v: unknown): string {
  return encode(v, true);
}

/** json.NewEncoder + SetEscapeHTML(false), without the trailing newline. */
export function marshalNoEscape(v: unknown): string {
  return encode(v, false);
}

/** json.MarshalIndent(v, "", indent) */
export function marshalIndent(v: unknown, indent: string): string {
  return indentJSON(encode(v, true), indent);
}

function indentJSON(src: string, indent: string): string {
  let out = "";
  let depth = 0;
  let needIndent = false;
  let inString = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (inString) {
      out += c;
      if (c === "\\") {
        out += src[++i];
      } else if (c === '"') inString = false;
      continue;
    }
    if (needIndent && c !== "]" && c !== "}") {
      needIndent = false;
      depth++;
      out += "\n" + indent.repeat(depth);
    }
    switch (c) {
      case '"':
        inString = true;
        out += c;
        break;
      case "{":
      case "[":
        out += c;
        needIndent = true;
        break;
      case ",":
        out += c + "\n" + indent.repeat(depth);
        break;
      case ":":
        out += ": ";
        break;
      case "}":
      case "]":
        if (needIndent) {
          needIndent = false;
        } else {
          depth--;
          out += "\n" + indent.repeat(depth);
        }
        out += c;
        break;
      default:
        out += c;
    }
  }
  return out;
}

// ---- decoding ------------------------------------------------------------------------------

function quoteChar(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '"') return "'\"'";
  const q = quote(c);
  return "'" + q.slice(1, -1) + "'";
}

class Decoder {
  s: string;
  i = 0;
  useNumber: boolean;
  constructor(s: string, useNumber: boolean) {
    this.s = s;
    this.useNumber = useNumber;
  }

  eof(): never {
    throw new JsonError("unexpected end of JSON input");
  }
  bad(c: string, ctx: string): never {
    throw new JsonError(`invalid character ${quoteChar(c)} ${ctx}`);
  }
  ws(): void {
    while (this.i < this.s.length) {
      const c = this.s[this.i];
      if (c === " " || c === "\t" || c === "\n" || c === "\r") this.i++;
      else break;
    }
  }
  /** The next character; at the end, Go's scanner sees a space (eof steps with ' '). */
  chOrSpace(): string {
    if (this.i >= this.s.length) return " ";
    return this.ch();
  }
  ch(): string {
    if (this.i >= this.s.length) this.eof();
    const cp = this.s.codePointAt(this.i)!;
    return String.fromCodePoint(cp);
  }

  value(): unknown {
    this.ws();
    const c = this.ch();
    switch (c) {
      case "{":
        return this.object();
      case "[":
        return this.array();
      case '"':
        return this.string();
      case "t":
        return this.literal("true", true);
      case "f":
        return this.literal("false", false);
      case "n":
        return this.literal("null", null);
    }
    if (c === "-" || (c >= "0" && c <= "9")) return this.number();
    this.bad(c, "looking for beginning of value");
  }

  literal(word: string, v: unknown): unknown {
    this.i++;
    for (let k = 1; k < word.length; k++) {
      const c = this.chOrSpace();
      if (c !== word[k]) this.bad(c, `in literal ${word} (expecting ${quoteChar(word[k])})`);
      this.i++;
    }
    return v;
  }

  number(): unknown {
    const start = this.i;
    if (this.s[this.i] === "-") {
      this.i++;
      const c = this.chOrSpace();
      if (!(c >= "0" && c <= "9")) this.bad(c, "in numeric literal");
    }
    if (this.s[this.i] === "0") this.i++;
    else while (this.i < this.s.length && this.s[this.i] >= "0" && this.s[this.i] <= "9") this.i++;
    if (this.s[this.i] === ".") {
      this.i++;
      const c = this.chOrSpace();
      if (!(c >= "0" && c <= "9")) this.bad(c, "after decimal point in numeric literal");
      while (this.i < this.s.length && this.s[this.i] >= "0" && this.s[this.i] <= "9") this.i++;
    }
    if (this.s[this.i] === "e" || this.s[this.i] === "E") {
      this.i++;
      let c = this.chOrSpace();
      if (c === "+" || c === "-") {
        this.i++;
        c = this.chOrSpace();
      }
      if (!(c >= "0" && c <= "9")) this.bad(c, "in exponent of numeric literal");
      while (this.i < this.s.length && this.s[this.i] >= "0" && this.s[this.i] <= "9") this.i++;
    }
    const text = this.s.slice(start, this.i);
    if (this.useNumber) return new JsonNumber(text);
    const f = Number(text);
    if (!Number.isFinite(f)) {
      throw new JsonError(`json: cannot unmarshal number ${text} into Go value of type float64`);
    }
    return f;
  }

  string(): string {
    this.i++;
    let out = "";
    for (;;) {
      if (this.i >= this.s.length) this.eof();
      const c = this.s[this.i];
      if (c === '"') {
        this.i++;
        return out;
      }
      if (c === "\\") {
        this.i++;
        const e = this.ch();
        this.i++;
        switch (e) {
          case '"':
          case "\\":
          case "/":
            out += e;
            break;
          case "b":
            out += "\b";
            break;
          case "f":
            out += "\f";
            break;
          case "n":
            out += "\n";
            break;
          case "r":
            out += "\r";
            break;
          case "t":
            out += "\t";
            break;
          case "u": {
            let code = 0;
            for (let k = 0; k < 4; k++) {
              const h = this.ch();
              if (!/[0-9a-fA-F]/.test(h)) this.bad(h, "in \\u hexadecimal character escape");
              code = code * 16 + Number.parseInt(h, 16);
              this.i++;
            }
            if (code >= 0xd800 && code <= 0xdbff) {
              // try a following low surrogate
              const m = /^\\u([dD][c-fC-F][0-9a-fA-F]{2})/.exec(this.s.slice(this.i, this.i + 6));
              if (m) {
                out += String.fromCharCode(code, Number.parseInt(m[1], 16));
                this.i += 6;
                break;
              }
              out += "\ufffd";
              break;
            }
            if (code >= 0xdc00 && code <= 0xdfff) {
              out += "\ufffd";
              break;
            }
            out += String.fromCharCode(code);
            break;
          }
          default:
            this.bad(e, "in string escape code");
        }
        continue;
      }
      if (c.charCodeAt(0) < 0x20) this.bad(c, "in string literal");
      out += c;
      this.i++;
    }
  }

  object(): Map<string, unknown> {
    this.i++;
    const m = new Map<string, unknown>();
    this.ws();
    if (this.ch() === "}") {
      this.i++;
      return m;
    }
    for (;;) {
      this.ws();
      const c = this.ch();
      if (c !== '"') this.bad(c, "looking for beginning of object key string");
      const k = this.string();
      this.ws();
      const d = this.ch();
      if (d !== ":") this.bad(d, "after object key");
      this.i++;
      const v = this.value();
      m.set(k, v);
      this.ws();
      const e = this.ch();
      this.i++;
      if (e === ",") continue;
      if (e === "}") return m;
      this.i--;
      this.bad(e, "after object key:value pair");
    }
  }

  array(): unknown[] {
    this.i++;
    const a: unknown[] = [];
    this.ws();
    if (this.ch() === "]") {
      this.i++;
      return a;
    }
    for (;;) {
      a.push(this.value());
      this.ws();
      const e = this.ch();
      this.i++;
      if (e === ",") continue;
      if (e === "]") return a;
      this.i--;
      this.bad(e, "after array element");
    }
  }
}

/** json.Unmarshal(data, &v) with v interface{}; numbers as json.Number when useNumber. */
export function unmarshal(s: string, useNumber = false): unknown {
  const d = new Decoder(s, useNumber);
  const v = d.value();
  d.ws();
  if (d.i < s.length) d.bad(d.ch(), "after top-level value");
  return v;
}
