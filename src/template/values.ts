// Go value model for the template engine.
//
// Go templates are dynamically typed over Go's static types, and output depends on those
// types (`%d` of a float64 is `%!d(float64=1)`, typeOf says `int64` or `json.Number`), so
// values carry their Go type:
//
//   undefined            an invalid reflect.Value ("<no value>": missing map key, nil result)
//   null                 a nil interface{}
//   string / boolean     Go string / bool
//   number               Go float64
//   GoInt                a sized Go integer (int, int64, uint8...), value as bigint
//   JsonNumber           encoding/json.Number (what the Vault API client decodes numbers to)
//   Array                []interface{} unless tagged with GO_TYPE (e.g. "[]string", "[]int")
//   Map<string, ...>     map[string]interface{} unless tagged with GO_TYPE (e.g. "map[string]string")
//   Uint8Array           []byte
//   GoStruct             a struct or pointer to struct (template input, sprig.certificate)
//   GoTime               time.Time
//   GoSemver             *semver.Version
//   GoFunc               a function value (only reachable through `call`)
//
// A nil slice or nil map is an empty Array/Map tagged with GO_NIL.
import { chargeSteps } from "./budget.ts";

export const GO_TYPE: unique symbol = Symbol("goType");
export const GO_NIL: unique symbol = Symbol("goNil");

export type IntType =
  | "int"
  | "int8"
  | "int16"
  | "int32"
  | "int64"
  | "uint"
  | "uint8"
  | "uint16"
  | "uint32"
  | "uint64";

export class GoInt {
  readonly t: IntType;
  readonly v: bigint;
  constructor(t: IntType, v: bigint) {
    this.t = t;
    this.v = wrapInt(t, v);
  }
}

export function wrapInt(t: IntType, v: bigint): bigint {
  switch (t) {
    case "int":
    case "int64":
      return BigInt.asIntN(64, v);
    case "int32":
      return BigInt.asIntN(32, v);
    case "int16":
      return BigInt.asIntN(16, v);
    case "int8":
      return BigInt.asIntN(8, v);
    case "uint":
    case "uint64":
      return BigInt.asUintN(64, v);
    case "uint32":
      return BigInt.asUintN(32, v);
    case "uint16":
      return BigInt.asUintN(16, v);
    case "uint8":
      return BigInt.asUintN(8, v);
  }
}

export function isUnsigned(t: IntType): boolean {
  return t.startsWith("u");
}

export class JsonNumber {
  readonly s: string;
  constructor(s: string) {
    this.s = s;
  }
}

export class GoStruct {
  readonly type: string; // e.g. "helpers.SecretInput"
  readonly ptr: boolean;
  readonly fields: Map<string, unknown>;
  constructor(type: string, fields: [string, unknown][], ptr: boolean) {
    this.type = type;
    this.fields = new Map(fields);
    this.ptr = ptr;
  }
}

export class GoFunc {
  readonly name: string;
  readonly fn: (...args: unknown[]) => unknown;
  constructor(name: string, fn: (...args: unknown[]) => unknown) {
    this.name = name;
    this.fn = fn;
  }
}

/** A Go complex128 (only reachable through imaginary constants like 2i). */
export class GoComplex {
  readonly re: number;
  readonly im: number;
  constructor(re: number, im: number) {
    this.re = re;
    this.im = im;
  }
}

/** A Go time.Time: Unix seconds + nanoseconds, plus the zone it is shown in. */
export class GoTime {
  readonly sec: bigint; // Unix seconds
  readonly nsec: number; // 0..999999999
  readonly offset: number; // zone offset in seconds east of UTC
  readonly zone: string; // zone abbreviation, "UTC" for UTC
  constructor(sec: bigint, nsec: number, offset: number, zone: string) {
    this.sec = sec;
    this.nsec = nsec;
    this.offset = offset;
    this.zone = zone;
  }
}

/** Masterminds semver *Version. */
export class GoSemver {
  readonly major: bigint;
  readonly minor: bigint;
  readonly patch: bigint;
  readonly pre: string;
  readonly metadata: string;
  readonly original: string;
  constructor(major: bigint, minor: bigint, patch: bigint, pre: string, metadata: string, original: string) {
    this.major = major;
    this.minor = minor;
    this.patch = patch;
    this.pre = pre;
    this.metadata = metadata;
    this.original = original;
  }
  toString(): string {
    let s = `${this.major}.${this.minor}.${this.patch}`;
    if (this.pre) s += `-${this.pre}`;
    if (this.metadata) s += `+${this.metadata}`;
    return s;
  }
}

/** An interface{}-typed reflect.Value (map element, slice element) that still wraps its content. */
export class Iface {
  readonly v: unknown;
  constructor(v: unknown) {
    this.v = v;
  }
}

export type GoMap = Map<string, unknown> & { [GO_TYPE]?: string; [GO_NIL]?: boolean };
export type GoSlice = unknown[] & { [GO_TYPE]?: string; [GO_NIL]?: boolean };

export function typedSlice<T>(items: T[], type: string): GoSlice {
  const s = items as GoSlice;
  s[GO_TYPE] = type;
  return s;
}

export function typedMap(m: Map<string, unknown>, type: string): GoMap {
  const g = m as GoMap;
  g[GO_TYPE] = type;
  return g;
}

export function nilMap(type = "map[string]interface {}"): GoMap {
  const m = new Map() as GoMap;
  m[GO_NIL] = true;
  if (type !== "map[string]interface {}") m[GO_TYPE] = type;
  return m;
}

export function nilSlice(type = "[]interface {}"): GoSlice {
  const s = [] as GoSlice;
  s[GO_NIL] = true;
  if (type !== "[]interface {}") s[GO_TYPE] = type;
  return s;
}

export function isNilContainer(v: unknown): boolean {
  return (Array.isArray(v) || v instanceof Map) && (v as GoSlice)[GO_NIL] === true;
}

export function sliceType(s: unknown[]): string {
  return (s as GoSlice)[GO_TYPE] ?? "[]interface {}";
}

export function mapType(m: Map<string, unknown>): string {
  return (m as GoMap)[GO_TYPE] ?? "map[string]interface {}";
}

export function unwrap(v: unknown): unknown {
  return v instanceof Iface ? v.v : v;
}

/** Go's %T: the dynamic type name of a value. */
export function typeName(v: unknown): string {
  if (v instanceof Iface) return typeName(v.v);
  if (v === undefined || v === null) return "<nil>";
  switch (typeof v) {
    case "string":
      return "string";
    case "boolean":
      return "bool";
    case "number":
      return "float64";
    case "bigint":
      return "int";
  }
  if (v instanceof GoInt) return v.t;
  if (v instanceof GoComplex) return "complex128";
  if (v instanceof JsonNumber) return "json.Number";
  if (Array.isArray(v)) return sliceType(v);
  if (v instanceof Map) return mapType(v);
  if (v instanceof Uint8Array) return "[]uint8";
  if (v instanceof GoStruct) return (v.ptr ? "*" : "") + v.type;
  if (v instanceof GoTime) return "time.Time";
  if (v instanceof GoSemver) return "*semver.Version";
  if (v instanceof GoFunc) return "func(...interface {}) interface {}";
  return "<unknown>";
}

export type Kind =
  | "invalid"
  | "bool"
  | "int"
  | "int8"
  | "int16"
  | "int32"
  | "int64"
  | "uint"
  | "uint8"
  | "uint16"
  | "uint32"
  | "uint64"
  | "float64"
  | "complex128"
  | "string"
  | "slice"
  | "map"
  | "struct"
  | "ptr"
  | "func"
  | "interface";

/** reflect.Kind of the dynamic value. */
export function kindOf(v: unknown): Kind {
  if (v instanceof Iface) return v.v === null || v.v === undefined ? "interface" : kindOf(v.v);
  if (v === undefined || v === null) return "invalid";
  switch (typeof v) {
    case "string":
      return "string";
    case "boolean":
      return "bool";
    case "number":
      return "float64";
  }
  if (v instanceof GoInt) return v.t;
  if (v instanceof GoComplex) return "complex128";
  if (v instanceof JsonNumber) return "string";
  if (Array.isArray(v) || v instanceof Uint8Array) return "slice";
  if (v instanceof Map) return "map";
  if (v instanceof GoStruct) return v.ptr ? "ptr" : "struct";
  if (v instanceof GoTime) return "struct";
  if (v instanceof GoSemver) return "ptr";
  if (v instanceof GoFunc) return "func";
  return "invalid";
}

export function isIntKind(k: Kind): boolean {
  return k === "int" || k === "int8" || k === "int16" || k === "int32" || k === "int64";
}

export function isUintKind(k: Kind): boolean {
  return k === "uint" || k === "uint8" || k === "uint16" || k === "uint32" || k === "uint64";
}

/** The Go string value of a string-kinded value (string or json.Number). */
export function stringOf(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (v instanceof JsonNumber) return v.s;
  return undefined;
}

/** Length of a Go string in bytes (UTF-8). */
export function byteLen(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });

export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

export function fromUtf8(b: Uint8Array): string {
  return decoder.decode(b);
}

/** Go's s[start:end] on byte offsets. */
export function byteSlice(s: string, start: number, end?: number): string {
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return s.slice(start, end);
  return fromUtf8(utf8(s).subarray(start, end));
}

/** Length as Go's len(): bytes for strings, elements for containers. */
export function lenOf(v: unknown): number | undefined {
  v = unwrap(v);
  const s = stringOf(v);
  if (s !== undefined) return byteLen(s);
  if (Array.isArray(v)) return v.length;
  if (v instanceof Map) return v.size;
  if (v instanceof Uint8Array) return v.length;
  return undefined;
}

/** reflect.DeepEqual over the value model. */
export function deepEqual(a: unknown, b: unknown): boolean {
  chargeSteps(1);
  a = unwrap(a);
  b = unwrap(b);
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (a === null || b === null) return a === b;
  if (typeName(a) !== typeName(b)) return false;
  if (typeof a === "number") return a === b;
  if (typeof a !== "object") return a === b;
  if (a instanceof GoInt) return a.v === (b as GoInt).v;
  if (a instanceof GoComplex) return a.re === (b as GoComplex).re && a.im === (b as GoComplex).im;
  if (a instanceof JsonNumber) return a.s === (b as JsonNumber).s;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (isNilContainer(a) !== isNilContainer(bb)) return false;
    if (a.length !== bb.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], bb[i])) return false;
    return true;
  }
  if (a instanceof Map) {
    const bm = b as Map<string, unknown>;
    if (isNilContainer(a) !== isNilContainer(bm)) return false;
    if (a.size !== bm.size) return false;
    for (const [k, v] of a) {
      if (!bm.has(k)) return false;
      if (!deepEqual(v, bm.get(k))) return false;
    }
    return true;
  }
  if (a instanceof Uint8Array) {
    const bb = b as Uint8Array;
    if (a.length !== bb.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== bb[i]) return false;
    return true;
  }
  if (a instanceof GoStruct) {
    const bs = b as GoStruct;
    if (a.ptr && a === bs) return true;
    for (const [k, v] of a.fields) if (!deepEqual(v, bs.fields.get(k))) return false;
    return true;
  }
  if (a instanceof GoTime) {
    const bt = b as GoTime;
    return a.sec === bt.sec && a.nsec === bt.nsec && a.offset === bt.offset && a.zone === bt.zone;
  }
  if (a instanceof GoSemver) return a === b;
  return a === b;
}

/** Sort map keys the way fmt and text/template do (byte-wise string order). */
export function sortedKeys(m: Map<string, unknown>): string[] {
  return [...m.keys()].sort(compareGoStrings);
}

export function compareGoStrings(a: string, b: string): number {
  // UTF-16 code unit order differs from UTF-8 byte order only for surrogates vs U+E000..U+FFFF.
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && x <= 0xdfff) x += 0x2000;
    else if (x >= 0xe000) x -= 0x800;
    if (y >= 0xd800 && y <= 0xdfff) y += 0x2000;
    else if (y >= 0xe000) y -= 0x800;
    return x < y ? -1 : 1;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/** Convert plain JS data (from JSON) to the value model. */
export function fromJS(v: unknown, numbers: "json.Number" | "float64" = "json.Number"): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === "number") return numbers === "float64" ? v : new JsonNumber(jsNumberText(v));
  if (typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "bigint") return numbers === "float64" ? Number(v) : new JsonNumber(v.toString());
  if (Array.isArray(v)) return v.map((x) => fromJS(x, numbers));
  if (v instanceof JsonNumber || v instanceof GoInt || v instanceof Map) return v;
  if (typeof v === "object") {
    const m = new Map<string, unknown>();
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) m.set(k, fromJS(x, numbers));
    return m;
  }
  return v;
}

function jsNumberText(n: number): string {
  return Number.isInteger(n) && Math.abs(n) < 1e21 ? n.toFixed(0) : String(n);
}
