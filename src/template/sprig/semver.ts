// Masterminds/semver v3.3.0: NewVersion, NewConstraint and Check (the parts sprig uses).
import { FuncError } from "../funcdef.ts";
import { GoSemver } from "../values.ts";
import { GoRegexp } from "./goregexp.ts";

const semVerRegex =
  `v?([0-9]+)(\\.[0-9]+)?(\\.[0-9]+)?` +
  `(-([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?` +
  `(\\+([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?`;
const cvRegex =
  `v?([0-9|x|X|\\*]+)(\\.[0-9|x|X|\\*]+)?(\\.[0-9|x|X|\\*]+)?` +
  `(-([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?` +
  `(\\+([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?`;
const ops = `=||!=|>|<|>=|=>|<=|=<|~|~>|\\^`;

// Compiled on first use: RE2 compiles these five large patterns into programs of several
// MiB, which a module top level must not pay for in an operator that never runs a semver function.
function lazy(pattern: () => string): () => GoRegexp {
  let re: GoRegexp | undefined;
  return () => {
    re ??= GoRegexp.compile(pattern());
    return re;
  };
}
const versionRe = lazy(() => "^" + semVerRegex + "$");
const constraintRe = lazy(() => `^\\s*(${ops})\\s*(${cvRegex})\\s*$`);
const constraintRangeRe = lazy(() => `\\s*(${cvRegex})\\s+-\\s+(${cvRegex})\\s*`);
const findConstraintRe = lazy(() => `(${ops})\\s*(${cvRegex})`);
const validConstraintRe = lazy(
  () => `^(\\s*(${ops})\\s*(${cvRegex})\\s*)((?:\\s+|,\\s*)(${ops})\\s*(${cvRegex})\\s*)*$`,
);

const num = "0123456789";
const allowed = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-" + num;

function containsOnly(s: string, set: string): boolean {
  for (const c of s) if (!set.includes(c)) return false;
  return true;
}

function parseUint(s: string): bigint {
  const v = BigInt(s);
  if (v >= 1n << 64n) {
    throw new FuncError(
      `Error parsing version segment: strconv.ParseUint: parsing "${s}": value out of range`,
    );
  }
  return v;
}

export function newVersion(v: string): GoSemver {
  const m = versionRe().findStringSubmatch(v);
  if (m === null) throw new FuncError("Invalid Semantic Version");
  const pre = m[5] ?? "";
  const metadata = m[8] ?? "";
  const major = parseUint(m[1]!);
  const minor = m[2] ? parseUint(m[2].slice(1)) : 0n;
  const patch = m[3] ? parseUint(m[3].slice(1)) : 0n;
  if (pre !== "") {
    for (const p of pre.split(".")) {
      if (containsOnly(p, num)) {
        if (p.length > 1 && p[0] === "0") throw new FuncError("Version segment starts with 0");
      } else if (!containsOnly(p, allowed)) throw new FuncError("Invalid Prerelease string");
    }
  }
  if (metadata !== "") {
    for (const p of metadata.split("."))
      if (!containsOnly(p, allowed)) throw new FuncError("Invalid Metadata string");
  }
  return new GoSemver(major, minor, patch, pre, metadata, v);
}

function cmpSeg(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function comparePrePart(s: string, o: string): number {
  if (s === o) return 0;
  if (s === "") return o !== "" ? -1 : 1;
  if (o === "") return s !== "" ? 1 : -1;
  const isNum = (x: string) => /^[0-9]+$/.test(x) && BigInt(x) < 1n << 64n;
  const on = isNum(o);
  const sn = isNum(s);
  if (!on && !sn) return s > o ? 1 : -1;
  if (!on) return -1;
  if (!sn) return 1;
  return BigInt(s) > BigInt(o) ? 1 : -1;
}

function comparePrerelease(v: string, o: string): number {
  const sp = v.split(".");
  const op = o.split(".");
  const l = Math.max(sp.length, op.length);
  for (let i = 0; i < l; i++) {
    const d = comparePrePart(sp[i] ?? "", op[i] ?? "");
    if (d !== 0) return d;
  }
  return 0;
}

export function compareVersions(v: GoSemver, o: GoSemver): number {
  let d = cmpSeg(v.major, o.major);
  if (d !== 0) return d;
  d = cmpSeg(v.minor, o.minor);
  if (d !== 0) return d;
  d = cmpSeg(v.patch, o.patch);
  if (d !== 0) return d;
  if (v.pre === "" && o.pre === "") return 0;
  if (v.pre === "") return 1;
  if (o.pre === "") return -1;
  return comparePrerelease(v.pre, o.pre);
}

interface Constraint {
  con: GoSemver;
  orig: string;
  op: string;
  minorDirty: boolean;
  patchDirty: boolean;
  dirty: boolean;
}

const isX = (x: string) => x === "x" || x === "*" || x === "X";

function parseConstraint(c: string): Constraint {
  if (c.length > 0) {
    const m = constraintRe().findStringSubmatch(c);
    if (m === null) throw new FuncError(`improper constraint: ${c}`);
    const g = (i: number) => m[i] ?? "";
    let ver = g(2);
    let minorDirty = false;
    let patchDirty = false;
    let dirty = false;
    if (isX(g(3)) || g(3) === "") {
      ver = `0.0.0${g(6)}`;
      dirty = true;
    } else if (isX(g(4).replace(/^\./, "")) || g(4) === "") {
      minorDirty = true;
      dirty = true;
      ver = `${g(3)}.0.0${g(6)}`;
    } else if (isX(g(5).replace(/^\./, "")) || g(5) === "") {
      dirty = true;
      patchDirty = true;
      ver = `${g(3)}${g(4)}.0${g(6)}`;
    }
    let con: GoSemver;
    try {
      con = newVersion(ver);
    } catch {
      throw new FuncError("constraint Parser Error");
    }
    return { con, orig: g(2), op: g(1), minorDirty, patchDirty, dirty };
  }
  return { con: newVersion("0.0.0"), orig: c, op: "", minorDirty: false, patchDirty: false, dirty: true };
}

function preBlocked(v: GoSemver, c: Constraint): boolean {
  return v.pre !== "" && c.con.pre === "";
}

function tilde(v: GoSemver, c: Constraint): boolean {
  if (preBlocked(v, c)) return false;
  if (compareVersions(v, c.con) < 0) return false;
  if (c.con.major === 0n && c.con.minor === 0n && c.con.patch === 0n && !c.minorDirty && !c.patchDirty)
    return true;
  if (v.major !== c.con.major) return false;
  if (v.minor !== c.con.minor && !c.minorDirty) return false;
  return true;
}

function check(v: GoSemver, c: Constraint): boolean {
  const cmp = () => compareVersions(v, c.con);
  switch (c.op) {
    case "":
    case "=":
      if (preBlocked(v, c)) return false;
      if (c.dirty) return tilde(v, c);
      return cmp() === 0;
    case "!=":
      if (c.dirty) {
        if (preBlocked(v, c)) return false;
        if (c.con.major !== v.major) return true;
        if (c.con.minor !== v.minor && !c.minorDirty) return true;
        if (c.minorDirty) return false;
        if (c.con.patch !== v.patch && !c.patchDirty) return true;
        if (c.patchDirty) {
          if (v.pre !== "" || c.con.pre !== "") {
            if (comparePrerelease(v.pre, c.con.pre) !== 0) return true;
          }
          return false;
        }
      }
      return cmp() !== 0;
    case ">":
      if (preBlocked(v, c)) return false;
      if (!c.dirty) {
        if (cmp() === 1) return true;
      }
      if (v.major > c.con.major) return true;
      if (v.major < c.con.major) return false;
      if (c.minorDirty) return false;
      if (c.patchDirty) return v.minor > c.con.minor;
      return cmp() === 1;
    case "<":
      if (preBlocked(v, c)) return false;
      return cmp() < 0;
    case ">=":
    case "=>":
      if (preBlocked(v, c)) return false;
      return cmp() >= 0;
    case "<=":
    case "=<":
      if (preBlocked(v, c)) return false;
      if (!c.dirty) return cmp() <= 0;
      if (v.major > c.con.major) return false;
      if (v.major === c.con.major && v.minor > c.con.minor && !c.minorDirty) return false;
      return true;
    case "~":
    case "~>":
      return tilde(v, c);
    case "^": {
      if (preBlocked(v, c)) return false;
      if (cmp() < 0) return false;
      if (c.con.major > 0n || c.minorDirty) return v.major === c.con.major;
      if (c.con.major === 0n && v.major > 0n) return false;
      if (c.con.minor > 0n || c.patchDirty) return v.minor === c.con.minor;
      if (c.con.minor === 0n && v.minor > 0n) return false;
      return c.con.patch === v.patch;
    }
  }
  return false;
}

function rewriteRange(i: string): string {
  const ms = constraintRangeRe().allMatches(i, -1);
  if (ms.length === 0) return i;
  let o = i;
  for (const m of ms) {
    const whole = i.slice(m[0], m[1]);
    const a = i.slice(m[2], m[3]);
    const b = i.slice(m[22], m[23]);
    o = o.replace(whole, `>= ${a}, <= ${b} `);
  }
  return o;
}

export function newConstraint(c: string): Constraint[][] {
  c = rewriteRange(c);
  return c.split("||").map((v) => {
    if (!validConstraintRe().matchString(v)) throw new FuncError(`improper constraint: ${v}`);
    let cs = findConstraintRe().findAllString(v, -1);
    if (cs === null) cs = [v];
    return cs.map(parseConstraint);
  });
}

export function checkConstraint(cs: Constraint[][], v: GoSemver): boolean {
  return cs.some((and) => and.every((c) => check(v, c)));
}
