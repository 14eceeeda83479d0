// text/template's predefined functions.
import { formatValue, sprint, sprintf, sprintln } from "./fmt.ts";
import { def, FuncError, type FuncMap } from "./funcdef.ts";
import {
  byteSlice,
  GoComplex,
  GoFunc,
  GoInt,
  GoSemver,
  GoStruct,
  Iface,
  isIntKind,
  isNilContainer,
  isUintKind,
  JsonNumber,
  kindOf,
  lenOf,
  mapType,
  sliceType,
  stringOf,
  typedSlice,
  typeName,
  utf8,
} from "./values.ts";

/** An error that names only types (never a value): its text may be shown as is. */
function typeError(message: string): FuncError {
  return new FuncError(message, message);
}

/** Unwrap one interface level (Go's indirectInterface). Invalid/nil become undefined. */
export function indirectInterface(v: unknown): unknown {
  if (v instanceof Iface) return v.v === null ? undefined : v.v;
  if (v === null) return undefined;
  return v;
}

/** Go's isTrue: [truth, ok]. */
export function isTrue(val: unknown): [boolean, boolean] {
  if (val === undefined) return [false, true];
  if (val instanceof Iface) return [val.v !== null && val.v !== undefined, true];
  if (val === null) return [false, true];
  switch (typeof val) {
    case "string":
      return [val.length > 0, true];
    case "boolean":
      return [val, true];
    case "number":
      return [val !== 0, true];
  }
  if (val instanceof GoInt) return [val.v !== 0n, true];
  if (val instanceof GoComplex) return [val.re !== 0 || val.im !== 0, true];
  if (val instanceof JsonNumber) return [val.s.length > 0, true];
  if (Array.isArray(val) || val instanceof Map || val instanceof Uint8Array) return [lenOf(val)! > 0, true];
  if (val instanceof GoStruct) return [true, true];
  if (val instanceof GoSemver || val instanceof GoFunc) return [true, true];
  return [true, true];
}

type BasicKind = "invalid" | "bool" | "int" | "uint" | "float" | "complex" | "string";

function basicKind(v: unknown): BasicKind {
  if (v === undefined || v === null) return "invalid";
  const k = kindOf(v);
  if (k === "bool") return "bool";
  if (isIntKind(k)) return "int";
  if (isUintKind(k)) return "uint";
  if (k === "float64") return "float";
  if (k === "complex128") return "complex";
  if (k === "string") return "string";
  return "invalid";
}

function intOf(v: unknown): bigint {
  return (v as GoInt).v;
}

function strOf(v: unknown): string {
  return stringOf(v)!;
}

function isNilValue(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  return isNilContainer(v);
}

export function eq(arg1: unknown, ...arg2: unknown[]): boolean {
  arg1 = indirectInterface(arg1);
  if (arg2.length === 0) throw typeError("missing argument for comparison");
  const k1 = basicKind(arg1);
  for (let arg of arg2) {
    arg = indirectInterface(arg);
    const k2 = basicKind(arg);
    let truth = false;
    if (k1 !== k2) {
      if (k1 === "int" && k2 === "uint") truth = intOf(arg1) >= 0n && intOf(arg1) === intOf(arg);
      else if (k1 === "uint" && k2 === "int") truth = intOf(arg) >= 0n && intOf(arg1) === intOf(arg);
      else if (arg1 !== undefined && arg !== undefined) {
        throw typeError(`incompatible types for comparison: ${typeName(arg1)} and ${typeName(arg)}`);
      }
    } else {
      switch (k1) {
        case "bool":
          truth = arg1 === arg;
          break;
        case "float":
          truth = arg1 === arg;
          break;
        case "complex":
          truth =
            (arg1 as GoComplex).re === (arg as GoComplex).re &&
            (arg1 as GoComplex).im === (arg as GoComplex).im;
          break;
        case "int":
        case "uint":
          truth = intOf(arg1) === intOf(arg);
          break;
        case "string":
          truth = strOf(arg1) === strOf(arg);
          break;
        default: {
          const ka = kindOf(arg1);
          const kb = kindOf(arg);
          if (!(ka === kb || ka === "invalid" || kb === "invalid")) {
            throw new FuncError(
              `non-comparable types ${sprintf("%s", arg1)}: ${typeName(arg1)}, ${typeName(arg)}: ${formatValue(arg)}`,
            );
          }
          if (isNilValue(arg1) || isNilValue(arg)) truth = isNilValue(arg) === isNilValue(arg1);
          else {
            if (ka === "map" || ka === "slice" || ka === "func") {
              throw new FuncError(`non-comparable type ${sprintf("%s", arg)}: ${typeName(arg)}`);
            }
            truth = arg1 === arg;
          }
        }
      }
    }
    if (truth) return true;
  }
  return false;
}

export function lt(arg1: unknown, arg2: unknown): boolean {
  arg1 = indirectInterface(arg1);
  const k1 = basicKind(arg1);
  if (k1 === "invalid") throw typeError("invalid type for comparison");
  arg2 = indirectInterface(arg2);
  const k2 = basicKind(arg2);
  if (k2 === "invalid") throw typeError("invalid type for comparison");
  if (k1 !== k2) {
    if (k1 === "int" && k2 === "uint") return intOf(arg1) < 0n || intOf(arg1) < intOf(arg2);
    if (k1 === "uint" && k2 === "int") return intOf(arg2) >= 0n && intOf(arg1) < intOf(arg2);
    throw typeError(`incompatible types for comparison: ${typeName(arg1)} and ${typeName(arg2)}`);
  }
  switch (k1) {
    case "bool":
    case "complex":
      throw typeError("invalid type for comparison");
    case "float":
      return (arg1 as number) < (arg2 as number);
    case "int":
    case "uint":
      return intOf(arg1) < intOf(arg2);
    case "string":
      return Buffer.compare(Buffer.from(strOf(arg1)), Buffer.from(strOf(arg2))) < 0;
  }
  return false;
}

function le(a: unknown, b: unknown): boolean {
  return lt(a, b) || eq(a, b);
}

/** The type name after Go's indirect() (pointers dereferenced). */
function derefTypeName(v: unknown): string {
  if (v instanceof GoStruct) return v.type;
  if (v instanceof GoSemver) return "semver.Version";
  return typeName(v);
}

/** Go's indexArg. */
function indexArg(index: unknown, cap: number): number {
  index = indirectInterface(index);
  let x: bigint;
  const k = kindOf(index);
  if (isIntKind(k) || isUintKind(k)) x = (index as GoInt).v;
  else if (k === "invalid") throw typeError("cannot index slice/array with nil");
  else throw typeError(`cannot index slice/array with type ${typeName(index)}`);
  if (x < 0n || x > BigInt(cap)) throw new FuncError(`index out of range: ${x}`);
  return Number(x);
}

function index(item: unknown, ...indexes: unknown[]): unknown {
  let cur = indirectInterface(item);
  if (cur === undefined) throw typeError("index of untyped nil");
  for (let idx of indexes) {
    idx = indirectInterface(idx);
    if (cur instanceof Iface) {
      if (cur.v === null || cur.v === undefined) throw new FuncError("index of nil pointer");
      cur = cur.v;
    }
    if (cur === null) throw new FuncError("index of nil pointer");
    const s = stringOf(cur);
    if (s !== undefined) {
      const b = utf8(s);
      const x = indexArg(idx, b.length);
      if (x === b.length) throw new FuncError("reflect: string index out of range");
      cur = new GoInt("uint8", BigInt(b[x]));
    } else if (Array.isArray(cur)) {
      const x = indexArg(idx, cur.length);
      if (x === cur.length) throw new FuncError(`reflect: slice index out of range`);
      cur = sliceType(cur) === "[]interface {}" ? new Iface(cur[x]) : cur[x];
    } else if (cur instanceof Uint8Array) {
      const x = indexArg(idx, cur.length);
      if (x === cur.length) throw new FuncError(`reflect: slice index out of range`);
      cur = new GoInt("uint8", BigInt(cur[x]));
    } else if (cur instanceof Map) {
      const key: unknown = idx;
      if (key === undefined) throw new FuncError("value is nil; should be of type string");
      if (typeName(key) !== "string") {
        throw new FuncError(`value has type ${typeName(key)}; should be string`);
      }
      const iface = mapType(cur) === "map[string]interface {}";
      if (cur.has(key as string)) {
        const v = cur.get(key as string);
        cur = iface ? new Iface(v) : v;
      } else {
        cur = iface ? new Iface(null) : mapType(cur) === "map[string]string" ? "" : null;
      }
    } else {
      throw typeError(`can't index item of type ${derefTypeName(cur)}`);
    }
  }
  return cur;
}

function slice(item: unknown, ...indexes: unknown[]): unknown {
  const cur = indirectInterface(item);
  if (cur === undefined) throw typeError("slice of untyped nil");
  if (indexes.length > 3) throw new FuncError(`too many slice indexes: ${indexes.length}`);
  let cap: number;
  let len: number;
  const s = stringOf(cur);
  if (s !== undefined) {
    if (indexes.length === 3) throw new FuncError("cannot 3-index slice a string");
    cap = len = utf8(s).length;
  } else if (Array.isArray(cur) || cur instanceof Uint8Array) {
    cap = len = cur.length;
  } else {
    throw typeError(`can't slice item of type ${derefTypeName(cur)}`);
  }
  const idx = [0, len, 0];
  indexes.forEach((ix, i) => {
    idx[i] = indexArg(ix, cap);
  });
  if (idx[0] > idx[1]) throw new FuncError(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  if (indexes.length === 3 && idx[1] > idx[2])
    throw new FuncError(`invalid slice index: ${idx[1]} > ${idx[2]}`);
  if (typeof cur === "string") return byteSlice(cur, idx[0], idx[1]);
  if (cur instanceof JsonNumber) return new JsonNumber(byteSlice(cur.s, idx[0], idx[1]));
  if (cur instanceof Uint8Array) return cur.slice(idx[0], idx[1]);
  return typedSlice((cur as unknown[]).slice(idx[0], idx[1]), sliceType(cur as unknown[]));
}

function length(item: unknown): GoInt {
  let v = item;
  if (v instanceof Iface) {
    if (v.v === null || v.v === undefined) throw typeError("len of nil pointer");
    v = v.v;
  }
  if (v === undefined || v === null) throw new FuncError("reflect: call of reflect.Value.Type on zero Value");
  const n = lenOf(v);
  if (n === undefined) {
    // len indirects pointers before reporting the type
    const t = v instanceof GoStruct ? v.type : v instanceof GoSemver ? "semver.Version" : typeName(v);
    throw typeError(`len of type ${t}`);
  }
  return new GoInt("int", BigInt(n));
}

/** text/template's printableValue: pointers are dereferenced, nil is "<no value>". */
export function printable(a: unknown): unknown {
  if (a === null || a === undefined) return "<no value>";
  if (a instanceof GoStruct && a.ptr) return new GoStruct(a.type, [...a.fields], false);
  return a;
}

// printableValue + Sprint for html/js/urlquery
function evalArgs(args: unknown[]): string {
  if (args.length === 1 && typeof args[0] === "string") return args[0];
  return sprint(...args.map(printable));
}

function htmlEscape(s: string): string {
  if (!/['"&<>\0]/.test(s)) return s;
  let out = "";
  for (const c of s) {
    switch (c) {
      case "\0":
        out += "\uFFFD";
        break;
      case '"':
        out += "&#34;";
        break;
      case "'":
        out += "&#39;";
        break;
      case "&":
        out += "&amp;";
        break;
      case "<":
        out += "&lt;";
        break;
      case ">":
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

const printRe = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

function jsEscape(s: string): string {
  let out = "";
  for (const c of s) {
    const r = c.codePointAt(0)!;
    switch (c) {
      case "\\":
        out += "\\\\";
        continue;
      case "'":
        out += "\\'";
        continue;
      case '"':
        out += '\\"';
        continue;
      case "<":
        out += "\\u003C";
        continue;
      case ">":
        out += "\\u003E";
        continue;
      case "&":
        out += "\\u0026";
        continue;
      case "=":
        out += "\\u003D";
        continue;
    }
    if (r < 0x20) {
      out += "\\u00" + r.toString(16).toUpperCase().padStart(2, "0");
    } else if (r < 0x80) {
      out += c;
    } else if (r >= 0xa1 && printRe.test(c) && !(r >= 0xd800 && r <= 0xdfff)) {
      out += c;
    } else {
      out += "\\u" + r.toString(16).toUpperCase().padStart(4, "0");
    }
  }
  return out;
}

/** url.QueryEscape */
export function queryEscape(s: string): string {
  let out = "";
  for (const b of utf8(s)) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === " ") out += "+";
    else out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

function callFn(name: string, fn: unknown, ...args: unknown[]): unknown {
  const f = indirectInterface(fn);
  if (f === undefined) throw new FuncError("call of nil");
  if (!(f instanceof GoFunc)) throw new FuncError(`non-function ${name} of type ${typeName(f)}`);
  return f.fn(...args.map(indirectInterface));
}

export const builtinFuncs: FuncMap = {
  and: def(["reflect.Value", "reflect.Value"], "reflect.Value", () => undefined, { variadic: true }),
  or: def(["reflect.Value", "reflect.Value"], "reflect.Value", () => undefined, { variadic: true }),
  not: def(["reflect.Value"], "bool", (a: unknown) => !isTrue(indirectInterface(a))[0]),
  len: def(["reflect.Value"], "int", length, { err: true }),
  index: def(["reflect.Value", "reflect.Value"], "reflect.Value", index, { variadic: true, err: true }),
  slice: def(["reflect.Value", "reflect.Value"], "reflect.Value", slice, { variadic: true, err: true }),
  print: def(["interface {}"], "string", (...a: unknown[]) => sprint(...a), { variadic: true }),
  printf: def(["string", "interface {}"], "string", (f: string, ...a: unknown[]) => sprintf(f, ...a), {
    variadic: true,
  }),
  println: def(["interface {}"], "string", (...a: unknown[]) => sprintln(...a), { variadic: true }),
  eq: def(["reflect.Value", "reflect.Value"], "bool", eq, { variadic: true, err: true }),
  ne: def(["reflect.Value", "reflect.Value"], "bool", (a: unknown, b: unknown) => !eq(a, b), { err: true }),
  lt: def(["reflect.Value", "reflect.Value"], "bool", lt, { err: true }),
  le: def(["reflect.Value", "reflect.Value"], "bool", le, { err: true }),
  gt: def(["reflect.Value", "reflect.Value"], "bool", (a: unknown, b: unknown) => !le(a, b), { err: true }),
  ge: def(["reflect.Value", "reflect.Value"], "bool", (a: unknown, b: unknown) => !lt(a, b), { err: true }),
  html: def(["interface {}"], "string", (...a: unknown[]) => htmlEscape(evalArgs(a)), { variadic: true }),
  js: def(["interface {}"], "string", (...a: unknown[]) => jsEscape(evalArgs(a)), { variadic: true }),
  urlquery: def(["interface {}"], "string", (...a: unknown[]) => queryEscape(evalArgs(a)), {
    variadic: true,
  }),
  call: def(["reflect.Value", "reflect.Value"], "reflect.Value", callFn, { variadic: true, err: true }),
};
