// Go's regexp package API on top of re2js (RE2 semantics): FindAll, ReplaceAll with Go's
// $name expansion, Split and QuoteMeta behave as in Go.
import { LRUCache } from "lru-cache";
import { RE2JS } from "re2js";

export class RegexpError extends Error {}

const cache = new LRUCache<string, GoRegexp>({ max: 500 });

export class GoRegexp {
  readonly re: RE2JS;
  readonly expr: string;
  readonly names: string[]; // index -> name ("" for unnamed)

  constructor(expr: string) {
    this.expr = expr;
    try {
      this.re = RE2JS.compile(expr);
    } catch (e) {
      let msg = (e as Error).message;
      if (msg.endsWith("trailing backslash at end of expression")) msg += ": ``";
      throw new RegexpError(msg);
    }
    const n = this.re.groupCount();
    this.names = new Array(n + 1).fill("");
    for (const [name, idx] of Object.entries(this.re.namedGroups())) this.names[idx] = name;
  }

  static compile(expr: string): GoRegexp {
    let r = cache.get(expr);
    if (r === undefined) {
      r = new GoRegexp(expr);
      cache.set(expr, r);
    }
    return r;
  }

  /** Match at or after pos; returns group index pairs (-1 for unmatched) or null. */
  private exec(s: string, pos: number): number[] | null {
    const m = this.re.matcher(s);
    if (!m.find(pos)) return null;
    const out: number[] = [];
    const n = this.re.groupCount();
    for (let g = 0; g <= n; g++) {
      out.push(m.start(g), m.end(g));
    }
    return out;
  }

  matchString(s: string): boolean {
    return this.exec(s, 0) !== null;
  }

  findString(s: string): string {
    const m = this.exec(s, 0);
    return m === null ? "" : s.slice(m[0], m[1]);
  }

  findStringSubmatch(s: string): (string | null)[] | null {
    const m = this.exec(s, 0);
    if (m === null) return null;
    const out: (string | null)[] = [];
    for (let i = 0; i < m.length; i += 2) out.push(m[i] < 0 ? null : s.slice(m[i], m[i + 1]));
    return out;
  }

  allMatches(s: string, n: number): number[][] {
    if (n < 0) n = s.length + 1;
    const out: number[][] = [];
    const end = s.length;
    let pos = 0;
    let prevMatchEnd = -1;
    while (out.length < n && pos <= end) {
      const m = this.exec(s, pos);
      if (m === null) break;
      let accept = true;
      if (m[1] === pos) {
        if (m[0] === prevMatchEnd) accept = false;
        if (pos < end) {
          const cp = s.codePointAt(pos)!;
          pos += cp > 0xffff ? 2 : 1;
        } else pos = end + 1;
      } else pos = m[1];
      prevMatchEnd = m[1];
      if (accept) out.push(m);
    }
    return out;
  }

  /** FindAllString; null when there is no match (Go returns a nil slice). */
  findAllString(s: string, n: number): string[] | null {
    const ms = this.allMatches(s, n);
    if (ms.length === 0) return null;
    return ms.map((m) => s.slice(m[0], m[1]));
  }

  private replaceAll(src: string, repl: (m: number[]) => string): string {
    let lastMatchEnd = 0;
    let searchPos = 0;
    let buf = "";
    const end = src.length;
    while (searchPos <= end) {
      const a = this.exec(src, searchPos);
      if (a === null) break;
      buf += src.slice(lastMatchEnd, a[0]);
      if (a[1] > lastMatchEnd || a[0] === 0) buf += repl(a);
      lastMatchEnd = a[1];
      let width = 0;
      if (searchPos < end) width = src.codePointAt(searchPos)! > 0xffff ? 2 : 1;
      if (searchPos + width > a[1]) searchPos += width;
      else if (searchPos + 1 > a[1]) searchPos++;
      else searchPos = a[1];
    }
    buf += src.slice(lastMatchEnd);
    return buf;
  }

  replaceAllString(src: string, template: string): string {
    return this.replaceAll(src, (m) => this.expand(template, src, m));
  }

  replaceAllLiteralString(src: string, repl: string): string {
    return this.replaceAll(src, () => repl);
  }

  expand(template: string, src: string, match: number[]): string {
    let dst = "";
    while (template.length > 0) {
      const i = template.indexOf("$");
      if (i < 0) break;
      dst += template.slice(0, i);
      template = template.slice(i + 1);
      if (template !== "" && template[0] === "$") {
        dst += "$";
        template = template.slice(1);
        continue;
      }
      const ex = extract(template);
      if (ex === null) {
        dst += "$";
        continue;
      }
      template = ex.rest;
      if (ex.num >= 0) {
        if (2 * ex.num + 1 < match.length && match[2 * ex.num] >= 0) {
          dst += src.slice(match[2 * ex.num], match[2 * ex.num + 1]);
        }
      } else {
        for (let g = 0; g < this.names.length; g++) {
          if (ex.name === this.names[g] && 2 * g + 1 < match.length && match[2 * g] >= 0) {
            dst += src.slice(match[2 * g], match[2 * g + 1]);
            break;
          }
        }
      }
    }
    return dst + template;
  }

  split(s: string, n: number): string[] | null {
    if (n === 0) return null;
    if (this.expr.length > 0 && s.length === 0) return [""];
    const matches = this.allMatches(s, n);
    const out: string[] = [];
    let beg = 0;
    let end = 0;
    for (const m of matches) {
      if (n > 0 && out.length === n - 1) break;
      end = m[0];
      if (m[1] !== 0) out.push(s.slice(beg, end));
      beg = m[1];
    }
    if (end !== s.length) out.push(s.slice(beg));
    return out;
  }
}

const wordRe = /^[\p{L}\p{Nd}_]$/u;

function extract(str: string): { name: string; num: number; rest: string } | null {
  if (str === "") return null;
  let brace = false;
  if (str[0] === "{") {
    brace = true;
    str = str.slice(1);
  }
  let i = 0;
  for (const ch of str) {
    if (!wordRe.test(ch)) break;
    i += ch.length;
  }
  if (i === 0) return null;
  const name = str.slice(0, i);
  if (brace) {
    if (i >= str.length || str[i] !== "}") return null;
    i++;
  }
  let num = 0;
  for (let k = 0; k < name.length; k++) {
    if (name[k] < "0" || name[k] > "9" || num >= 1e8) {
      num = -1;
      break;
    }
    num = num * 10 + (name.charCodeAt(k) - 48);
  }
  if (name[0] === "0" && name.length > 1) num = -1;
  return { name, num, rest: str.slice(i) };
}

/** regexp.QuoteMeta */
export function quoteMeta(s: string): string {
  let out = "";
  for (const c of s) out += "\\.+*?()|[]{}^$".includes(c) ? "\\" + c : c;
  return out;
}
