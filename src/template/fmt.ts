// Go's fmt package over the value model: Sprintf, Sprint, Sprintln.
import { chargeSteps } from "./budget.ts";
import { canBackquote, formatFloat, quote, quoteRune } from "./strconv.ts";
import { formatTime } from "./timefmt.ts";
import {
  GoComplex,
  GoFunc,
  GoInt,
  GoSemver,
  GoStruct,
  GoTime,
  Iface,
  isNilContainer,
  isUnsigned,
  JsonNumber,
  sliceType,
  sortedKeys,
  typeName,
  utf8,
} from "./values.ts";

interface Flags {
  plus: boolean;
  minus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  plusV: boolean;
  sharpV: boolean;
  wid: number;
  widPresent: boolean;
  prec: number;
  precPresent: boolean;
}

function clearFlags(): Flags {
  return {
    plus: false,
    minus: false,
    sharp: false,
    space: false,
    zero: false,
    plusV: false,
    sharpV: false,
    wid: 0,
    widPresent: false,
    prec: 0,
    precPresent: false,
  };
}

function runeCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** A Go value that has a String() method, and its result. */
export function stringerOf(v: unknown): string | undefined {
  if (v instanceof JsonNumber) return v.s;
  if (v instanceof GoTime) return formatTime(v, "2006-01-02 15:04:05.999999999 -0700 MST");
  if (v instanceof GoSemver) return v.toString();
  return undefined;
}

class Printer {
  buf = "";
  f: Flags = clearFlags();
  erroring = false;

  writePadding(n: number): void {
    if (n <= 0) return;
    const pad = this.f.zero && !this.f.minus ? "0" : " ";
    this.buf += pad.repeat(n);
  }

  pad(s: string): void {
    if (!this.f.widPresent || this.f.wid === 0) {
      this.buf += s;
      return;
    }
    const width = this.f.wid - runeCount(s);
    if (!this.f.minus) {
      this.writePadding(width);
      this.buf += s;
    } else {
      this.buf += s;
      this.writePadding(width);
    }
  }

  fmtBoolean(v: boolean): void {
    this.pad(v ? "true" : "false");
  }

  fmtUnicode(u: bigint): void {
    u = BigInt.asUintN(64, u);
    let s = u.toString(16).toUpperCase();
    let prec = 4;
    if (this.f.precPresent && this.f.prec > 4) prec = this.f.prec;
    if (s.length < prec) s = s.padStart(prec, "0");
    s = "U+" + s;
    if (this.f.sharp && u <= 0x10ffffn && isPrintRune(Number(u))) {
      s += " '" + String.fromCodePoint(Number(u)) + "'";
    }
    const oldZero = this.f.zero;
    this.f.zero = false;
    this.pad(s);
    this.f.zero = oldZero;
  }

  fmtInteger(v: bigint, base: number, verb: string, upper: boolean): void {
    const negative = v < 0n;
    let u = negative ? -v : v;
    const f = this.f;
    let prec = 0;
    if (f.precPresent) {
      prec = f.prec;
      if (prec === 0 && u === 0n) {
        const oldZero = f.zero;
        f.zero = false;
        this.writePadding(f.wid);
        f.zero = oldZero;
        return;
      }
    } else if (f.zero && !f.minus && f.widPresent) {
      prec = f.wid;
      if (negative || f.plus || f.space) prec--;
    }
    let digits = u.toString(base);
    if (upper) digits = digits.toUpperCase();
    if (digits.length < prec) digits = "0".repeat(prec - digits.length) + digits;
    u = 0n;
    if (f.sharp) {
      if (base === 2) digits = "0b" + digits;
      else if (base === 8) {
        if (digits[0] !== "0") digits = "0" + digits;
      } else if (base === 16) digits = (upper ? "0X" : "0x") + digits;
    }
    if (verb === "O") digits = "0o" + digits;
    if (negative) digits = "-" + digits;
    else if (f.plus) digits = "+" + digits;
    else if (f.space) digits = " " + digits;
    const oldZero = f.zero;
    f.zero = false;
    this.pad(digits);
    f.zero = oldZero;
  }

  truncateString(s: string): string {
    if (this.f.precPresent) {
      let n = this.f.prec;
      let i = 0;
      for (const ch of s) {
        n--;
        if (n < 0) return s.slice(0, i);
        i += ch.length;
      }
    }
    return s;
  }

  fmtS(s: string): void {
    this.pad(this.truncateString(s));
  }

  fmtSbx(bytes: Uint8Array, upper: boolean): void {
    const digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    const f = this.f;
    let length = bytes.length;
    if (f.precPresent && f.prec < length) length = f.prec;
    let width = 2 * length;
    if (width > 0) {
      if (f.space) {
        if (f.sharp) width *= 2;
        width += length - 1;
      } else if (f.sharp) width += 2;
    } else {
      if (f.widPresent) this.writePadding(f.wid);
      return;
    }
    if (f.widPresent && f.wid > width && !f.minus) this.writePadding(f.wid - width);
    const x = upper ? "X" : "x";
    let out = "";
    if (f.sharp) out += "0" + x;
    for (let i = 0; i < length; i++) {
      if (f.space && i > 0) {
        out += " ";
        if (f.sharp) out += "0" + x;
      }
      const c = bytes[i];
      out += digits[c >> 4] + digits[c & 0xf];
    }
    this.buf += out;
    if (f.widPresent && f.wid > width && f.minus) this.writePadding(f.wid - width);
  }

  fmtQ(s: string): void {
    s = this.truncateString(s);
    if (this.f.sharp && canBackquote(s)) {
      this.pad("`" + s + "`");
      return;
    }
    this.pad(quote(s, this.f.plus));
  }

  fmtC(c: bigint): void {
    c = BigInt.asUintN(64, c);
    let r = Number(c);
    if (c > 0x10ffffn || (r >= 0xd800 && r <= 0xdfff)) r = 0xfffd;
    this.pad(String.fromCodePoint(r));
  }

  fmtQc(c: bigint): void {
    c = BigInt.asUintN(64, c);
    const r = c > 0x10ffffn ? 0xfffd : Number(c);
    this.pad(quoteRune(r, this.f.plus));
  }

  fmtFloatInner(v: number, verb: "e" | "E" | "f" | "g" | "G" | "x" | "X" | "b", prec: number): void {
    const f = this.f;
    if (f.precPresent) prec = f.prec;
    let num = formatFloat(v, verb, prec);
    if (num[0] !== "-" && num[0] !== "+") num = "+" + num;
    if (f.space && num[0] === "+" && !f.plus) num = " " + num.slice(1);
    if (num[1] === "I" || num[1] === "N") {
      const oldZero = f.zero;
      f.zero = false;
      if (num[1] === "N" && !f.space && !f.plus) num = num.slice(1);
      this.pad(num);
      f.zero = oldZero;
      return;
    }
    if (f.sharp && verb !== "b") {
      let digits = 0;
      if (verb === "g" || verb === "G" || verb === "x") {
        digits = prec;
        if (digits === -1) digits = 6;
      }
      let tail = "";
      let hasDecimalPoint = false;
      let sawNonzeroDigit = false;
      let body = num;
      for (let i = 1; i < body.length; i++) {
        const c = body[i];
        if (c === ".") hasDecimalPoint = true;
        else if (c === "p" || c === "P" || ((c === "e" || c === "E") && verb !== "x" && verb !== "X")) {
          tail = body.slice(i);
          body = body.slice(0, i);
          break;
        } else {
          if (c !== "0") sawNonzeroDigit = true;
          if (sawNonzeroDigit) digits--;
        }
      }
      if (!hasDecimalPoint) {
        if (body.length === 2 && body[1] === "0") digits--;
        body += ".";
      }
      while (digits > 0) {
        body += "0";
        digits--;
      }
      num = body + tail;
    }
    if (f.plus || num[0] !== "+") {
      if (f.zero && !f.minus && f.widPresent && f.wid > num.length) {
        this.buf += num[0];
        this.writePadding(f.wid - num.length);
        this.buf += num.slice(1);
        return;
      }
      this.pad(num);
      return;
    }
    this.pad(num.slice(1));
  }

  // ---- pp level ----

  badVerb(verb: string, arg: unknown): void {
    this.erroring = true;
    this.buf += "%!" + verb + "(";
    if (arg !== null && arg !== undefined) {
      this.buf += typeName(arg) + "=";
      this.printArg(arg, "v");
    } else {
      this.buf += "<nil>";
    }
    this.buf += ")";
    this.erroring = false;
  }

  fmtBool(v: boolean, verb: string, arg: unknown): void {
    if (verb === "t" || verb === "v") this.fmtBoolean(v);
    else this.badVerb(verb, arg);
  }

  fmtIntegerVerb(v: bigint, unsigned: boolean, verb: string, arg: unknown): void {
    switch (verb) {
      case "v":
        if (this.f.sharpV && unsigned) {
          const sharp = this.f.sharp;
          this.f.sharp = true;
          this.fmtInteger(v, 16, "v", false);
          this.f.sharp = sharp;
        } else this.fmtInteger(v, 10, verb, false);
        return;
      case "d":
        this.fmtInteger(v, 10, verb, false);
        return;
      case "b":
        this.fmtInteger(v, 2, verb, false);
        return;
      case "o":
      case "O":
        this.fmtInteger(v, 8, verb, false);
        return;
      case "x":
        this.fmtInteger(v, 16, verb, false);
        return;
      case "X":
        this.fmtInteger(v, 16, verb, true);
        return;
      case "c":
        this.fmtC(v);
        return;
      case "q":
        this.fmtQc(v);
        return;
      case "U":
        this.fmtUnicode(v);
        return;
      default:
        this.badVerb(verb, arg);
    }
  }

  fmtFloat(v: number, verb: string, arg: unknown): void {
    switch (verb) {
      case "v":
        this.fmtFloatInner(v, "g", -1);
        return;
      case "g":
      case "G":
        this.fmtFloatInner(v, verb, -1);
        return;
      case "f":
      case "e":
      case "E":
        this.fmtFloatInner(v, verb, 6);
        return;
      case "F":
        this.fmtFloatInner(v, "f", 6);
        return;
      case "b":
      case "x":
      case "X":
        this.fmtFloatInner(v, verb, -1);
        return;
      default:
        this.badVerb(verb, arg);
    }
  }

  fmtComplex(v: GoComplex, verb: string): void {
    if (!"vbgGxXfFeE".includes(verb)) {
      this.badVerb(verb, v);
      return;
    }
    const oldPlus = this.f.plus;
    this.buf += "(";
    this.fmtFloat(v.re, verb, v);
    this.f.plus = true;
    this.fmtFloat(v.im, verb, v);
    this.buf += "i)";
    this.f.plus = oldPlus;
  }

  fmtString(v: string, verb: string, arg: unknown): void {
    switch (verb) {
      case "v":
        if (this.f.sharpV) this.fmtQ(v);
        else this.fmtS(v);
        return;
      case "s":
        this.fmtS(v);
        return;
      case "x":
        this.fmtSbx(utf8(v), false);
        return;
      case "X":
        this.fmtSbx(utf8(v), true);
        return;
      case "q":
        this.fmtQ(v);
        return;
      default:
        this.badVerb(verb, arg);
    }
  }

  fmtBytes(v: Uint8Array, verb: string, typeString: string, depth: number): void {
    switch (verb) {
      case "v":
      case "d":
        if (this.f.sharpV) {
          this.buf += typeString + "{";
          v.forEach((c, i) => {
            if (i > 0) this.buf += ", ";
            this.buf += "0x" + c.toString(16);
          });
          this.buf += "}";
        } else {
          this.buf += "[";
          v.forEach((c, i) => {
            if (i > 0) this.buf += " ";
            this.fmtInteger(BigInt(c), 10, verb, false);
          });
          this.buf += "]";
        }
        return;
      case "s": {
        const s = new TextDecoder().decode(v);
        this.fmtS(s);
        return;
      }
      case "x":
        this.fmtSbx(v, false);
        return;
      case "X":
        this.fmtSbx(v, true);
        return;
      case "q":
        this.fmtQ(new TextDecoder().decode(v));
        return;
      default:
        this.printValue(
          [...v].map((c) => new GoInt("uint8", BigInt(c))),
          verb,
          depth,
          v,
        );
    }
  }

  handleMethods(arg: unknown, verb: string): boolean {
    if (this.erroring) return false;
    if (this.f.sharpV) {
      if (arg instanceof JsonNumber) {
        this.buf += quote(arg.s);
        return true;
      }
      return false;
    }
    if (verb === "v" || verb === "s" || verb === "x" || verb === "X" || verb === "q") {
      const s = stringerOf(arg);
      if (s !== undefined) {
        this.fmtString(s, verb, arg);
        return true;
      }
    }
    return false;
  }

  printArg(arg: unknown, verb: string): void {
    if (arg instanceof Iface) arg = arg.v;
    if (arg === null || arg === undefined) {
      if (verb === "T" || verb === "v") this.pad("<nil>");
      else this.badVerb(verb, arg);
      return;
    }
    if (verb === "T") {
      this.fmtS(typeName(arg));
      return;
    }
    if (verb === "w") {
      // Sprintf does not wrap errors: %w is always a bad verb.
      this.badVerb(verb, arg);
      return;
    }
    if (verb === "p") {
      this.fmtPointer(arg, verb);
      return;
    }
    switch (typeof arg) {
      case "boolean":
        this.fmtBool(arg, verb, arg);
        return;
      case "number":
        this.fmtFloat(arg, verb, arg);
        return;
      case "string":
        this.fmtString(arg, verb, arg);
        return;
    }
    if (arg instanceof GoInt) {
      this.fmtIntegerVerb(arg.v, isUnsigned(arg.t), verb, arg);
      return;
    }
    if (arg instanceof GoComplex) {
      this.fmtComplex(arg, verb);
      return;
    }
    if (arg instanceof Uint8Array) {
      this.fmtBytes(arg, verb, "[]byte", 0);
      return;
    }
    if (!this.handleMethods(arg, verb)) this.printValue(arg, verb, 0, arg);
  }

  fmtPointer(arg: unknown, verb: string): void {
    if (Array.isArray(arg) || arg instanceof Map || arg instanceof GoFunc || arg instanceof GoSemver) {
      // Addresses are not meaningful here; print a stable fake one.
      const s = isNilContainer(arg) ? "0x0" : "0xc000010000";
      if (verb === "v" || verb === "p") this.pad(s);
      else this.badVerb(verb, arg);
      return;
    }
    if (arg instanceof GoStruct && arg.ptr) {
      this.pad("0xc000010000");
      return;
    }
    this.badVerb(verb, arg);
  }

  printValue(value: unknown, verb: string, depth: number, arg: unknown): void {
    chargeSteps(1);
    if (value instanceof Iface) {
      if (value.v === null || value.v === undefined) {
        if (this.f.sharpV) this.buf += "interface {}(nil)";
        else this.buf += "<nil>";
        return;
      }
      value = value.v;
    }
    if (depth > 0 && value !== undefined && value !== null) {
      if (this.handleMethods(value, verb)) return;
    }
    if (value === undefined || value === null) {
      if (depth === 0) this.buf += "<invalid reflect.Value>";
      else if (verb === "v") this.buf += "<nil>";
      else this.badVerb(verb, undefined);
      return;
    }
    if (depth > 0) arg = value;
    switch (typeof value) {
      case "boolean":
        this.fmtBool(value, verb, arg);
        return;
      case "number":
        this.fmtFloat(value, verb, arg);
        return;
      case "string":
        this.fmtString(value, verb, arg);
        return;
    }
    if (value instanceof GoInt) {
      this.fmtIntegerVerb(value.v, isUnsigned(value.t), verb, arg);
      return;
    }
    if (value instanceof GoComplex) {
      this.fmtComplex(value, verb);
      return;
    }
    if (value instanceof JsonNumber) {
      this.fmtString(value.s, verb, arg);
      return;
    }
    if (value instanceof Uint8Array) {
      this.fmtBytes(value, verb, "[]uint8", depth);
      return;
    }
    if (value instanceof Map) {
      if (this.f.sharpV) {
        this.buf += typeName(value);
        if (isNilContainer(value)) {
          this.buf += "(nil)";
          return;
        }
        this.buf += "{";
      } else this.buf += "map[";
      let i = 0;
      for (const k of sortedKeys(value)) {
        if (i++ > 0) this.buf += this.f.sharpV ? ", " : " ";
        this.printValue(k, verb, depth + 1, k);
        this.buf += ":";
        this.printValue(new Iface(value.get(k)), verb, depth + 1, value.get(k));
      }
      this.buf += this.f.sharpV ? "}" : "]";
      return;
    }
    if (Array.isArray(value)) {
      const t = sliceType(value);
      if ((verb === "s" || verb === "q" || verb === "x" || verb === "X") && t === "[]uint8") {
        this.fmtBytes(Uint8Array.from(value.map((x) => Number((x as GoInt).v))), verb, t, depth);
        return;
      }
      const iface = t === "[]interface {}";
      if (this.f.sharpV) {
        this.buf += t;
        if (isNilContainer(value)) {
          this.buf += "(nil)";
          return;
        }
        this.buf += "{";
        value.forEach((x, i) => {
          if (i > 0) this.buf += ", ";
          this.printValue(iface ? new Iface(x) : x, verb, depth + 1, x);
        });
        this.buf += "}";
      } else {
        this.buf += "[";
        value.forEach((x, i) => {
          if (i > 0) this.buf += " ";
          this.printValue(iface ? new Iface(x) : x, verb, depth + 1, x);
        });
        this.buf += "]";
      }
      return;
    }
    if (value instanceof GoStruct) {
      if (value.ptr) {
        if (depth === 0) {
          this.buf += "&";
          this.printStruct(value, verb, depth + 1);
          return;
        }
        this.fmtPointer(value, verb);
        return;
      }
      this.printStruct(value, verb, depth);
      return;
    }
    if (value instanceof GoTime) {
      // time.Time printed without its String method (only reachable via %d etc.)
      this.badVerb(verb, arg);
      return;
    }
    if (value instanceof GoSemver) {
      if (depth === 0) {
        this.buf += "&";
        this.printStruct(semverStruct(value), verb, depth + 1);
        return;
      }
      this.fmtPointer(value, verb);
      return;
    }
    if (value instanceof GoFunc) {
      this.fmtPointer(value, verb);
      return;
    }
    this.buf += "?" + typeName(value) + "?";
  }

  printStruct(s: GoStruct, verb: string, depth: number): void {
    if (this.f.sharpV) this.buf += s.type;
    this.buf += "{";
    let i = 0;
    for (const [name, v] of s.fields) {
      if (i++ > 0) this.buf += this.f.sharpV ? ", " : " ";
      if (this.f.plusV || this.f.sharpV) this.buf += name + ":";
      this.printValue(v, verb, depth + 1, v);
    }
    this.buf += "}";
  }

  doPrintf(format: string, a: unknown[]): void {
    const end = format.length;
    let argNum = 0;
    let afterIndex = false;
    let reordered = false;
    let goodArgNum = true;

    const parsenum = (s: string, start: number, e: number): [number, boolean, number] => {
      if (start >= e) return [0, false, e];
      let num = 0;
      let isnum = false;
      let i = start;
      for (; i < e && s[i] >= "0" && s[i] <= "9"; i++) {
        if (num > 1e6 || num < -1e6) return [0, false, e];
        num = num * 10 + (s.charCodeAt(i) - 48);
        isnum = true;
      }
      return [num, isnum, i];
    };
    const argNumber = (an: number, i: number, numArgs: number): [number, number, boolean] => {
      if (format.length <= i || format[i] !== "[") return [an, i, false];
      reordered = true;
      // parseArgNumber
      const sub = format.slice(i);
      let index = 0;
      let wid = 1;
      let ok = false;
      if (sub.length >= 3) {
        for (let j = 1; j < sub.length; j++) {
          if (sub[j] === "]") {
            const [width, isnum, newi] = parsenum(sub, 1, j);
            if (!isnum || newi !== j) {
              index = 0;
              wid = j + 1;
              ok = false;
            } else {
              index = width - 1;
              wid = j + 1;
              ok = true;
            }
            break;
          }
        }
      }
      if (ok && index >= 0 && index < numArgs) return [index, i + wid, true];
      goodArgNum = false;
      return [an, i + wid, ok];
    };
    const intFromArg = (an: number): [number, boolean, number] => {
      let num = 0;
      let isInt = false;
      let newArgNum = an;
      if (an < a.length) {
        let x = a[an];
        if (x instanceof Iface) x = x.v;
        if (x instanceof GoInt) {
          const n = x.v;
          if (n >= -(2n ** 63n) && n < 2n ** 63n) {
            num = Number(n);
            isInt = true;
          }
        }
        newArgNum = an + 1;
        if (num > 1e6 || num < -1e6) {
          num = 0;
          isInt = false;
        }
      }
      return [num, isInt, newArgNum];
    };

    let i = 0;
    formatLoop: while (i < end) {
      goodArgNum = true;
      const lasti = i;
      while (i < end && format[i] !== "%") i++;
      if (i > lasti) this.buf += format.slice(lasti, i);
      if (i >= end) break;
      i++;
      this.f = clearFlags();
      const f = this.f;
      simple: for (; i < end; i++) {
        const c = format[i];
        switch (c) {
          case "#":
            f.sharp = true;
            break;
          case "0":
            f.zero = true;
            break;
          case "+":
            f.plus = true;
            break;
          case "-":
            f.minus = true;
            break;
          case " ":
            f.space = true;
            break;
          default:
            if (c >= "a" && c <= "z" && argNum < a.length) {
              if (c === "v" || c === "w") {
                f.sharpV = f.sharp;
                f.sharp = false;
                f.plusV = f.plus;
                f.plus = false;
              }
              this.printArg(a[argNum], c);
              argNum++;
              i++;
              continue formatLoop;
            }
            break simple;
        }
      }
      // Go 1.2x: zero flag is ignored when minus is set, at verb time.
      if (f.minus) f.zero = false;

      [argNum, i, afterIndex] = argNumber(argNum, i, a.length);

      if (i < end && format[i] === "*") {
        i++;
        [f.wid, f.widPresent, argNum] = intFromArg(argNum);
        if (!f.widPresent) this.buf += "%!(BADWIDTH)";
        if (f.wid < 0) {
          f.wid = -f.wid;
          f.minus = true;
          f.zero = false;
        }
        afterIndex = false;
      } else {
        [f.wid, f.widPresent, i] = parsenum(format, i, end);
        if (afterIndex && f.widPresent) goodArgNum = false;
      }

      if (i + 1 < end && format[i] === ".") {
        i++;
        if (afterIndex) goodArgNum = false;
        [argNum, i, afterIndex] = argNumber(argNum, i, a.length);
        if (i < end && format[i] === "*") {
          i++;
          [f.prec, f.precPresent, argNum] = intFromArg(argNum);
          if (f.prec < 0) {
            f.prec = 0;
            f.precPresent = false;
          }
          if (!f.precPresent) this.buf += "%!(BADPREC)";
          afterIndex = false;
        } else {
          [f.prec, f.precPresent, i] = parsenum(format, i, end);
          if (!f.precPresent) {
            f.prec = 0;
            f.precPresent = true;
          }
        }
      }

      if (!afterIndex) [argNum, i, afterIndex] = argNumber(argNum, i, a.length);

      if (i >= end) {
        this.buf += "%!(NOVERB)";
        break;
      }
      const verb = String.fromCodePoint(format.codePointAt(i)!);
      i += verb.length;
      if (verb === "%") {
        this.buf += "%";
      } else if (!goodArgNum) {
        this.buf += "%!" + verb + "(BADINDEX)";
      } else if (argNum >= a.length) {
        this.buf += "%!" + verb + "(MISSING)";
      } else {
        if (verb === "v" || verb === "w") {
          f.sharpV = f.sharp;
          f.sharp = false;
          f.plusV = f.plus;
          f.plus = false;
        }
        this.printArg(a[argNum], verb);
        argNum++;
      }
    }
    if (!reordered && argNum < a.length) {
      this.f = clearFlags();
      this.buf += "%!(EXTRA ";
      a.slice(argNum).forEach((arg, j) => {
        if (j > 0) this.buf += ", ";
        const x = arg instanceof Iface ? arg.v : arg;
        if (x === null || x === undefined) this.buf += "<nil>";
        else {
          this.buf += typeName(x) + "=";
          this.printArg(x, "v");
        }
      });
      this.buf += ")";
    }
  }

  doPrint(a: unknown[]): void {
    let prevString = false;
    a.forEach((arg, argNum) => {
      const x = arg instanceof Iface ? arg.v : arg;
      const isString = typeof x === "string" || x instanceof JsonNumber;
      if (argNum > 0 && !isString && !prevString) this.buf += " ";
      this.f = clearFlags();
      this.printArg(x, "v");
      prevString = isString;
    });
  }

  doPrintln(a: unknown[]): void {
    a.forEach((arg, argNum) => {
      if (argNum > 0) this.buf += " ";
      this.f = clearFlags();
      this.printArg(arg, "v");
    });
    this.buf += "\n";
  }
}

function semverStruct(v: GoSemver): GoStruct {
  return new GoStruct(
    "semver.Version",
    [
      ["major", new GoInt("uint64", v.major)],
      ["minor", new GoInt("uint64", v.minor)],
      ["patch", new GoInt("uint64", v.patch)],
      ["pre", v.pre],
      ["metadata", v.metadata],
      ["original", v.original],
    ],
    false,
  );
}

function isPrintRune(r: number): boolean {
  if (r < 0x20 || (r >= 0x7f && r < 0xa0)) return false;
  return /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(String.fromCodePoint(r));
}

export function sprintf(format: string, ...a: unknown[]): string {
  const p = new Printer();
  p.doPrintf(format, a);
  return p.buf;
}

export function sprint(...a: unknown[]): string {
  const p = new Printer();
  p.doPrint(a);
  return p.buf;
}

export function sprintln(...a: unknown[]): string {
  const p = new Printer();
  p.doPrintln(a);
  return p.buf;
}

/** fmt.Sprint of one value (the `%v` text of a value). */
export function formatValue(v: unknown): string {
  const p = new Printer();
  p.printArg(v, "v");
  return p.buf;
}
