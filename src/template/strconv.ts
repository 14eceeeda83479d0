// Parts of Go's strconv: float formatting (FormatFloat for 'e', 'f', 'g' with exact
// round-half-even on the binary value), string and rune quoting, integer parsing.

interface Digits {
  d: string; // significant decimal digits, no leading zeros ("" for zero)
  dp: number; // decimal point position: value = 0.d × 10^dp
  neg: boolean;
}

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** The exact decimal expansion of a finite double. */
function exactDigits(v: number): Digits {
  f64[0] = v;
  const bits = u64[0];
  const neg = bits >> 63n === 1n;
  const expBits = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & 0xfffffffffffffn;
  let exp: number;
  if (expBits === 0) {
    exp = -1074;
  } else {
    mant |= 1n << 52n;
    exp = expBits - 1075;
  }
  if (mant === 0n) return { d: "", dp: 0, neg };
  let s: string;
  let dp: number;
  if (exp >= 0) {
    s = (mant << BigInt(exp)).toString();
    dp = s.length;
  } else {
    s = (mant * 5n ** BigInt(-exp)).toString();
    dp = s.length - -exp;
  }
  s = s.replace(/0+$/, "");
  return { d: s, dp, neg };
}

/** Shortest digits that round-trip (what Go's FormatFloat uses for precision -1). */
function shortestDigits(v: number): Digits {
  const neg = v < 0 || Object.is(v, -0);
  const a = Math.abs(v);
  if (a === 0) return { d: "", dp: 0, neg };
  const e = a.toExponential(); // "d.ddde+x"
  const m = /^(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(e)!;
  const d = (m[1] + (m[2] ?? "")).replace(/0+$/, "");
  return { d, dp: Number(m[3]) + 1, neg };
}

/** Round exact digits to nd significant digits, half to even. */
function roundDigits(x: Digits, nd: number): Digits {
  if (nd < 0) return { d: "", dp: x.dp, neg: x.neg };
  if (x.d.length <= nd) return x;
  let up = false;
  const c = x.d.charCodeAt(nd) - 48;
  if (c > 5) up = true;
  else if (c === 5) {
    if (nd + 1 < x.d.length) up = true;
    else up = nd > 0 && (x.d.charCodeAt(nd - 1) - 48) % 2 === 1;
  }
  if (!up) {
    return { d: x.d.slice(0, nd).replace(/0+$/, ""), dp: x.dp, neg: x.neg };
  }
  // round up
  const arr = x.d.slice(0, nd).split("");
  let i = nd - 1;
  while (i >= 0 && arr[i] === "9") {
    arr[i] = "0";
    i--;
  }
  if (i < 0) {
    return { d: "1", dp: x.dp + 1, neg: x.neg };
  }
  arr[i] = String.fromCharCode(arr[i].charCodeAt(0) + 1);
  return { d: arr.join("").slice(0, i + 1), dp: x.dp, neg: x.neg };
}

function digitAt(d: Digits, i: number): string {
  return i < d.d.length ? d.d[i] : "0";
}

function fmtE(d: Digits, prec: number, fmt: "e" | "E"): string {
  let s = d.neg ? "-" : "";
  s += d.d.length === 0 ? "0" : d.d[0];
  if (prec > 0) {
    s += ".";
    for (let i = 1; i <= prec; i++) s += digitAt(d, i);
  }
  s += fmt;
  let exp = d.d.length === 0 ? 0 : d.dp - 1;
  if (exp < 0) {
    s += "-";
    exp = -exp;
  } else s += "+";
  s += exp < 10 ? "0" + exp : String(exp);
  return s;
}

function fmtF(d: Digits, prec: number): string {
  let s = d.neg ? "-" : "";
  if (d.dp > 0) {
    let m = Math.min(d.d.length, d.dp);
    s += d.d.slice(0, m);
    for (; m < d.dp; m++) s += "0";
  } else s += "0";
  if (prec > 0) {
    s += ".";
    for (let i = 0; i < prec; i++) {
      const j = d.dp + i;
      s += j < 0 || j >= d.d.length ? "0" : d.d[j];
    }
  }
  return s;
}

/** strconv.FormatFloat(v, fmt, prec, 64) for fmt in e, E, f, g, G. */
export function formatFloat(
  v: number,
  fmt: "e" | "E" | "f" | "g" | "G" | "x" | "X" | "b",
  prec: number,
): string {
  if (fmt === "x" || fmt === "X") return formatFloatHex(v, fmt === "X", prec);
  if (fmt === "b") return formatFloatB(v);
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  const shortest = prec < 0;
  let digs: Digits;
  if (shortest) {
    digs = shortestDigits(v);
    switch (fmt) {
      case "e":
      case "E":
        prec = Math.max(digs.d.length - 1, 0);
        break;
      case "f":
        prec = Math.max(digs.d.length - digs.dp, 0);
        break;
      case "g":
      case "G":
        prec = digs.d.length;
        break;
    }
  } else {
    const exact = exactDigits(v);
    switch (fmt) {
      case "e":
      case "E":
        digs = roundDigits(exact, prec + 1);
        break;
      case "f":
        digs = roundDigits(exact, exact.dp + prec);
        break;
      default:
        if (prec === 0) prec = 1;
        digs = roundDigits(exact, prec);
    }
    if (digs.d.length === 0) digs = { d: "", dp: exact.d.length === 0 ? 0 : digs.dp, neg: exact.neg };
  }
  switch (fmt) {
    case "e":
    case "E":
      return fmtE(digs, prec, fmt);
    case "f":
      return fmtF(digs, prec);
  }
  let eprec = prec;
  const nd = digs.d.length;
  if (eprec > nd && nd >= digs.dp) eprec = nd;
  if (shortest) eprec = 6;
  const exp = digs.dp - 1;
  if (nd === 0) {
    // zero
    return fmtF(digs, 0);
  }
  if (exp < -4 || exp >= eprec) {
    if (prec > nd) prec = nd;
    return fmtE(digs, prec - 1, fmt === "g" ? "e" : "E");
  }
  if (prec > digs.dp) prec = nd;
  return fmtF(digs, Math.max(prec - digs.dp, 0));
}

function floatParts(v: number): { neg: boolean; mant: bigint; exp: number } {
  f64[0] = v;
  const bits = u64[0];
  const neg = bits >> 63n === 1n;
  let exp = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & 0xfffffffffffffn;
  if (exp === 0) exp++;
  else mant |= 1n << 52n;
  exp += -1023;
  return { neg, mant, exp };
}

/** strconv.FormatFloat(v, 'x'|'X', prec, 64) */
export function formatFloatHex(v: number, upper: boolean, prec = -1): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  let { neg, mant, exp } = floatParts(v);
  if (mant === 0n) exp = 0;
  mant <<= 8n;
  while (mant !== 0n && (mant & (1n << 60n)) === 0n) {
    mant = BigInt.asUintN(64, mant << 1n);
    exp--;
  }
  if (prec >= 0 && prec < 15) {
    const shift = BigInt(prec * 4);
    const extra = BigInt.asUintN(64, mant << shift) & ((1n << 60n) - 1n);
    mant >>= 60n - shift;
    if ((extra | (mant & 1n)) > 1n << 59n) mant++;
    mant = BigInt.asUintN(64, mant << (60n - shift));
    if ((mant & (1n << 61n)) !== 0n) {
      mant >>= 1n;
      exp++;
    }
  }
  const hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  let out = (neg ? "-" : "") + "0" + (upper ? "X" : "x") + String((mant >> 60n) & 1n);
  mant = BigInt.asUintN(64, mant << 4n);
  if (prec < 0 && mant !== 0n) {
    out += ".";
    while (mant !== 0n) {
      out += hex[Number((mant >> 60n) & 15n)];
      mant = BigInt.asUintN(64, mant << 4n);
    }
  } else if (prec > 0) {
    out += ".";
    for (let i = 0; i < prec; i++) {
      out += hex[Number((mant >> 60n) & 15n)];
      mant = BigInt.asUintN(64, mant << 4n);
    }
  }
  out += upper ? "P" : "p";
  out += exp < 0 ? "-" : "+";
  const e = Math.abs(exp);
  out += e < 10 ? "0" + e : String(e);
  return out;
}

/** strconv.FormatFloat(v, 'b', -1, 64) */
export function formatFloatB(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  const { neg, mant, exp } = floatParts(v);
  const e = exp - 52;
  return (neg ? "-" : "") + mant.toString() + "p" + (e >= 0 ? "+" : "-") + Math.abs(e);
}

// ---- quoting -------------------------------------------------------------------------------

const hexDigits = "0123456789abcdef";

/** Whether Go's unicode.IsPrint holds (approximation using Unicode general categories). */
const printRe = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
export function isPrint(r: number): boolean {
  if (r < 0x20) return false;
  if (r < 0x7f) return true;
  if (r >= 0x7f && r < 0xa1) return false;
  if (r === 0xad) return false;
  return printRe.test(String.fromCodePoint(r));
}

function appendEscapedRune(r: number, quote: number, asciiOnly: boolean): string {
  if (r === quote || r === 0x5c) return "\\" + String.fromCharCode(r);
  if (asciiOnly) {
    if (r < 0x80 && isPrint(r)) return String.fromCharCode(r);
  } else if (isPrint(r)) return String.fromCodePoint(r);
  switch (r) {
    case 7:
      return "\\a";
    case 8:
      return "\\b";
    case 12:
      return "\\f";
    case 10:
      return "\\n";
    case 13:
      return "\\r";
    case 9:
      return "\\t";
    case 11:
      return "\\v";
  }
  if (r < 0x20 || r === 0x7f) return "\\x" + hexDigits[r >> 4] + hexDigits[r & 0xf];
  if (r === 0xfffd_0000) return "";
  if (r < 0x10000) return "\\u" + r.toString(16).padStart(4, "0");
  return "\\U" + r.toString(16).padStart(8, "0");
}

/** strconv.Quote / QuoteToASCII. Lone surrogates are treated as invalid UTF-8 (\ufffd). */
export function quote(s: string, asciiOnly = false): string {
  let out = '"';
  for (const ch of s) {
    let r = ch.codePointAt(0)!;
    if (r >= 0xd800 && r <= 0xdfff) r = 0xfffd;
    if (r === 0xfffd && ch !== "\ufffd") {
      out += "\\ufffd";
      continue;
    }
    out += appendEscapedRune(r, 0x22, asciiOnly);
  }
  return out + '"';
}

export function quoteRune(r: number, asciiOnly = false): string {
  if (r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) r = 0xfffd;
  return "'" + appendEscapedRune(r, 0x27, asciiOnly) + "'";
}

export function canBackquote(s: string): boolean {
  for (const ch of s) {
    const r = ch.codePointAt(0)!;
    if (r === 0xfeff) return false;
    if (r === 0x60) return false;
    if (r < 0x20 && r !== 9) return false;
    if (r === 0x7f) return false;
    if (r === 0xfffd) return false;
  }
  return true;
}

// ---- parsing -------------------------------------------------------------------------------

export class NumError extends Error {
  readonly func: string;
  readonly num: string;
  readonly reason: "invalid syntax" | "value out of range";
  constructor(func: string, num: string, reason: "invalid syntax" | "value out of range") {
    super(`strconv.${func}: parsing ${quote(num)}: ${reason}`);
    this.func = func;
    this.num = num;
    this.reason = reason;
  }
}

/** strconv.ParseInt(s, base, bitSize) with base 0 (prefixes, underscores) or explicit base. */
export function goParseInt(s: string, base: number, bitSize = 64): bigint {
  const fn = "ParseInt";
  if (s === "") throw new NumError(fn, s, "invalid syntax");
  let neg = false;
  let t = s;
  if (t[0] === "+" || t[0] === "-") {
    neg = t[0] === "-";
    t = t.slice(1);
  }
  const u = parseUintInner(t, base, s, fn);
  const cutoff = 1n << BigInt(bitSize - 1);
  if (!neg && u >= cutoff) throw new NumError(fn, s, "value out of range");
  if (neg && u > cutoff) throw new NumError(fn, s, "value out of range");
  return neg ? -u : u;
}

function parseUintInner(t: string, base: number, orig: string, fn: string): bigint {
  if (t === "") throw new NumError(fn, orig, "invalid syntax");
  let base0 = base === 0;
  let b = base;
  if (base === 0) {
    b = 10;
    if (t[0] === "0") {
      if (t.length >= 3 && (t[1] === "b" || t[1] === "B")) {
        b = 2;
        t = t.slice(2);
      } else if (t.length >= 3 && (t[1] === "o" || t[1] === "O")) {
        b = 8;
        t = t.slice(2);
      } else if (t.length >= 3 && (t[1] === "x" || t[1] === "X")) {
        b = 16;
        t = t.slice(2);
      } else {
        b = 8;
        t = t.slice(1);
        if (t === "") return 0n;
      }
    }
  } else base0 = false;
  let n = 0n;
  let sawUnderscore = false;
  const B = BigInt(b);
  for (const c of t) {
    if (c === "_" && base0) {
      sawUnderscore = true;
      continue;
    }
    const d = digitVal(c);
    if (d >= b) throw new NumError(fn, orig, "invalid syntax");
    n = n * B + BigInt(d);
  }
  if (sawUnderscore && !underscoreOK(orig)) throw new NumError(fn, orig, "invalid syntax");
  if (n >= 1n << 64n) throw new NumError(fn, orig, "value out of range");
  return n;
}

function digitVal(c: string): number {
  const x = c.charCodeAt(0);
  if (x >= 48 && x <= 57) return x - 48;
  if (x >= 97 && x <= 122) return x - 97 + 10;
  if (x >= 65 && x <= 90) return x - 65 + 10;
  return 99;
}

function underscoreOK(s: string): boolean {
  let saw = "^";
  let i = 0;
  if (s.length >= 1 && (s[0] === "-" || s[0] === "+")) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === "0" && "bBoOxX".includes(s[1])) {
    i = 2;
    saw = "0";
    hex = s[1] === "x" || s[1] === "X";
  }
  for (; i < s.length; i++) {
    const c = s[i];
    if ((c >= "0" && c <= "9") || (hex && /[a-fA-F]/.test(c))) {
      saw = "0";
      continue;
    }
    if (c === "_") {
      if (saw !== "0") return false;
      saw = "_";
      continue;
    }
    if (saw === "_") return false;
    saw = "!";
  }
  return saw !== "_";
}

const floatRe = /^[+-]?(?:(?:\d[\d_]*)?\.?[\d_]*(?:[eE][+-]?\d[\d_]*)?)$/;
const hexFloatRe = /^[+-]?0[xX](?:[0-9a-fA-F_]*)\.?[0-9a-fA-F_]*[pP][+-]?\d+$/;

/** strconv.ParseFloat(s, 64). */
export function goParseFloat(s: string): number {
  const fn = "ParseFloat";
  const lower = s.toLowerCase();
  const body = lower.replace(/^[+-]/, "");
  if (body === "inf" || body === "infinity") return lower[0] === "-" ? -Infinity : Infinity;
  if (body === "nan") return Number.NaN;
  if (hexFloatRe.test(s)) {
    if (s.includes("_") && !underscoreOK(s)) throw new NumError(fn, s, "invalid syntax");
    const t = s.replace(/_/g, "");
    const neg = t[0] === "-";
    const u = t.replace(/^[+-]/, "").slice(2);
    const [mant, exp] = u.split(/[pP]/);
    const [ip, fp = ""] = mant.split(".");
    if (ip === "" && fp === "") throw new NumError(fn, s, "invalid syntax");
    const m = BigInt("0x" + (ip + fp || "0"));
    const v = Number(m) * 2 ** (Number(exp) - 4 * fp.length);
    if (!Number.isFinite(v)) throw new NumError(fn, s, "value out of range");
    return neg ? -v : v;
  }
  if (!floatRe.test(s) || !/\d/.test(s)) throw new NumError(fn, s, "invalid syntax");
  if (s.includes("_")) {
    if (!underscoreOK(s)) throw new NumError(fn, s, "invalid syntax");
  }
  const v = Number(s.replace(/_/g, ""));
  if (Number.isNaN(v)) throw new NumError(fn, s, "invalid syntax");
  if (!Number.isFinite(v)) throw new NumError(fn, s, "value out of range");
  return v;
}

/** strconv.Atoi */
export function atoi(s: string): bigint {
  try {
    return goParseInt(s, 10, 64);
  } catch (e) {
    if (e instanceof NumError) throw new NumError("Atoi", s, e.reason);
    throw e;
  }
}
