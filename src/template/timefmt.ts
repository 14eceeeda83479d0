// Go time layouts: formatting and parsing of time.Time values (reference time
// "Mon Jan 2 15:04:05 MST 2006"). The local zone is UTC, as in VSO's container image.
import { quote } from "./strconv.ts";
import { GoTime } from "./values.ts";

const longDays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const longMonths = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

type Chunk =
  | "January"
  | "Jan"
  | "1"
  | "01"
  | "Monday"
  | "Mon"
  | "2"
  | "_2"
  | "02"
  | "__2"
  | "002"
  | "15"
  | "3"
  | "03"
  | "4"
  | "04"
  | "5"
  | "05"
  | "2006"
  | "06"
  | "PM"
  | "pm"
  | "MST"
  | "Z0700"
  | "Z070000"
  | "Z07"
  | "Z07:00"
  | "Z07:00:00"
  | "-0700"
  | "-070000"
  | "-07"
  | "-07:00"
  | "-07:00:00"
  | "frac";

interface Std {
  prefix: string;
  chunk: Chunk | null;
  suffix: string;
  fracDigits?: number;
  fracNines?: boolean;
  fracSep?: string;
}

function startsWithLowerCase(s: string): boolean {
  return s.length > 0 && s[0] >= "a" && s[0] <= "z";
}

/** nextStdChunk from Go's time/format.go (reimplemented). */
function nextStdChunk(layout: string): Std {
  for (let i = 0; i < layout.length; i++) {
    const c = layout[i];
    const rest = layout.slice(i);
    const ret = (chunk: Chunk, len: number, extra: Partial<Std> = {}): Std => ({
      prefix: layout.slice(0, i),
      chunk,
      suffix: layout.slice(i + len),
      ...extra,
    });
    switch (c) {
      case "J":
        if (rest.startsWith("Jan")) {
          if (rest.startsWith("January")) return ret("January", 7);
          if (!startsWithLowerCase(layout.slice(i + 3))) return ret("Jan", 3);
        }
        break;
      case "M":
        if (rest.startsWith("Mon")) {
          if (rest.startsWith("Monday")) return ret("Monday", 6);
          if (!startsWithLowerCase(layout.slice(i + 3))) return ret("Mon", 3);
        }
        if (rest.startsWith("MST")) return ret("MST", 3);
        break;
      case "0":
        if (layout.length >= i + 2 && layout[i + 1] >= "1" && layout[i + 1] <= "6") {
          const map: Record<string, Chunk> = {
            "1": "01",
            "2": "02",
            "3": "03",
            "4": "04",
            "5": "05",
            "6": "06",
          };
          return ret(map[layout[i + 1]], 2);
        }
        if (rest.startsWith("002")) return ret("002", 3);
        break;
      case "1":
        if (rest.startsWith("15")) return ret("15", 2);
        return ret("1", 1);
      case "2":
        if (rest.startsWith("2006")) return ret("2006", 4);
        return ret("2", 1);
      case "_":
        if (rest.startsWith("_2")) {
          if (rest.startsWith("_2006")) {
            return { prefix: layout.slice(0, i + 1), chunk: "2006", suffix: layout.slice(i + 5) };
          }
          return ret("_2", 2);
        }
        if (rest.startsWith("__2")) return ret("__2", 3);
        break;
      case "3":
        return ret("3", 1);
      case "4":
        return ret("4", 1);
      case "5":
        return ret("5", 1);
      case "P":
        if (rest.startsWith("PM")) return ret("PM", 2);
        break;
      case "p":
        if (rest.startsWith("pm")) return ret("pm", 2);
        break;
      case "-":
        for (const s of ["-07:00:00", "-070000", "-07:00", "-0700", "-07"] as const) {
          if (rest.startsWith(s)) return ret(s, s.length);
        }
        break;
      case "Z":
        for (const s of ["Z07:00:00", "Z070000", "Z07:00", "Z0700", "Z07"] as const) {
          if (rest.startsWith(s)) return ret(s, s.length);
        }
        break;
      case ".":
      case ",":
        if (i + 1 < layout.length && (layout[i + 1] === "0" || layout[i + 1] === "9")) {
          const ch = layout[i + 1];
          let j = i + 1;
          while (j < layout.length && layout[j] === ch) j++;
          if (!(j < layout.length && layout[j] >= "0" && layout[j] <= "9")) {
            return ret("frac", j - i, { fracDigits: j - (i + 1), fracNines: ch === "9", fracSep: c });
          }
        }
        break;
    }
  }
  return { prefix: layout, chunk: null, suffix: "" };
}

function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(z: number): [number, number, number] {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const y = yoe + era * 400;
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  return [y + (m <= 2 ? 1 : 0), m, d];
}

function pad(n: number, w: number): string {
  const s = String(Math.abs(n));
  return (n < 0 ? "-" : "") + (s.length < w ? "0".repeat(w - s.length) + s : s);
}

export interface Civil {
  year: number;
  month: number;
  day: number;
  hour: number;
  min: number;
  sec: number;
  nsec: number;
  weekday: number;
  yday: number;
}

export function civil(t: GoTime): Civil {
  const local = Number(t.sec) + t.offset;
  const days = Math.floor(local / 86400);
  const secOfDay = local - days * 86400;
  const [year, month, day] = civilFromDays(days);
  const weekday = (((days + 4) % 7) + 7) % 7;
  const yday = days - daysFromCivil(year, 1, 1) + 1;
  return {
    year,
    month,
    day,
    hour: Math.floor(secOfDay / 3600),
    min: Math.floor((secOfDay % 3600) / 60),
    sec: secOfDay % 60,
    nsec: t.nsec,
    weekday,
    yday,
  };
}

function formatFrac(nsec: number, digits: number, nines: boolean, sep: string): string {
  let s = String(nsec).padStart(9, "0").slice(0, digits);
  if (nines) {
    s = s.replace(/0+$/, "");
    if (s === "") return "";
  }
  return sep + s;
}

/** time.Time.Format */
export function formatTime(t: GoTime, layout: string): string {
  const c = civil(t);
  let out = "";
  while (layout !== "") {
    const std = nextStdChunk(layout);
    out += std.prefix;
    if (std.chunk === null) break;
    layout = std.suffix;
    switch (std.chunk) {
      case "2006":
        out += c.year < 0 ? "-" + pad(-c.year, 4) : pad(c.year, 4);
        break;
      case "06":
        out += pad(((c.year % 100) + 100) % 100, 2);
        break;
      case "Jan":
        out += longMonths[c.month - 1].slice(0, 3);
        break;
      case "January":
        out += longMonths[c.month - 1];
        break;
      case "1":
        out += String(c.month);
        break;
      case "01":
        out += pad(c.month, 2);
        break;
      case "Mon":
        out += longDays[c.weekday].slice(0, 3);
        break;
      case "Monday":
        out += longDays[c.weekday];
        break;
      case "2":
        out += String(c.day);
        break;
      case "_2":
        out += c.day < 10 ? " " + c.day : String(c.day);
        break;
      case "02":
        out += pad(c.day, 2);
        break;
      case "__2":
        out += String(c.yday).padStart(3, " ");
        break;
      case "002":
        out += pad(c.yday, 3);
        break;
      case "15":
        out += pad(c.hour, 2);
        break;
      case "3":
        out += String(c.hour % 12 === 0 ? 12 : c.hour % 12);
        break;
      case "03":
        out += pad(c.hour % 12 === 0 ? 12 : c.hour % 12, 2);
        break;
      case "4":
        out += String(c.min);
        break;
      case "04":
        out += pad(c.min, 2);
        break;
      case "5":
        out += String(c.sec);
        break;
      case "05":
        out += pad(c.sec, 2);
        break;
      case "PM":
        out += c.hour >= 12 ? "PM" : "AM";
        break;
      case "pm":
        out += c.hour >= 12 ? "pm" : "am";
        break;
      case "MST":
        if (t.zone !== "") out += t.zone;
        else out += zoneOffset(t.offset, "-0700", false);
        break;
      case "frac":
        out += formatFrac(c.nsec, std.fracDigits!, std.fracNines!, std.fracSep!);
        break;
      default: {
        // zone offsets
        const z = std.chunk.startsWith("Z");
        if (z && t.offset === 0) {
          out += "Z";
          break;
        }
        out += zoneOffset(t.offset, z ? "-" + std.chunk.slice(1) : std.chunk, false);
      }
    }
  }
  return out;
}

function zoneOffset(offset: number, form: string, _: boolean): string {
  const sign = offset < 0 ? "-" : "+";
  const a = Math.abs(offset);
  const hh = pad(Math.floor(a / 3600), 2);
  const mm = pad(Math.floor((a % 3600) / 60), 2);
  const ss = pad(a % 60, 2);
  switch (form) {
    case "-07":
      return sign + hh;
    case "-0700":
      return sign + hh + mm;
    case "-07:00":
      return sign + hh + ":" + mm;
    case "-070000":
      return sign + hh + mm + ss;
    case "-07:00:00":
      return sign + hh + ":" + mm + ":" + ss;
  }
  return sign + hh + mm;
}

export class ParseError extends Error {}

function parseErr(
  layout: string,
  value: string,
  layoutElem: string,
  valueElem: string,
  msg = "",
): ParseError {
  if (msg !== "") return new ParseError(`parsing time ${quote(value)}${msg}`);
  return new ParseError(
    `parsing time ${quote(value)} as ${quote(layout)}: cannot parse ${quote(valueElem)} as ${quote(layoutElem)}`,
  );
}

function getnum(s: string, fixed: boolean): [number, string] | null {
  if (s.length === 0 || !(s[0] >= "0" && s[0] <= "9")) return null;
  if (s.length === 1 || !(s[1] >= "0" && s[1] <= "9")) {
    if (fixed) return null;
    return [Number(s[0]), s.slice(1)];
  }
  return [Number(s.slice(0, 2)), s.slice(2)];
}

function getnum3(s: string, fixed: boolean): [number, string] | null {
  let n = 0;
  let i = 0;
  for (; i < 3 && i < s.length && s[i] >= "0" && s[i] <= "9"; i++) n = n * 10 + Number(s[i]);
  if (i === 0 || (fixed && i !== 3)) return null;
  return [n, s.slice(i)];
}

function lookup(tab: string[], val: string): [number, string] | null {
  for (let i = 0; i < tab.length; i++) {
    const v = tab[i];
    if (val.length >= v.length && val.slice(0, v.length).toLowerCase() === v.toLowerCase()) {
      return [i, val.slice(v.length)];
    }
  }
  return null;
}

function daysIn(month: number, year: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

/** time.ParseInLocation(layout, value, time.Local) with Local = UTC. */
export function parseTime(layout: string, value: string): GoTime {
  const alayout = layout;
  const avalue = value;
  let year = 0;
  let month = -1;
  let day = -1;
  let yday = -1;
  let hour = 0;
  let min = 0;
  let sec = 0;
  let nsec = 0;
  let pmSet = false;
  let amSet = false;
  let zoneOffsetSec = -1;
  let zoneName = "";
  for (;;) {
    const std = nextStdChunk(layout);
    const stdstr = layout.slice(std.prefix.length, layout.length - std.suffix.length);
    // skip prefix
    {
      let p = std.prefix;
      let v = value;
      while (p.length > 0) {
        if (p[0] === " ") {
          if (v.length > 0 && v[0] !== " ") throw parseErr(alayout, avalue, std.prefix, v);
          p = p.replace(/^ +/, "");
          v = v.replace(/^ +/, "");
          continue;
        }
        if (v.length === 0 || v[0] !== p[0]) throw parseErr(alayout, avalue, std.prefix, v);
        p = p.slice(1);
        v = v.slice(1);
      }
      value = v;
    }
    if (std.chunk === null) {
      if (value.length !== 0) throw parseErr(alayout, avalue, "", "", `: extra text: ${quote(value)}`);
      break;
    }
    layout = std.suffix;
    const hold = value;
    let r: [number, string] | null = null;
    let rangeErr = "";
    switch (std.chunk) {
      case "2006":
        if (value.length < 4 || !/^\d{4}/.test(value)) r = null;
        else r = [Number(value.slice(0, 4)), value.slice(4)];
        if (r) year = r[0];
        break;
      case "06":
        r = getnum(value, true);
        if (r) year = r[0] >= 69 ? r[0] + 1900 : r[0] + 2000;
        break;
      case "Jan":
        r = lookup(
          longMonths.map((m) => m.slice(0, 3)),
          value,
        );
        if (r) month = r[0] + 1;
        break;
      case "January":
        r = lookup(longMonths, value);
        if (r) month = r[0] + 1;
        break;
      case "1":
      case "01":
        r = getnum(value, std.chunk === "01");
        if (r) {
          month = r[0];
          if (month <= 0 || month > 12) rangeErr = "month";
        }
        break;
      case "Mon":
        r = lookup(
          longDays.map((d) => d.slice(0, 3)),
          value,
        );
        break;
      case "Monday":
        r = lookup(longDays, value);
        break;
      case "2":
      case "_2":
      case "02":
        if (std.chunk === "_2" && value.length > 1 && value[0] === " ") value = value.slice(1);
        r = getnum(value, std.chunk === "02");
        if (r) day = r[0];
        break;
      case "__2":
      case "002":
        if (std.chunk === "__2") value = value.replace(/^ {1,2}/, "");
        r = getnum3(value, std.chunk === "002");
        if (r) yday = r[0];
        break;
      case "15":
        r = getnum(value, false);
        if (r) {
          hour = r[0];
          if (hour < 0 || hour >= 24) rangeErr = "hour";
        }
        break;
      case "3":
      case "03":
        r = getnum(value, std.chunk === "03");
        if (r) {
          hour = r[0];
          if (hour < 0 || hour > 12) rangeErr = "hour";
        }
        break;
      case "4":
      case "04":
        r = getnum(value, std.chunk === "04");
        if (r) {
          min = r[0];
          if (min < 0 || min >= 60) rangeErr = "minute";
        }
        break;
      case "5":
      case "05": {
        r = getnum(value, std.chunk === "05");
        if (r) {
          sec = r[0];
          if (sec < 0 || sec >= 60) {
            rangeErr = "second";
            break;
          }
          // fractional second in the value but not in the layout
          const rest = r[1];
          if (rest.length >= 2 && (rest[0] === "." || rest[0] === ",") && /\d/.test(rest[1])) {
            const n2 = nextStdChunk(layout);
            if (n2.chunk === "frac" && n2.prefix === "") break;
            let n = 1;
            while (n < rest.length && rest[n] >= "0" && rest[n] <= "9") n++;
            nsec = Number((rest.slice(1, n) + "000000000").slice(0, 9));
            r = [r[0], rest.slice(n)];
          }
        }
        break;
      }
      case "PM":
        if (value.length >= 2) {
          const p = value.slice(0, 2);
          if (p === "PM") pmSet = true;
          else if (p === "AM") amSet = true;
          else {
            r = null;
            break;
          }
          r = [0, value.slice(2)];
        }
        break;
      case "pm":
        if (value.length >= 2) {
          const p = value.slice(0, 2);
          if (p === "pm") pmSet = true;
          else if (p === "am") amSet = true;
          else {
            r = null;
            break;
          }
          r = [0, value.slice(2)];
        }
        break;
      case "MST": {
        if (value.length >= 3 && value.slice(0, 3) === "UTC") {
          zoneName = "UTC";
          r = [0, value.slice(3)];
          break;
        }
        const m = /^[A-Z]{3,5}/.exec(value);
        if (m) {
          zoneName = m[0];
          r = [0, value.slice(m[0].length)];
        }
        break;
      }
      case "frac": {
        const ndigit = 1 + std.fracDigits!;
        if (std.fracNines) {
          if (
            value.length < 2 ||
            !(value[0] === "." || value[0] === ",") ||
            value[1] < "0" ||
            value[1] > "9"
          ) {
            r = [0, value];
            break;
          }
          let i = 0;
          while (i + 1 < value.length && value[i + 1] >= "0" && value[i + 1] <= "9") i++;
          nsec = Number((value.slice(1, 1 + i) + "000000000").slice(0, 9));
          r = [0, value.slice(1 + i)];
        } else {
          if (value.length < ndigit || value[0] !== std.fracSep) {
            r = null;
            break;
          }
          const digits = value.slice(1, ndigit);
          if (!/^\d+$/.test(digits)) {
            r = null;
            break;
          }
          nsec = Number((digits + "000000000").slice(0, 9));
          r = [0, value.slice(ndigit)];
        }
        break;
      }
      default: {
        // numeric zones
        if (std.chunk.startsWith("Z") && value.length >= 1 && value[0] === "Z") {
          zoneOffsetSec = 0;
          zoneName = "UTC";
          r = [0, value.slice(1)];
          break;
        }
        const form = std.chunk.replace(/^Z/, "-");
        let re: RegExp;
        switch (form) {
          case "-07":
            re = /^([+-])(\d\d)/;
            break;
          case "-0700":
            re = /^([+-])(\d\d)(\d\d)/;
            break;
          case "-07:00":
            re = /^([+-])(\d\d):(\d\d)/;
            break;
          case "-070000":
            re = /^([+-])(\d\d)(\d\d)(\d\d)/;
            break;
          default:
            re = /^([+-])(\d\d):(\d\d):(\d\d)/;
        }
        const m = re.exec(value);
        if (m) {
          const off = Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
          zoneOffsetSec = m[1] === "-" ? -off : off;
          r = [0, value.slice(m[0].length)];
        }
      }
    }
    if (rangeErr !== "") throw parseErr(alayout, avalue, stdstr, value, `: ${rangeErr} out of range`);
    if (r === null) throw parseErr(alayout, avalue, stdstr, hold);
    value = r[1];
  }
  if (pmSet && hour < 12) hour += 12;
  else if (amSet && hour === 12) hour = 0;
  if (yday >= 0) {
    let m = 0;
    let d = 0;
    if (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) {
      if (yday === 31 + 29) {
        m = 2;
        d = 29;
      } else if (yday > 31 + 29) yday--;
    }
    if (yday < 1 || yday > 365) throw parseErr(alayout, avalue, "", value, ": day-of-year out of range");
    if (m === 0) {
      m = 1;
      let rem = yday;
      while (rem > daysIn(m, 2001)) {
        rem -= daysIn(m, 2001);
        m++;
      }
      d = rem;
    }
    if (month >= 0 && month !== m)
      throw parseErr(alayout, avalue, "", value, ": day-of-year does not match month");
    month = m;
    if (day >= 0 && day !== d) throw parseErr(alayout, avalue, "", value, ": day-of-year does not match day");
    day = d;
  } else {
    if (month < 0) month = 1;
    if (day < 0) day = 1;
  }
  if (day < 1 || day > daysIn(month, year)) throw parseErr(alayout, avalue, "", value, ": day out of range");
  const days = daysFromCivil(year, month, day);
  let unix = days * 86400 + hour * 3600 + min * 60 + sec;
  if (zoneOffsetSec !== -1) {
    unix -= zoneOffsetSec;
    if (zoneOffsetSec === 0 && zoneName === "UTC") return new GoTime(BigInt(unix), nsec, 0, "UTC");
    return new GoTime(BigInt(unix), nsec, zoneOffsetSec, zoneOffsetSec === 0 ? "UTC" : "");
  }
  if (zoneName !== "" && zoneName !== "UTC") {
    // Unknown abbreviation in the local (UTC) zone: Go fabricates a zero-offset zone with that name.
    return new GoTime(BigInt(unix), nsec, 0, zoneName);
  }
  return new GoTime(BigInt(unix), nsec, 0, "UTC");
}

/** time.Duration.String() */
export function formatDuration(d: bigint): string {
  if (d === 0n) return "0s";
  const neg = d < 0n;
  let u = neg ? -d : d;
  if (u < 1000000000n) {
    // sub-second
    let unit: string;
    let prec: number;
    if (u < 1000n) {
      return (neg ? "-" : "") + u + "ns";
    }
    if (u < 1000000n) {
      unit = "µs";
      prec = 3;
    } else {
      unit = "ms";
      prec = 6;
    }
    const s = fracString(u, prec);
    return (neg ? "-" : "") + s + unit;
  }
  let out = "s";
  out = fracString(u % 60000000000n, 9) + out;
  u /= 60000000000n;
  if (u > 0n) {
    out = (u % 60n) + "m" + out;
    u /= 60n;
    if (u > 0n) out = u + "h" + out;
  }
  return (neg ? "-" : "") + out;
}

function fracString(v: bigint, prec: number): string {
  const p = 10n ** BigInt(prec);
  const ip = v / p;
  let fp = (v % p).toString().padStart(prec, "0").replace(/0+$/, "");
  if (fp !== "") fp = "." + fp;
  return ip + fp;
}

/** time.ParseDuration */
export function parseDuration(s: string): bigint {
  const orig = s;
  let neg = false;
  if (s !== "" && (s[0] === "-" || s[0] === "+")) {
    neg = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return 0n;
  if (s === "") throw new Error(`time: invalid duration ${quote(orig)}`);
  const units: Record<string, number> = {
    ns: 1,
    us: 1e3,
    µs: 1e3,
    μs: 1e3,
    ms: 1e6,
    s: 1e9,
    m: 60e9,
    h: 3600e9,
  };
  let d = 0;
  while (s !== "") {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    if (m[0] === "" || m[0] === ".") throw new Error(`time: invalid duration ${quote(orig)}`);
    s = s.slice(m[0].length);
    const um = /^[^\d.]+/.exec(s);
    if (!um) throw new Error(`time: missing unit in duration ${quote(orig)}`);
    const unit = units[um[0]];
    if (unit === undefined) throw new Error(`time: unknown unit ${quote(um[0])} in duration ${quote(orig)}`);
    s = s.slice(um[0].length);
    d += Number(m[1] || "0") * unit + (m[2] ? Number("0." + m[2]) * unit : 0);
  }
  const r = BigInt(Math.round(d));
  return neg ? -r : r;
}
