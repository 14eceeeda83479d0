// The sprig v3.3.0 functions that VSO allows (vso-compat.md section 2.5), with Go signatures.
import { createHash, createPrivateKey, randomInt, X509Certificate } from "node:crypto";
import bcryptjs from "bcryptjs";
import { chargeSteps } from "../budget.ts";
import { formatValue, sprintf } from "../fmt.ts";
import { def, FuncError, type FuncMap } from "../funcdef.ts";
import { JsonError, marshal, marshalIndent, marshalNoEscape, unmarshal } from "../json.ts";
import { checkResultSize } from "../limits.ts";
import { canBackquote, formatFloat, goParseInt, quote as goQuote, NumError } from "../strconv.ts";
import { formatDuration, parseDuration, parseTime } from "../timefmt.ts";
import {
  deepEqual,
  GoInt,
  GoStruct,
  GoTime,
  isNilContainer,
  type Kind,
  kindOf,
  lenOf,
  mapType,
  nilSlice,
  sliceType,
  stringOf,
  typedMap,
  typedSlice,
  typeName,
  unwrap,
  utf8,
} from "../values.ts";
import { strval, toFloat64, toInt64 } from "./cast.ts";
import { GoRegexp, quoteMeta, RegexpError } from "./goregexp.ts";
import * as paths from "./paths.ts";
import { checkConstraint, newConstraint, newVersion } from "./semver.ts";
import * as text from "./text.ts";

type Dict = Map<string, unknown>;

const nilDeref = "runtime error: invalid memory address or nil pointer dereference";

/** reflect.TypeOf(v).Kind() with Go's nil-pointer panic for untyped nil. */
function typeKind(v: unknown): Kind {
  v = unwrap(v);
  if (v === null || v === undefined) throw new FuncError(nilDeref);
  return kindOf(v);
}

/** Elements of a slice value as interface{} values. */
function elems(v: unknown): unknown[] {
  v = unwrap(v);
  if (Array.isArray(v)) return v;
  if (v instanceof Uint8Array) return [...v].map((b) => new GoInt("uint8", BigInt(b)));
  return [];
}

// ---- empty (sprig's notion) ----
export function empty(given: unknown): boolean {
  given = unwrap(given);
  if (given === null || given === undefined) return true;
  switch (typeof given) {
    case "string":
      return given.length === 0;
    case "boolean":
      return !given;
    case "number":
      return given === 0;
  }
  if (given instanceof GoInt) return given.v === 0n;
  const n = lenOf(given);
  if (n !== undefined) return n === 0;
  return false;
}

// ---- lists ----
/** A one-argument list function: Go panics (non-must) or errors (must) with the same text. */
function listOp(err: string, fn: (items: unknown[]) => unknown) {
  return (list: unknown): unknown => {
    const k = typeKind(list);
    if (k !== "slice") throw new FuncError(`${err} ${k}`);
    return fn(elems(list));
  };
}

function push(list: unknown, v: unknown): unknown[] {
  const k = typeKind(list);
  if (k !== "slice") throw new FuncError(`Cannot push on type ${k}`);
  return [...elems(list), v];
}

function prepend(list: unknown, v: unknown): unknown[] {
  const k = typeKind(list);
  if (k !== "slice") throw new FuncError(`Cannot prepend on type ${k}`);
  return [v, ...elems(list)];
}

function chunk(size: GoInt, list: unknown): unknown {
  const k = typeKind(list);
  if (k !== "slice") throw new FuncError(`Cannot chunk type ${k}`);
  const items = elems(list);
  const l = items.length;
  const sz = Number(size.v);
  const csf = Math.floor((l - 1) / sz) + 1;
  if (!Number.isFinite(csf) || csf < 0) throw new FuncError("runtime error: makeslice: len out of range");
  const cs = csf;
  const out: unknown[] = [];
  for (let i = 0; i < cs; i++) {
    let clen = sz;
    if (i === cs - 1) {
      clen = Math.floor(l % sz);
      if (clen === 0) clen = sz;
    }
    if (clen < 0) throw new FuncError("runtime error: makeslice: len out of range");
    const c: unknown[] = [];
    for (let j = 0; j < clen; j++) {
      const ix = i * sz + j;
      if (ix >= l) throw new FuncError(`reflect: slice index out of range`);
      c.push(items[ix]);
    }
    out.push(typedSlice(c, "[]interface {}"));
  }
  return typedSlice(out, "[][]interface {}");
}

function strslice(v: unknown): string[] {
  v = unwrap(v);
  if (Array.isArray(v)) {
    if (sliceType(v) === "[]string") return v as string[];
    return v.filter((x) => x !== null && x !== undefined).map(strval);
  }
  if (v instanceof Uint8Array) return [...v].map((b) => String(b));
  if (v === null || v === undefined) return [];
  return [strval(v)];
}

function sortAlpha(list: unknown): unknown {
  const v = unwrap(list);
  if (Array.isArray(v) || v instanceof Uint8Array) {
    const a = [...strslice(v)];
    a.sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    return typedSlice(a, "[]string");
  }
  return typedSlice([strval(v)], "[]string");
}

function inList(haystack: unknown[], needle: unknown): boolean {
  return haystack.some((h) => deepEqual(needle, h));
}

function sprigSlice(list: unknown, ...indices: unknown[]): unknown {
  const k = typeKind(list);
  if (k !== "slice") throw new FuncError(`list should be type of slice or array but ${k}`);
  const v = unwrap(list) as unknown[] | Uint8Array;
  const l = v.length;
  if (l === 0) return null;
  const start = indices.length > 0 ? Number(toInt64(indices[0])) : 0;
  const end = indices.length < 2 ? l : Number(toInt64(indices[1]));
  if (start < 0 || end < start || end > l) {
    throw new FuncError("reflect.Value.Slice: slice index out of bounds");
  }
  if (v instanceof Uint8Array) return v.slice(start, end);
  return typedSlice(v.slice(start, end), sliceType(v));
}

function concat(...lists: unknown[]): unknown {
  let res: unknown[] | null = null;
  for (const list of lists) {
    const k = typeKind(list);
    if (k !== "slice") throw new FuncError(`Cannot concat type ${k} as list`);
    for (const x of elems(list)) {
      if (res === null) res = [];
      res.push(x);
    }
  }
  return res === null ? nilSlice() : res;
}

// ---- dicts ----
function asDict(v: unknown): Dict {
  return v as Dict;
}

function dict(...v: unknown[]): Dict {
  const d = new Map<string, unknown>();
  for (let i = 0; i < v.length; i += 2) {
    const key = strval(v[i]);
    if (i + 1 >= v.length) {
      d.set(key, "");
      continue;
    }
    d.set(key, v[i + 1]);
  }
  return d;
}

function setKey(d: Dict, key: string, value: unknown): Dict {
  if (isNilContainer(d)) throw new FuncError("assignment to entry in nil map");
  d.set(key, value);
  return d;
}

function isEmptyValue(v: unknown): boolean {
  // mergo's isEmptyValue with dereferencing of interfaces
  if (v === null || v === undefined) return true;
  return empty(v) && !(v instanceof GoStruct);
}

function mergeMaps(dst: Dict, src: Dict, overwrite: boolean): void {
  chargeSteps(src.size);
  for (const [key, srcElement] of src) {
    const hasDst = dst.has(key);
    const dstElement = dst.get(key);
    if (srcElement === null || srcElement === undefined || isNilContainer(srcElement)) {
      if (overwrite) dst.set(key, srcElement ?? null);
      continue;
    }
    const sk = kindOf(srcElement);
    if (sk === "map" || sk === "struct" || sk === "ptr") {
      if (hasDst && dstElement instanceof Map && srcElement instanceof Map) {
        mergeMaps(dstElement, srcElement, overwrite);
      }
    } else if (sk === "slice") {
      let dstSlice: unknown;
      if (!hasDst || dstElement === null || isNilContainer(dstElement)) dstSlice = [];
      else dstSlice = dstElement;
      if (overwrite || dst.size === 0) dstSlice = srcElement;
      dst.set(key, dstSlice);
    }
    if (hasDst && !isEmptyValue(dstElement)) {
      if (sk === "slice") continue;
      if (sk === "map" && kindOf(dstElement) === "map") continue;
    }
    if (overwrite || !hasDst || isEmptyValue(dstElement)) {
      dst.set(key, srcElement);
    }
  }
}

function merge(overwrite: boolean) {
  return (dst: Dict, ...srcs: Dict[]): unknown => {
    let d = dst;
    for (const src of srcs) {
      if (isNilContainer(d) && !isNilContainer(src)) d = new Map();
      mergeMaps(d, src, overwrite);
    }
    return d;
  };
}

function deepCopy(v: unknown): unknown {
  chargeSteps(1);
  v = unwrap(v);
  if (Array.isArray(v)) {
    if (isNilContainer(v)) return v;
    const t = sliceType(v);
    const c = v.map(deepCopy);
    return t === "[]interface {}" ? c : typedSlice(c, t);
  }
  if (v instanceof Map) {
    if (isNilContainer(v)) return v;
    const m = new Map<string, unknown>();
    for (const [k, x] of v) m.set(k, deepCopy(x));
    const t = mapType(v);
    return t === "map[string]interface {}" ? m : typedMap(m, t);
  }
  if (v instanceof Uint8Array) return v.slice();
  return v;
}

function deepCopyTop(x: unknown): unknown {
  const u = unwrap(x);
  if (u === null || u === undefined) throw new FuncError("reflect: call of reflect.Value.Type on zero Value");
  return deepCopy(u);
}

function ifaceConv(v: unknown, want: string): unknown {
  v = unwrap(v);
  const t = v === null || v === undefined ? "nil" : typeName(v);
  if (t !== want) throw new FuncError(`interface conversion: interface {} is ${t}, not ${want}`);
  return v;
}

function dig(...ps: unknown[]): unknown {
  if (ps.length < 3) throw new FuncError("dig needs at least three arguments");
  const d = ifaceConv(ps[ps.length - 1], "map[string]interface {}") as Dict;
  const def0 = ps[ps.length - 2];
  const ks = ps.slice(0, -2).map((k) => ifaceConv(k, "string") as string);
  const rec = (m: Dict, keys: string[]): unknown => {
    const [k, ...rest] = keys;
    if (!m.has(k)) return def0;
    const step = m.get(k);
    if (rest.length === 0) return step;
    return rec(ifaceConv(step, "map[string]interface {}") as Dict, rest);
  };
  return rec(d, ks);
}

// ---- math ----
interface Dec {
  c: bigint;
  e: number;
}

function decFromFloat(f: number): Dec {
  if (Number.isNaN(f) || !Number.isFinite(f)) {
    throw new FuncError(`Cannot create a Decimal from ${formatFloat(f, "g", -1)}`);
  }
  if (f === 0) return { c: 0n, e: 0 };
  const s = formatFloat(Math.abs(f), "e", -1); // d.ddde±x
  const m = /^(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s)!;
  const digits = m[1] + (m[2] ?? "");
  const exp = Number(m[3]) - (digits.length - 1);
  const c = BigInt(digits) * (f < 0 ? -1n : 1n);
  return { c, e: exp };
}

function align(a: Dec, b: Dec): [bigint, bigint, number] {
  const e = Math.min(a.e, b.e);
  return [a.c * 10n ** BigInt(a.e - e), b.c * 10n ** BigInt(b.e - e), e];
}

const decOps = {
  add: (a: Dec, b: Dec): Dec => {
    const [x, y, e] = align(a, b);
    return { c: x + y, e };
  },
  sub: (a: Dec, b: Dec): Dec => {
    const [x, y, e] = align(a, b);
    return { c: x - y, e };
  },
  mul: (a: Dec, b: Dec): Dec => ({ c: a.c * b.c, e: a.e + b.e }),
  div: (a: Dec, b: Dec): Dec => {
    if (b.c === 0n) throw new FuncError("decimal division by 0");
    const precision = 16;
    const scale = -precision;
    const e = a.e - b.e - scale;
    let aa: bigint;
    let bb: bigint;
    let scalerest: number;
    if (e < 0) {
      aa = a.c;
      bb = b.c * 10n ** BigInt(-e);
      scalerest = a.e;
    } else {
      aa = a.c * 10n ** BigInt(e);
      bb = b.c;
      scalerest = scale + b.e;
    }
    const q = aa / bb;
    const r = aa % bb;
    // r2 = |r|*2 at exponent scalerest+precision compared with |b|
    const r2: Dec = { c: (r < 0n ? -r : r) * 2n, e: scalerest + precision };
    const absB: Dec = { c: b.c < 0n ? -b.c : b.c, e: b.e };
    const [x, y] = align(r2, absB);
    if (x < y) return { c: q, e: scale };
    const sign = (a.c < 0n ? -1 : 1) * (b.c < 0n ? -1 : 1);
    return { c: sign < 0 ? q - 1n : q + 1n, e: scale };
  },
};

function decToFloat(d: Dec): number {
  if (d.c === 0n) return 0;
  return Number(`${d.c}e${d.e}`);
}

function execDecimalOp(a: unknown, b: unknown[], f: (x: Dec, y: Dec) => Dec): number {
  let prt = decFromFloat(toFloat64(a));
  for (const x of b) prt = f(prt, decFromFloat(toFloat64(x)));
  return decToFloat(prt);
}

function i64(v: bigint): GoInt {
  return new GoInt("int64", v);
}

function goDiv(a: bigint, b: bigint): bigint {
  if (b === 0n) throw new FuncError("runtime error: integer divide by zero");
  return BigInt.asIntN(64, a / b);
}

function goMod(a: bigint, b: bigint): bigint {
  if (b === 0n) throw new FuncError("runtime error: integer divide by zero");
  return a % b;
}

function untilStep(start: number, stop: number, step: number): number[] {
  const v: number[] = [];
  if (step !== 0 && Math.sign(stop - start) === Math.sign(step)) {
    checkResultSize(Math.ceil((stop - start) / step), "untilStep");
  }
  if (stop < start) {
    if (step >= 0) return v;
    for (let i = start; i > stop; i += step) v.push(i);
    return v;
  }
  if (step <= 0) return v;
  for (let i = start; i < stop; i += step) v.push(i);
  return v;
}

function intSlice(v: number[]): unknown {
  return typedSlice(
    v.map((x) => new GoInt("int", BigInt(x))),
    "[]int",
  );
}

function seq(...params: GoInt[]): string {
  const p = params.map((x) => Number(x.v));
  let increment = 1;
  const fmt = (xs: number[]) => xs.join(" ");
  switch (p.length) {
    case 0:
      return "";
    case 1: {
      const start = 1;
      const end = p[0];
      if (end < start) increment = -1;
      return fmt(untilStep(start, end + increment, increment));
    }
    case 3: {
      const [start, step, end] = p;
      if (end < start) {
        increment = -1;
        if (step > 0) return "";
      }
      return fmt(untilStep(start, end + increment, step));
    }
    case 2: {
      const [start, end] = p;
      let step = 1;
      if (end < start) step = -1;
      return fmt(untilStep(start, end + step, step));
    }
  }
  return "";
}

function goMathMax(a: number, b: number): number {
  if (a === Infinity || b === Infinity) return Infinity;
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.NaN;
  if (a === 0 && b === 0) return Object.is(a, -0) ? b : a;
  // biome-ignore lint/complexity/useMathMinMax: the special cases above follow Go's math.Max
  return a > b ? a : b;
}

function goMathMin(a: number, b: number): number {
  if (a === -Infinity || b === -Infinity) return -Infinity;
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.NaN;
  if (a === 0 && b === 0) return Object.is(a, -0) ? a : b;
  // biome-ignore lint/complexity/useMathMinMax: the special cases above follow Go's math.Min
  return a < b ? a : b;
}

function round(a: unknown, p: GoInt, ...rOpt: number[]): number {
  const roundOn = rOpt.length > 0 ? rOpt[0] : 0.5;
  const val = toFloat64(a);
  const places = Number(p.v);
  const pow = 10 ** places;
  const digit = pow * val;
  const div = digit - Math.trunc(digit);
  const r = div >= roundOn ? Math.ceil(digit) : Math.floor(digit);
  return r / pow;
}

// ---- encoding ----
function b64dec(s: string): string {
  const err = checkBase64(s);
  if (err !== null) return err;
  return new TextDecoder().decode(Buffer.from(s, "base64"));
}

const b64alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Validate like Go's base64.StdEncoding.DecodeString; returns the error text or null. */
function checkBase64(str: string): string | null {
  const src = utf8(str);
  const bad = (pos: number) => `illegal base64 data at input byte ${pos}`;
  const isNL = (c: number) => c === 0x0a || c === 0x0d;
  let si = 0;
  while (si < src.length) {
    for (let j = 0; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return null;
        return bad(si - j);
      }
      const c = src[si++];
      if (b64alphabet.includes(String.fromCharCode(c))) continue;
      if (isNL(c)) {
        j--;
        continue;
      }
      if (c !== 0x3d) return bad(si - 1);
      if (j === 0 || j === 1) return bad(si - 1);
      if (j === 2) {
        while (si < src.length && isNL(src[si])) si++;
        if (si === src.length) return bad(src.length);
        if (src[si] !== 0x3d) return bad(si - 1);
        si++;
      }
      while (si < src.length && isNL(src[si])) si++;
      if (si < src.length) return bad(si);
      return null;
    }
  }
  return null;
}

const b32alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function b32enc(s: string): string {
  const b = utf8(s);
  let out = "";
  for (let i = 0; i < b.length; i += 5) {
    const chunkLen = Math.min(5, b.length - i);
    let bits = 0n;
    for (let k = 0; k < 5; k++) bits = (bits << 8n) | BigInt(k < chunkLen ? b[i + k] : 0);
    const nchars = [0, 2, 4, 5, 7, 8][chunkLen];
    for (let k = 0; k < 8; k++) {
      if (k < nchars) out += b32alphabet[Number((bits >> BigInt(35 - k * 5)) & 31n)];
      else out += "=";
    }
  }
  return out;
}

function b32dec(str: string): string {
  const src = [...utf8(str)].filter((c) => c !== 0x0a && c !== 0x0d);
  const olen = src.length;
  const bad = (pos: number) => `illegal base32 data at input byte ${pos}`;
  const out: number[] = [];
  let p = 0;
  let end = false;
  while (p < src.length && !end) {
    const dbuf = new Array<number>(8).fill(0);
    let dlen = 8;
    for (let j = 0; j < 8; ) {
      if (p === src.length) return bad(olen - (src.length - p) - j);
      const c = src[p++];
      const rest = src.length - p;
      if (c === 0x3d && j >= 2 && rest < 8) {
        if (rest + j < 7) return bad(olen);
        for (let k = 0; k < 7 - j; k++) {
          if (rest > k && src[p + k] !== 0x3d) return bad(olen - rest + k - 1);
        }
        dlen = j;
        end = true;
        if (dlen === 1 || dlen === 3 || dlen === 6) return bad(olen - rest - 1);
        break;
      }
      const v = b32alphabet.indexOf(String.fromCharCode(c));
      if (v < 0) return bad(olen - rest - 1);
      dbuf[j] = v;
      j++;
    }
    let bits = 0n;
    for (let k = 0; k < 8; k++) bits = (bits << 5n) | BigInt(dbuf[k]);
    const nbytes = [0, 0, 1, 0, 2, 3, 0, 4, 5][dlen];
    for (let k = 0; k < nbytes; k++) out.push(Number((bits >> BigInt(32 - k * 8)) & 255n));
  }
  return new TextDecoder().decode(new Uint8Array(out));
}

function adler32(s: string): string {
  let a = 1;
  let b = 0;
  for (const x of utf8(s)) {
    a = (a + x) % 65521;
    b = (b + a) % 65521;
  }
  return String(((b << 16) | a) >>> 0);
}

function hash(alg: string, s: string): string {
  return createHash(alg)
    .update(Buffer.from(utf8(s)))
    .digest("hex");
}

/** A bcrypt hash (cost 10) takes tens of milliseconds: it costs as much as that many ordinary steps. */
const BCRYPT_STEPS = 50_000;

function bcrypt(input: string): string {
  if (utf8(input).length > 72) {
    return "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes";
  }
  chargeSteps(BCRYPT_STEPS);
  const salt = bcryptjs.genSaltSync(10).replace(/^\$2b\$/, "$2a$");
  return bcryptjs.hashSync(input, salt);
}

function pemDecode(s: string): { type: string; der: Buffer } | null {
  const m = /-----BEGIN ([^-\n]*)-----\r?\n([\s\S]*?)-----END \1-----/.exec(s);
  if (!m) return null;
  const body = m[2]
    .split(/\r?\n/)
    .filter((l) => !l.includes(":"))
    .join("");
  return { type: m[1], der: Buffer.from(body, "base64") };
}

function buildCustomCert(b64cert: string, b64key: string): GoStruct {
  if (checkBase64(b64cert) !== null) throw new FuncError("unable to decode base64 certificate");
  if (checkBase64(b64key) !== null) throw new FuncError("unable to decode base64 private key");
  const cert = Buffer.from(b64cert, "base64").toString("latin1");
  const key = Buffer.from(b64key, "base64").toString("latin1");
  const block = pemDecode(cert);
  if (block === null) throw new FuncError("unable to decode certificate");
  try {
    new X509Certificate(block.der);
  } catch (e) {
    throw new FuncError(`error parsing certificate: decodedCert.Bytes: ${(e as Error).message}`);
  }
  const kb = pemDecode(key);
  if (kb === null) throw new FuncError("error parsing private key: no PEM data in input");
  if (kb.type !== "PRIVATE KEY" && !kb.type.endsWith(" PRIVATE KEY")) {
    throw new FuncError(`error parsing private key: no private key data in PEM block of type ${kb.type}`);
  }
  const kind = kb.type.slice(0, -12);
  if (kb.type !== "PRIVATE KEY" && kind !== "RSA" && kind !== "EC" && kind !== "DSA") {
    throw new FuncError(`error parsing private key: invalid private key type ${kb.type}`);
  }
  try {
    createPrivateKey({ key, format: "pem" });
  } catch (e) {
    throw new FuncError(`error parsing private key: ${(e as Error).message}`);
  }
  return new GoStruct(
    "sprig.certificate",
    [
      ["Cert", Buffer.from(b64cert, "base64").toString("utf8")],
      ["Key", Buffer.from(b64key, "base64").toString("utf8")],
    ],
    false,
  );
}

// ---- regex ----
function mustCompile(expr: string): GoRegexp {
  try {
    return GoRegexp.compile(expr);
  } catch (e) {
    if (e instanceof RegexpError) {
      const q = canBackquote(expr) ? "`" + expr + "`" : goQuote(expr);
      throw new FuncError(`regexp: Compile(${q}): ${e.message}`);
    }
    throw e;
  }
}

function compile(expr: string): GoRegexp {
  try {
    return GoRegexp.compile(expr);
  } catch (e) {
    if (e instanceof RegexpError) throw new FuncError(e.message);
    throw e;
  }
}

function strSliceOrNil(v: string[] | null): unknown {
  return v === null ? nilSlice("[]string") : typedSlice(v, "[]string");
}

// ---- dates ----
function now(): GoTime {
  const ms = Date.now();
  return new GoTime(BigInt(Math.floor(ms / 1000)), (ms % 1000) * 1e6, 0, "UTC");
}

function sinceNs(t: GoTime): bigint {
  const n = now();
  return (n.sec - t.sec) * 1000000000n + BigInt(n.nsec - t.nsec);
}

function roundDuration(d: bigint, m: bigint): bigint {
  if (m <= 0n) return d;
  let r = d % m;
  if (d < 0n) {
    r = -r;
    if (r + r < m) return d + r;
    return d - m + r;
  }
  if (r + r < m) return d - r;
  return d + m - r;
}

function ago(date: unknown): string {
  const v = unwrap(date);
  let t: GoTime;
  if (v instanceof GoTime) t = v;
  else if (v instanceof GoInt && (v.t === "int64" || v.t === "int")) t = new GoTime(v.v, 0, 0, "UTC");
  else t = now();
  return formatDuration(roundDuration(sinceNs(t), 1000000000n));
}

function duration(sec: unknown): string {
  const v = unwrap(sec);
  let n = 0n;
  if (typeof v === "string") {
    try {
      n = goParseInt(v, 10, 64);
    } catch (e) {
      if (!(e instanceof NumError)) throw e;
      n = 0n;
    }
  } else if (v instanceof GoInt && v.t === "int64") n = v.v;
  return formatDuration(BigInt.asIntN(64, n * 1000000000n));
}

function durationRound(d0: unknown): string {
  const v = unwrap(d0);
  let d = 0n;
  if (typeof v === "string") {
    try {
      d = parseDuration(v);
    } catch {
      d = 0n;
    }
  } else if (v instanceof GoInt && v.t === "int64") d = v.v;
  else if (v instanceof GoTime) d = sinceNs(v);
  let u = BigInt.asUintN(64, d);
  if (d < 0n) u = BigInt.asUintN(64, -d);
  const hour = 3600n * 1000000000n;
  const year = hour * 24n * 365n;
  const month = hour * 24n * 30n;
  const day = hour * 24n;
  const minute = 60n * 1000000000n;
  const second = 1000000000n;
  if (u > year) return u / year + "y";
  if (u > month) return u / month + "mo";
  if (u > day) return u / day + "d";
  if (u > hour) return u / hour + "h";
  if (u > minute) return u / minute + "m";
  if (u > second) return u / second + "s";
  return "0s";
}

// ---- the map ----

const I = "interface {}";
const MAP = "map[string]interface {}";
const v = { variadic: true };
const e = { err: true };
const ve = { variadic: true, err: true };

function wrapList(fn: (items: unknown[]) => unknown, errPrefix: string) {
  return listOp(errPrefix, fn);
}

function restFn(items: unknown[]): unknown {
  if (items.length === 0) return nilSlice();
  return items.slice(1);
}

function initialFn(items: unknown[]): unknown {
  if (items.length === 0) return nilSlice();
  return items.slice(0, -1);
}

function toDecimal(x: unknown): GoInt {
  const s = formatValue(unwrap(x) ?? null);
  try {
    return i64(goParseInt(s, 8, 64));
  } catch (err) {
    if (err instanceof NumError) return i64(0n);
    throw err;
  }
}

function mustJson(fn: (x: unknown) => string) {
  return (x: unknown): string => {
    try {
      return fn(x);
    } catch (err) {
      if (err instanceof JsonError) throw new FuncError(err.message);
      throw err;
    }
  };
}

function quietJson(fn: (x: unknown) => string) {
  return (x: unknown): string => {
    try {
      return fn(x);
    } catch (err) {
      if (err instanceof JsonError) return "";
      throw err;
    }
  };
}

function fromJson(s: string): unknown {
  try {
    return unmarshal(s);
  } catch (err) {
    if (err instanceof JsonError) return null;
    throw err;
  }
}

function mustFromJson(s: string): unknown {
  try {
    return unmarshal(s);
  } catch (err) {
    if (err instanceof JsonError) throw new FuncError(err.message);
    throw err;
  }
}

function firstFn(items: unknown[]): unknown {
  return items.length === 0 ? null : items[0];
}

function lastFn(items: unknown[]): unknown {
  return items.length === 0 ? null : items[items.length - 1];
}

function uniqFn(items: unknown[]): unknown {
  const dest: unknown[] = [];
  for (const x of items) if (!inList(dest, x)) dest.push(x);
  return dest;
}

function compactFn(items: unknown[]): unknown {
  return items.filter((x) => !empty(x));
}

function reverseFn(items: unknown[]): unknown {
  return [...items].reverse();
}

function without(list: unknown, ...omit: unknown[]): unknown {
  const k = typeKind(list);
  if (k !== "slice") throw new FuncError(`Cannot find without on type ${k}`);
  return elems(list).filter((x) => !inList(omit, x));
}

function has(needle: unknown, haystack: unknown): boolean {
  if (unwrap(haystack) === null || unwrap(haystack) === undefined) return false;
  const k = typeKind(haystack);
  if (k !== "slice") throw new FuncError(`Cannot find has on type ${k}`);
  return elems(haystack).some((x) => deepEqual(needle, x));
}

function quoteFn(...str: unknown[]): string {
  return str
    .filter((s) => s !== null && s !== undefined)
    .map((s) => sprintf("%q", strval(s)))
    .join(" ");
}

function squoteFn(...str: unknown[]): string {
  return str
    .filter((s) => s !== null && s !== undefined)
    .map((s) => sprintf("'%v'", s))
    .join(" ");
}

function cat(...vs: unknown[]): string {
  const xs = vs.filter((x) => x !== null && x !== undefined);
  return sprintf(xs.map(() => "%v").join(" "), ...xs);
}

function indent(spaces: GoInt, s: string): string {
  const n = Number(spaces.v);
  if (n < 0) throw new FuncError("strings: negative Repeat count");
  checkResultSize(s.length + n * s.split("\n").length, "indent", "chars");
  const pad = " ".repeat(n);
  return pad + s.split("\n").join("\n" + pad);
}

function repeat(count: GoInt, s: string): string {
  const n = Number(count.v);
  if (n < 0) throw new FuncError("strings: negative Repeat count");
  checkResultSize(n * s.length, "repeat", "chars");
  return s.repeat(n);
}

function trunc(c: GoInt, s: string): string {
  const n = Number(c.v);
  const len = utf8(s).length;
  if (n < 0 && len + n > 0) return text.goSliceString(s, len + n);
  if (n >= 0 && len > n) return text.goSliceString(s, 0, n);
  return s;
}

function substr(start: GoInt, end: GoInt, s: string): string {
  const a = Number(start.v);
  const b = Number(end.v);
  const len = utf8(s).length;
  if (a < 0) return text.goSliceString(s, 0, b);
  if (b < 0 || b > len) return text.goSliceString(s, a);
  return text.goSliceString(s, a, b);
}

function bigMax(a: bigint, b: bigint): bigint {
  return b > a ? b : a;
}

function bigMin(a: bigint, b: bigint): bigint {
  return b < a ? b : a;
}

function splitMap(parts: string[]): Dict {
  const m = new Map<string, unknown>();
  for (let i = 0; i < parts.length; i++) m.set("_" + i, parts[i]);
  return typedMap(m, "map[string]string");
}

function goSplit(s: string, sep: string): string[] {
  return text.splitN(s, sep, -1);
}

function urlParse(s: string): Dict {
  let u: paths.GoURL;
  try {
    u = paths.parseURL(s);
  } catch (err) {
    if (err instanceof FuncError) throw new FuncError(`unable to parse url: ${err.message}`);
    throw err;
  }
  const d = new Map<string, unknown>();
  d.set("scheme", u.scheme);
  d.set("host", u.host);
  d.set("hostname", paths.hostname(u.host));
  d.set("path", u.path);
  d.set("query", u.rawQuery);
  d.set("opaque", u.opaque);
  d.set("fragment", u.fragment);
  d.set("userinfo", u.user === null ? "" : paths.userinfoString(u.user));
  return d;
}

function dictGetOrEmpty(d: Dict, key: string): string {
  if (!d.has(key)) return "";
  const val = unwrap(d.get(key));
  const k = typeKind(val);
  if (k !== "string") {
    throw new FuncError(`unable to parse ${key} key, must be of type string, but ${k} found`);
  }
  return stringOf(val)!;
}

function urlJoin(d: Dict): string {
  const u: paths.GoURL = {
    scheme: dictGetOrEmpty(d, "scheme"),
    host: dictGetOrEmpty(d, "host"),
    path: dictGetOrEmpty(d, "path"),
    rawQuery: dictGetOrEmpty(d, "query"),
    opaque: dictGetOrEmpty(d, "opaque"),
    fragment: dictGetOrEmpty(d, "fragment"),
    rawPath: "",
    user: null,
  };
  const userinfo = dictGetOrEmpty(d, "userinfo");
  if (userinfo !== "") {
    let tmp: paths.GoURL;
    try {
      tmp = paths.parseURL(`proto://${userinfo}@host`);
    } catch (err) {
      if (err instanceof FuncError) throw new FuncError(`unable to parse userinfo in dict: ${err.message}`);
      throw err;
    }
    u.user = tmp.user;
  }
  return paths.urlString(u);
}

function randIntFn(min: GoInt, max: GoInt): GoInt {
  const n = max.v - min.v;
  if (n <= 0n) throw new FuncError("invalid argument to Intn");
  return new GoInt("int", BigInt(randomInt(0, Number(n))) + min.v);
}

export const sprigFuncs: FuncMap = {
  // strings
  abbrev: def(["int", "string"], "string", (w: GoInt, s: string) => {
    if (w.v < 4n) return s;
    return text.abbreviateFull(s, 0, Number(w.v))[0];
  }),
  abbrevboth: def(["int", "int", "string"], "string", (l: GoInt, r: GoInt, s: string) => {
    const left = Number(l.v);
    const right = Number(r.v);
    if (right < 4 || (left > 0 && right < 7)) return s;
    return text.abbreviateFull(s, left, right)[0];
  }),
  initials: def(["string"], "string", text.initials),
  untitle: def(["string"], "string", text.uncapitalize),
  quote: def([I], "string", quoteFn, v),
  squote: def([I], "string", squoteFn, v),
  cat: def([I], "string", cat, v),
  indent: def(["int", "string"], "string", indent),
  nindent: def(["int", "string"], "string", (n: GoInt, s: string) => "\n" + indent(n, s)),
  replace: def(["string", "string", "string"], "string", (o: string, n: string, s: string) =>
    o === "" ? replaceEmpty(s, n) : s.split(o).join(n),
  ),
  plural: def(["string", "string", "int"], "string", (one: string, many: string, c: GoInt) =>
    c.v === 1n ? one : many,
  ),
  toStrings: def([I], "[]string", (x: unknown) => typedSlice(strslice(x), "[]string")),
  toString: def([I], "string", strval),
  trunc: def(["int", "string"], "string", trunc),
  join: def(["string", I], "string", (sep: string, x: unknown) => strslice(x).join(sep)),
  split: def(["string", "string"], "map[string]string", (sep: string, s: string) =>
    splitMap(goSplit(s, sep)),
  ),
  splitn: def(["string", "int", "string"], "map[string]string", (sep: string, n: GoInt, s: string) =>
    splitMap(text.splitN(s, sep, Number(n.v))),
  ),
  splitList: def(["string", "string"], "[]string", (sep: string, s: string) =>
    typedSlice(goSplit(s, sep), "[]string"),
  ),
  substr: def(["int", "int", "string"], "string", substr),
  trim: def(["string"], "string", text.trimSpace),
  upper: def(["string"], "string", text.goUpper),
  lower: def(["string"], "string", text.goLower),
  title: def(["string"], "string", text.title),
  trimAll: def(["string", "string"], "string", (a: string, b: string) => text.trimCutset(b, a)),
  trimall: def(["string", "string"], "string", (a: string, b: string) => text.trimCutset(b, a)),
  trimSuffix: def(["string", "string"], "string", (a: string, b: string) =>
    a !== "" && b.endsWith(a) ? b.slice(0, b.length - a.length) : b,
  ),
  trimPrefix: def(["string", "string"], "string", (a: string, b: string) =>
    b.startsWith(a) ? b.slice(a.length) : b,
  ),
  nospace: def(["string"], "string", text.deleteWhiteSpace),
  swapcase: def(["string"], "string", text.swapCase),
  shuffle: def(["string"], "string", text.shuffle),
  snakecase: def(["string"], "string", (s: string) => text.camelCaseToLowerCase(s, "_")),
  camelcase: def(["string"], "string", text.toPascalCase),
  kebabcase: def(["string"], "string", (s: string) => text.camelCaseToLowerCase(s, "-")),
  wrap: def(["int", "string"], "string", (l: GoInt, s: string) => text.wrapCustom(s, Number(l.v), "", false)),
  wrapWith: def(["int", "string", "string"], "string", (l: GoInt, sep: string, s: string) =>
    text.wrapCustom(s, Number(l.v), sep, true),
  ),
  contains: def(["string", "string"], "bool", (sub: string, s: string) => s.includes(sub)),
  hasPrefix: def(["string", "string"], "bool", (sub: string, s: string) => s.startsWith(sub)),
  hasSuffix: def(["string", "string"], "bool", (sub: string, s: string) => s.endsWith(sub)),
  repeat: def(["int", "string"], "string", repeat),
  // encoding and hashes
  b64enc: def(["string"], "string", (s: string) => Buffer.from(utf8(s)).toString("base64")),
  b64dec: def(["string"], "string", b64dec),
  b32enc: def(["string"], "string", b32enc),
  b32dec: def(["string"], "string", b32dec),
  sha1sum: def(["string"], "string", (s: string) => hash("sha1", s)),
  sha256sum: def(["string"], "string", (s: string) => hash("sha256", s)),
  sha512sum: def(["string"], "string", (s: string) => hash("sha512", s)),
  adler32sum: def(["string"], "string", adler32),
  // conversions
  atoi: def(["string"], "int", (s: string) => {
    try {
      return new GoInt("int", goParseInt(s, 10, 64));
    } catch (err) {
      if (err instanceof NumError) {
        if (err.reason === "value out of range") {
          return new GoInt("int", s.trim().startsWith("-") ? -(2n ** 63n) : 2n ** 63n - 1n);
        }
        return new GoInt("int", 0n);
      }
      throw err;
    }
  }),
  int64: def([I], "int64", (x: unknown) => i64(toInt64(x))),
  int: def([I], "int", (x: unknown) => new GoInt("int", toInt64(x))),
  float64: def([I], "float64", toFloat64),
  seq: def(["int"], "string", seq, v),
  toDecimal: def([I], "int64", toDecimal),
  until: def(["int"], "[]int", (n: GoInt) => {
    const c = Number(n.v);
    return intSlice(untilStep(0, c, c < 0 ? -1 : 1));
  }),
  untilStep: def(["int", "int", "int"], "[]int", (a: GoInt, b: GoInt, c: GoInt) =>
    intSlice(untilStep(Number(a.v), Number(b.v), Number(c.v))),
  ),
  // integer math
  add1: def([I], "int64", (x: unknown) => i64(toInt64(x) + 1n)),
  add: def(
    [I],
    "int64",
    (...xs: unknown[]) => i64(xs.reduce<bigint>((a, x) => BigInt.asIntN(64, a + toInt64(x)), 0n)),
    v,
  ),
  sub: def([I, I], "int64", (a: unknown, b: unknown) => i64(toInt64(a) - toInt64(b))),
  div: def([I, I], "int64", (a: unknown, b: unknown) => i64(goDiv(toInt64(a), toInt64(b)))),
  mod: def([I, I], "int64", (a: unknown, b: unknown) => i64(goMod(toInt64(a), toInt64(b)))),
  mul: def(
    [I, I],
    "int64",
    (a: unknown, ...xs: unknown[]) =>
      i64(xs.reduce<bigint>((p, x) => BigInt.asIntN(64, p * toInt64(x)), toInt64(a))),
    v,
  ),
  randInt: def(["int", "int"], "int", randIntFn),
  biggest: def(
    [I, I],
    "int64",
    (a: unknown, ...xs: unknown[]) => i64(xs.reduce<bigint>((m, x) => bigMax(m, toInt64(x)), toInt64(a))),
    v,
  ),
  max: def(
    [I, I],
    "int64",
    (a: unknown, ...xs: unknown[]) => i64(xs.reduce<bigint>((m, x) => bigMax(m, toInt64(x)), toInt64(a))),
    v,
  ),
  min: def(
    [I, I],
    "int64",
    (a: unknown, ...xs: unknown[]) => i64(xs.reduce<bigint>((m, x) => bigMin(m, toInt64(x)), toInt64(a))),
    v,
  ),
  // float math
  add1f: def([I], "float64", (x: unknown) => execDecimalOp(x, [new GoInt("int", 1n)], decOps.add)),
  addf: def([I], "float64", (...xs: unknown[]) => execDecimalOp(0, xs, decOps.add), v),
  subf: def([I, I], "float64", (a: unknown, ...xs: unknown[]) => execDecimalOp(a, xs, decOps.sub), v),
  divf: def([I, I], "float64", (a: unknown, ...xs: unknown[]) => execDecimalOp(a, xs, decOps.div), v),
  mulf: def([I, I], "float64", (a: unknown, ...xs: unknown[]) => execDecimalOp(a, xs, decOps.mul), v),
  maxf: def(
    [I, I],
    "float64",
    (a: unknown, ...xs: unknown[]) => xs.reduce<number>((m, x) => goMathMax(m, toFloat64(x)), toFloat64(a)),
    v,
  ),
  minf: def(
    [I, I],
    "float64",
    (a: unknown, ...xs: unknown[]) => xs.reduce<number>((m, x) => goMathMin(m, toFloat64(x)), toFloat64(a)),
    v,
  ),
  ceil: def([I], "float64", (x: unknown) => Math.ceil(toFloat64(x))),
  floor: def([I], "float64", (x: unknown) => Math.floor(toFloat64(x))),
  round: def([I, "int", "float64"], "float64", round, v),
  // lists
  list: def([I], "[]interface {}", (...xs: unknown[]) => xs, v),
  tuple: def([I], "[]interface {}", (...xs: unknown[]) => xs, v),
  append: def([I, I], "[]interface {}", push),
  push: def([I, I], "[]interface {}", push),
  mustAppend: def([I, I], "[]interface {}", push, e),
  mustPush: def([I, I], "[]interface {}", push, e),
  prepend: def([I, I], "[]interface {}", prepend),
  mustPrepend: def([I, I], "[]interface {}", prepend, e),
  first: def([I], I, wrapList(firstFn, "Cannot find first on type")),
  mustFirst: def([I], I, wrapList(firstFn, "Cannot find first on type"), e),
  rest: def([I], "[]interface {}", wrapList(restFn, "Cannot find rest on type")),
  mustRest: def([I], "[]interface {}", wrapList(restFn, "Cannot find rest on type"), e),
  last: def([I], I, wrapList(lastFn, "Cannot find last on type")),
  mustLast: def([I], I, wrapList(lastFn, "Cannot find last on type"), e),
  initial: def([I], "[]interface {}", wrapList(initialFn, "Cannot find initial on type")),
  mustInitial: def([I], "[]interface {}", wrapList(initialFn, "Cannot find initial on type"), e),
  reverse: def([I], "[]interface {}", wrapList(reverseFn, "Cannot find reverse on type")),
  mustReverse: def([I], "[]interface {}", wrapList(reverseFn, "Cannot find reverse on type"), e),
  uniq: def([I], "[]interface {}", wrapList(uniqFn, "Cannot find uniq on type")),
  mustUniq: def([I], "[]interface {}", wrapList(uniqFn, "Cannot find uniq on type"), e),
  compact: def([I], "[]interface {}", wrapList(compactFn, "Cannot compact on type")),
  mustCompact: def([I], "[]interface {}", wrapList(compactFn, "Cannot compact on type"), e),
  without: def([I, I], "[]interface {}", without, v),
  mustWithout: def([I, I], "[]interface {}", without, ve),
  has: def([I, I], "bool", has),
  mustHas: def([I, I], "bool", has, e),
  slice: def([I, I], I, sprigSlice, v),
  mustSlice: def([I, I], I, sprigSlice, ve),
  concat: def([I], I, concat, v),
  chunk: def(["int", I], "[][]interface {}", chunk),
  mustChunk: def(["int", I], "[][]interface {}", chunk, e),
  sortAlpha: def([I], "[]string", sortAlpha),
  dig: def([I], I, dig, ve),
  // defaults and flow
  default: def(
    [I, I],
    I,
    (d: unknown, ...given: unknown[]) => {
      if (given.length === 0 || empty(given[0])) return d;
      return given[0];
    },
    v,
  ),
  empty: def([I], "bool", empty),
  coalesce: def([I], I, (...xs: unknown[]) => xs.find((x) => !empty(x)) ?? null, v),
  all: def([I], "bool", (...xs: unknown[]) => xs.every((x) => !empty(x)), v),
  any: def([I], "bool", (...xs: unknown[]) => xs.some((x) => !empty(x)), v),
  ternary: def([I, I, "bool"], I, (vt: unknown, vf: unknown, b: boolean) => (b ? vt : vf)),
  fail: def(
    ["string"],
    "string",
    (msg: string) => {
      throw new FuncError(msg);
    },
    e,
  ),
  // json
  fromJson: def(["string"], I, fromJson),
  mustFromJson: def(["string"], I, mustFromJson, e),
  toJson: def([I], "string", quietJson(marshal)),
  mustToJson: def([I], "string", mustJson(marshal), e),
  toPrettyJson: def(
    [I],
    "string",
    quietJson((x) => marshalIndent(x, "  ")),
  ),
  mustToPrettyJson: def(
    [I],
    "string",
    mustJson((x) => marshalIndent(x, "  ")),
    e,
  ),
  toRawJson: def([I], "string", mustJson(marshalNoEscape)),
  mustToRawJson: def([I], "string", mustJson(marshalNoEscape), e),
  deepCopy: def([I], I, deepCopyTop),
  mustDeepCopy: def([I], I, deepCopyTop, e),
  // reflection
  typeOf: def([I], "string", (x: unknown) => typeName(x)),
  typeIs: def(["string", I], "bool", (t: string, x: unknown) => t === typeName(x)),
  typeIsLike: def(
    ["string", I],
    "bool",
    (t: string, x: unknown) => t === typeName(x) || "*" + t === typeName(x),
  ),
  kindOf: def([I], "string", (x: unknown) => kindOf(x)),
  kindIs: def(["string", I], "bool", (t: string, x: unknown) => t === kindOf(x)),
  deepEqual: def([I, I], "bool", (a: unknown, b: unknown) => deepEqual(a, b)),
  // paths
  base: def(["string"], "string", paths.base),
  dir: def(["string"], "string", paths.dir),
  clean: def(["string"], "string", paths.clean),
  ext: def(["string"], "string", paths.ext),
  isAbs: def(["string"], "bool", paths.isAbs),
  osBase: def(["string"], "string", paths.base),
  osClean: def(["string"], "string", paths.clean),
  osDir: def(["string"], "string", paths.dir),
  osExt: def(["string"], "string", paths.ext),
  osIsAbs: def(["string"], "bool", paths.isAbs),
  // dicts
  dict: def([I], MAP, dict, v),
  get: def([MAP, "string"], I, (d: Dict, k: string) => (d.has(k) ? d.get(k) : "")),
  set: def([MAP, "string", I], MAP, setKey),
  unset: def([MAP, "string"], MAP, (d: Dict, k: string) => {
    d.delete(k);
    return d;
  }),
  hasKey: def([MAP, "string"], "bool", (d: Dict, k: string) => d.has(k)),
  pluck: def(
    ["string", MAP],
    "[]interface {}",
    (k: string, ...ds: Dict[]) => ds.filter((d) => d.has(k)).map((d) => d.get(k)),
    v,
  ),
  keys: def(
    [MAP],
    "[]string",
    (...ds: Dict[]) =>
      typedSlice(
        ds.flatMap((d) => [...d.keys()]),
        "[]string",
      ),
    v,
  ),
  pick: def(
    [MAP, "string"],
    MAP,
    (d: Dict, ...ks: string[]) => {
      const res = new Map<string, unknown>();
      for (const k of ks) if (d.has(k)) res.set(k, d.get(k));
      return res;
    },
    v,
  ),
  omit: def(
    [MAP, "string"],
    MAP,
    (d: Dict, ...ks: string[]) => {
      const res = new Map<string, unknown>();
      for (const [k, x] of d) if (!ks.includes(k)) res.set(k, x);
      return res;
    },
    v,
  ),
  merge: def([MAP, MAP], I, merge(false), v),
  mergeOverwrite: def([MAP, MAP], I, merge(true), v),
  mustMerge: def([MAP, MAP], I, merge(false), ve),
  mustMergeOverwrite: def([MAP, MAP], I, merge(true), ve),
  values: def([MAP], "[]interface {}", (d: Dict) => [...asDict(d).values()]),
  // crypto
  bcrypt: def(["string"], "string", bcrypt),
  htpasswd: def(["string", "string"], "string", (u: string, p: string) =>
    u.includes(":") ? `invalid username: ${u}` : `${u}:${bcrypt(p)}`,
  ),
  buildCustomCert: def(["string", "string"], "sprig.certificate", buildCustomCert, e),
  // semver
  semver: def(["string"], "*semver.Version", newVersion, e),
  semverCompare: def(
    ["string", "string"],
    "bool",
    (c: string, ver: string) => checkConstraint(newConstraint(c), newVersion(ver)),
    e,
  ),
  // regex
  regexMatch: def(["string", "string"], "bool", (re: string, s: string) => {
    try {
      return GoRegexp.compile(re).matchString(s);
    } catch {
      return false;
    }
  }),
  mustRegexMatch: def(["string", "string"], "bool", (re: string, s: string) => compile(re).matchString(s), e),
  regexFindAll: def(["string", "string", "int"], "[]string", (re: string, s: string, n: GoInt) =>
    strSliceOrNil(mustCompile(re).findAllString(s, Number(n.v))),
  ),
  mustRegexFindAll: def(
    ["string", "string", "int"],
    "[]string",
    (re: string, s: string, n: GoInt) => strSliceOrNil(compile(re).findAllString(s, Number(n.v))),
    e,
  ),
  regexFind: def(["string", "string"], "string", (re: string, s: string) => mustCompile(re).findString(s)),
  mustRegexFind: def(["string", "string"], "string", (re: string, s: string) => compile(re).findString(s), e),
  regexReplaceAll: def(["string", "string", "string"], "string", (re: string, s: string, r: string) =>
    mustCompile(re).replaceAllString(s, r),
  ),
  mustRegexReplaceAll: def(
    ["string", "string", "string"],
    "string",
    (re: string, s: string, r: string) => compile(re).replaceAllString(s, r),
    e,
  ),
  regexReplaceAllLiteral: def(["string", "string", "string"], "string", (re: string, s: string, r: string) =>
    mustCompile(re).replaceAllLiteralString(s, r),
  ),
  mustRegexReplaceAllLiteral: def(
    ["string", "string", "string"],
    "string",
    (re: string, s: string, r: string) => compile(re).replaceAllLiteralString(s, r),
    e,
  ),
  regexSplit: def(["string", "string", "int"], "[]string", (re: string, s: string, n: GoInt) =>
    strSliceOrNil(mustCompile(re).split(s, Number(n.v))),
  ),
  mustRegexSplit: def(
    ["string", "string", "int"],
    "[]string",
    (re: string, s: string, n: GoInt) => strSliceOrNil(compile(re).split(s, Number(n.v))),
    e,
  ),
  regexQuoteMeta: def(["string"], "string", quoteMeta),
  // url
  urlParse: def(["string"], MAP, urlParse),
  urlJoin: def([MAP], "string", urlJoin),
  // dates
  ago: def([I], "string", ago),
  duration: def([I], "string", duration),
  durationRound: def([I], "string", durationRound),
  mustToDate: def(
    ["string", "string"],
    "time.Time",
    (layout: string, s: string) => {
      try {
        return parseTime(layout, s);
      } catch (err) {
        throw new FuncError((err as Error).message);
      }
    },
    e,
  ),
};

function replaceEmpty(s: string, n: string): string {
  // strings.Replace with empty old: insert n before each rune and at the end
  let out = n;
  for (const c of s) out += c + n;
  return out;
}
