// String helpers ported from Go's strings/unicode, Masterminds/goutils and huandu/xstrings
// as sprig v3.3.0 uses them.
import { FuncError } from "../funcdef.ts";
import { byteLen, utf8 } from "../values.ts";

/** unicode.IsSpace */
export function isSpaceRune(r: number): boolean {
  if (r <= 0xff) return r === 0x20 || (r >= 0x09 && r <= 0x0d) || r === 0x85 || r === 0xa0;
  return (
    r === 0x1680 ||
    (r >= 0x2000 && r <= 0x200a) ||
    r === 0x2028 ||
    r === 0x2029 ||
    r === 0x202f ||
    r === 0x205f ||
    r === 0x3000
  );
}

const letterRe = /^\p{L}$/u;
const digitRe = /^\p{Nd}$/u;
const numberRe = /^\p{N}$/u;
const upperRe = /^\p{Lu}$/u;
const lowerRe = /^\p{Ll}$/u;
const titleRe = /^\p{Lt}$/u;
const punctRe = /^\p{P}$/u;
const cjkRe = /^[\p{Script=Han}\p{Script=Hangul}\p{Script=Hiragana}\p{Script=Katakana}]$/u;

export const isLetter = (c: string): boolean => letterRe.test(c);
export const isDigit = (c: string): boolean => digitRe.test(c);
export const isNumber = (c: string): boolean => numberRe.test(c);
export const isUpper = (c: string): boolean => upperRe.test(c);
export const isLower = (c: string): boolean => lowerRe.test(c);
export const isPunct = (c: string): boolean => punctRe.test(c);

/** unicode.ToUpper (simple case mapping) */
export function toUpperRune(c: string): string {
  const u = c.toUpperCase();
  return [...u].length === 1 ? u : c;
}

export function toLowerRune(c: string): string {
  if (c === "\u0130") return "i";
  const l = c.toLowerCase();
  return [...l].length === 1 ? l : c;
}

export function toTitleRune(c: string): string {
  const special: Record<string, string> = { ǆ: "ǅ", Ǆ: "ǅ", ǉ: "ǈ", Ǉ: "ǈ", ǌ: "ǋ", Ǌ: "ǋ", ǳ: "ǲ", Ǳ: "ǲ" };
  return special[c] ?? toUpperRune(c);
}

const asciiRe = /^[\x00-\x7f]*$/;

export function goUpper(s: string): string {
  if (asciiRe.test(s)) return s.toUpperCase();
  let out = "";
  for (const c of s) out += toUpperRune(c);
  return out;
}

export function goLower(s: string): string {
  if (asciiRe.test(s)) return s.toLowerCase();
  let out = "";
  for (const c of s) out += toLowerRune(c);
  return out;
}

/** strings.TrimSpace */
export function trimSpace(s: string): string {
  const cps = [...s];
  let b = 0;
  let e = cps.length;
  while (b < e && isSpaceRune(cps[b].codePointAt(0)!)) b++;
  while (e > b && isSpaceRune(cps[e - 1].codePointAt(0)!)) e--;
  return cps.slice(b, e).join("");
}

/** strings.Trim(s, cutset) */
export function trimCutset(s: string, cutset: string): string {
  if (s === "" || cutset === "") return s;
  const set = new Set([...cutset]);
  const cps = [...s];
  let b = 0;
  let e = cps.length;
  while (b < e && set.has(cps[b])) b++;
  while (e > b && set.has(cps[e - 1])) e--;
  return cps.slice(b, e).join("");
}

function isSeparator(c: string): boolean {
  const r = c.codePointAt(0)!;
  if (r <= 0x7f) {
    if ((c >= "0" && c <= "9") || (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c === "_") return false;
    return true;
  }
  if (isLetter(c) || isDigit(c)) return false;
  return isSpaceRune(r);
}

/** strings.Title */
export function title(s: string): string {
  let prev = " ";
  let out = "";
  for (const c of s) {
    out += isSeparator(prev) ? toTitleRune(c) : c;
    prev = c;
  }
  return out;
}

/** Treat each byte of the UTF-8 encoding as a rune, as goutils does in a few places. */
function bytesAsRunes(s: string): string[] {
  return [...utf8(s)].map((b) => String.fromCharCode(b));
}

/** goutils.DeleteWhiteSpace (iterates bytes) */
export function deleteWhiteSpace(s: string): string {
  if (s === "") return s;
  const bs = bytesAsRunes(s);
  const kept = bs.filter((c) => !isSpaceRune(c.charCodeAt(0)));
  if (kept.length === bs.length) return s;
  return kept.join("");
}

/** goutils.Initials (iterates bytes) */
export function initials(s: string): string {
  if (s === "") return s;
  let out = "";
  let lastWasGap = true;
  for (const c of bytesAsRunes(s)) {
    if (isSpaceRune(c.charCodeAt(0))) lastWasGap = true;
    else if (lastWasGap) {
      out += c;
      lastWasGap = false;
    }
  }
  return out;
}

/** goutils.Uncapitalize */
export function uncapitalize(s: string): string {
  if (s === "") return s;
  let out = "";
  let next = true;
  for (const c of s) {
    if (isSpaceRune(c.codePointAt(0)!)) {
      next = true;
      out += c;
    } else if (next) {
      out += toLowerRune(c);
      next = false;
    } else out += c;
  }
  return out;
}

/** goutils.SwapCase */
export function swapCase(s: string): string {
  if (s === "") return s;
  let out = "";
  let whitespace = true;
  for (const c of s) {
    if (isUpper(c) || titleRe.test(c)) {
      out += toLowerRune(c);
      whitespace = false;
    } else if (isLower(c)) {
      out += whitespace ? toTitleRune(c) : toUpperRune(c);
      whitespace = false;
    } else {
      whitespace = isSpaceRune(c.codePointAt(0)!);
      out += c;
    }
  }
  return out;
}

/** goutils.AbbreviateFull (byte based) */
export function abbreviateFull(str: string, offset: number, maxWidth: number): [string, boolean] {
  if (str === "") return ["", true];
  if (maxWidth < 4) return ["", false];
  const len = byteLen(str);
  if (len <= maxWidth) return [str, true];
  const b = utf8(str);
  const dec = (x: Uint8Array) => new TextDecoder().decode(x);
  if (offset > len) offset = len;
  if (len - offset < maxWidth - 3) offset = len - (maxWidth - 3);
  if (offset <= 4) return [dec(b.subarray(0, maxWidth - 3)) + "...", true];
  if (maxWidth < 7) return ["", false];
  if (offset + maxWidth - 3 < len) {
    const [r] = abbreviateFull(dec(b.subarray(offset)), 0, maxWidth - 3);
    return ["..." + r, true];
  }
  return ["..." + dec(b.subarray(len - (maxWidth - 3))), true];
}

/** goutils.WrapCustom (byte based, ASCII assumptions as in the original) */
export function wrapCustom(
  str: string,
  wrapLength: number,
  newLineStr: string,
  wrapLongWords: boolean,
): string {
  if (str === "") return "";
  if (newLineStr === "") newLineStr = "\n";
  if (wrapLength < 1) wrapLength = 1;
  const b = utf8(str);
  const dec = (x: Uint8Array) => new TextDecoder().decode(x);
  const inputLineLength = b.length;
  let offset = 0;
  let out = "";
  const lastIndexSpace = (from: number, to: number): number => {
    for (let i = to - 1; i >= from; i--) if (b[i] === 0x20) return i - from;
    return -1;
  };
  while (inputLineLength - offset > wrapLength) {
    if (b[offset] === 0x20) {
      offset++;
      continue;
    }
    const end = wrapLength + offset + 1;
    const spaceToWrapAt = lastIndexSpace(offset, Math.min(end, b.length)) + offset;
    if (spaceToWrapAt >= offset) {
      out += dec(b.subarray(offset, spaceToWrapAt)) + newLineStr;
      offset = spaceToWrapAt + 1;
    } else if (wrapLongWords) {
      const e = wrapLength + offset;
      out += dec(b.subarray(offset, e)) + newLineStr;
      offset += wrapLength;
    } else {
      const e = wrapLength + offset;
      let index = -1;
      for (let i = e; i < b.length; i++) {
        if (b[i] === 0x20) {
          index = i - e;
          break;
        }
      }
      if (index === -1) {
        out += dec(b.subarray(offset));
        offset = inputLineLength;
      } else {
        const s = index + e;
        out += dec(b.subarray(offset, s)) + newLineStr;
        offset = s + 1;
      }
    }
  }
  out += dec(b.subarray(offset));
  return out;
}

// ---- xstrings ------------------------------------------------------------------------------

function isConnector(c: string): boolean {
  return c === "-" || c === "_" || isSpaceRune(c.codePointAt(0)!);
}

function isAlphabet(c: string): boolean {
  return isLetter(c) && !cjkRe.test(c);
}

/** xstrings.ToPascalCase (sprig camelcase) */
export function toPascalCase(str: string): string {
  if (str === "") return "";
  const rs = [...str];
  let i = 0;
  let out = "";
  let isFirstRuneUpper = false;
  let r0 = "";
  let r1 = "";
  let consumedAny = false;
  while (i < rs.length) {
    r0 = rs[i++];
    consumedAny = true;
    if (!isConnector(r0)) {
      isFirstRuneUpper = isUpper(r0);
      r0 = toUpperRune(r0);
      break;
    }
    out += r0;
  }
  if (i >= rs.length) {
    if (consumedAny) out += r0;
    return out;
  }
  while (i < rs.length) {
    r1 = r0;
    r0 = rs[i++];
    if (isConnector(r0) && isConnector(r1)) {
      out += r1;
      continue;
    }
    if (isConnector(r1)) {
      isFirstRuneUpper = isUpper(r0);
      r0 = toUpperRune(r0);
    } else {
      if (isFirstRuneUpper) {
        if (isUpper(r0)) r0 = toLowerRune(r0);
        else isFirstRuneUpper = false;
      }
      out += r1;
    }
  }
  out += r0;
  return out;
}

type WordType = "invalid" | "number" | "upper" | "alphabet" | "connector" | "punct" | "other";

function nextWord(rs: string[], start: number): [WordType, number] {
  // returns word type and end index (exclusive)
  if (start >= rs.length) return ["invalid", start];
  let i = start;
  const r = rs[i++];
  if (r === "\ufffd") return ["invalid", i];
  if (isConnector(r)) {
    while (i < rs.length && isConnector(rs[i])) i++;
    return ["connector", i];
  }
  if (isPunct(r)) {
    while (i < rs.length && isPunct(rs[i])) i++;
    return ["punct", i];
  }
  if (isUpper(r)) {
    if (i >= rs.length) return ["upper", i];
    const r2 = rs[i];
    if (isUpper(r2)) {
      i++;
      while (i < rs.length && isUpper(rs[i])) i++;
      if (i < rs.length && isAlphabet(rs[i])) i--;
    } else if (isAlphabet(r2)) {
      i++;
      while (i < rs.length && isAlphabet(rs[i]) && !isUpper(rs[i])) i++;
    }
    return ["upper", i];
  }
  if (isAlphabet(r)) {
    while (i < rs.length && isAlphabet(rs[i]) && !isUpper(rs[i])) i++;
    return ["alphabet", i];
  }
  if (isNumber(r)) {
    while (i < rs.length && isNumber(rs[i])) i++;
    return ["number", i];
  }
  while (i < rs.length && !(isConnector(rs[i]) || isAlphabet(rs[i]) || isNumber(rs[i]) || isPunct(rs[i])))
    i++;
  return ["other", i];
}

function lowerWord(wt: WordType, word: string, connector: string): string {
  if (wt !== "upper" && wt !== "connector") return word;
  let out = "";
  for (const c of word) {
    if (isConnector(c)) out += connector;
    else if (isUpper(c)) out += toLowerRune(c);
    else out += c;
  }
  return out;
}

/** xstrings camelCaseToLowerCase (snakecase / kebabcase) */
export function camelCaseToLowerCase(str: string, connector: string): string {
  if (str === "") return "";
  const rs = [...str];
  let out = "";
  let pos = 0;
  const next = (): [WordType, string] => {
    const [wt, e] = nextWord(rs, pos);
    const w = rs.slice(pos, e).join("");
    pos = e;
    return [wt, w];
  };
  let [wt, word] = next();
  while (pos < rs.length) {
    if (wt !== "connector") out += lowerWord(wt, word, connector);
    const prev = wt;
    const last = word;
    [wt, word] = next();
    switch (prev) {
      case "number":
        while (wt === "alphabet" || wt === "number") {
          out += lowerWord(wt, word, connector);
          [wt, word] = next();
        }
        if (wt !== "invalid" && wt !== "punct" && wt !== "connector") out += connector;
        break;
      case "connector":
        out += lowerWord(prev, last, connector);
        break;
      case "punct":
        break;
      default: {
        if (wt !== "number") {
          if (wt !== "connector" && wt !== "punct") out += connector;
          break;
        }
        if (pos >= rs.length) break;
        const lastNum = word;
        [wt, word] = next();
        if (wt !== "alphabet") {
          out += lowerWord("number", lastNum, connector);
          if (wt !== "connector" && wt !== "punct") out += connector;
          break;
        }
        out += connector;
        out += lowerWord("number", lastNum, connector);
        while (wt === "alphabet" || wt === "number") {
          out += lowerWord(wt, word, connector);
          [wt, word] = next();
        }
        if (wt !== "invalid" && wt !== "connector" && wt !== "punct") out += connector;
      }
    }
  }
  out += lowerWord(wt, word, connector);
  return out;
}

/** xstrings.Shuffle */
export function shuffle(s: string): string {
  if (s === "") return s;
  const rs = [...s];
  for (let i = rs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [rs[i], rs[j]] = [rs[j], rs[i]];
  }
  return rs.join("");
}

/** Go's s[a:b] with runtime panics as errors (byte offsets). */
export function goSliceString(s: string, a: number, b?: number): string {
  const bytes = utf8(s);
  const len = bytes.length;
  if (b === undefined) {
    if (a < 0 || a > len) throw new FuncError(`runtime error: slice bounds out of range [${a}:${len}]`);
    return new TextDecoder().decode(bytes.subarray(a));
  }
  if (b < 0 || b > len)
    throw new FuncError(`runtime error: slice bounds out of range [:${b}] with length ${len}`);
  if (a < 0 || a > b) throw new FuncError(`runtime error: slice bounds out of range [${a}:${b}]`);
  return new TextDecoder().decode(bytes.subarray(a, b));
}

/** strings.SplitN */
export function splitN(s: string, sep: string, n: number): string[] {
  if (n === 0) return [];
  if (sep === "") {
    const rs = [...s];
    if (n < 0 || n > rs.length) n = rs.length;
    const out = rs.slice(0, n - 1);
    out.push(rs.slice(n - 1).join(""));
    return n === 0 ? [] : out;
  }
  if (n < 0) return s.split(sep);
  const out: string[] = [];
  let rest = s;
  while (out.length < n - 1) {
    const i = rest.indexOf(sep);
    if (i < 0) break;
    out.push(rest.slice(0, i));
    rest = rest.slice(i + sep.length);
  }
  out.push(rest);
  return out;
}
