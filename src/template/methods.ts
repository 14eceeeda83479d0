// Methods reachable through field syntax on Go values ({{ .Secrets.port.Int64 }},
// {{ (semver "1.2.3").Major }}, {{ (mustToDate "2006-01-02" "2024-05-01").Year }}).
import { def, FuncError, type FuncMap } from "./funcdef.ts";
import { goParseFloat, goParseInt, NumError } from "./strconv.ts";
import { civil, formatTime } from "./timefmt.ts";
import { GoInt, GoSemver, GoTime, JsonNumber } from "./values.ts";

const jsonNumberMethods = (n: JsonNumber): FuncMap => ({
  String: def([], "string", () => n.s),
  Float64: def(
    [],
    "float64",
    () => {
      try {
        return goParseFloat(n.s);
      } catch (e) {
        if (e instanceof NumError) throw new FuncError(e.message);
        throw e;
      }
    },
    { err: true },
  ),
  Int64: def(
    [],
    "int64",
    () => {
      try {
        return new GoInt("int64", goParseInt(n.s, 10, 64));
      } catch (e) {
        if (e instanceof NumError) throw new FuncError(e.message);
        throw e;
      }
    },
    { err: true },
  ),
});

const semverMethods = (v: GoSemver): FuncMap => ({
  Major: def([], "uint64", () => new GoInt("uint64", v.major)),
  Minor: def([], "uint64", () => new GoInt("uint64", v.minor)),
  Patch: def([], "uint64", () => new GoInt("uint64", v.patch)),
  Prerelease: def([], "string", () => v.pre),
  Metadata: def([], "string", () => v.metadata),
  Original: def([], "string", () => v.original),
  String: def([], "string", () => v.toString()),
});

const timeMethods = (t: GoTime): FuncMap => ({
  Year: def([], "int", () => new GoInt("int", BigInt(civil(t).year))),
  YearDay: def([], "int", () => new GoInt("int", BigInt(civil(t).yday))),
  Day: def([], "int", () => new GoInt("int", BigInt(civil(t).day))),
  Hour: def([], "int", () => new GoInt("int", BigInt(civil(t).hour))),
  Minute: def([], "int", () => new GoInt("int", BigInt(civil(t).min))),
  Second: def([], "int", () => new GoInt("int", BigInt(civil(t).sec))),
  Nanosecond: def([], "int", () => new GoInt("int", BigInt(t.nsec))),
  Unix: def([], "int64", () => new GoInt("int64", t.sec)),
  UnixMilli: def([], "int64", () => new GoInt("int64", t.sec * 1000n + BigInt(Math.floor(t.nsec / 1e6)))),
  UnixNano: def([], "int64", () => new GoInt("int64", t.sec * 1000000000n + BigInt(t.nsec))),
  UTC: def([], "time.Time", () => new GoTime(t.sec, t.nsec, 0, "UTC")),
  Format: def(["string"], "string", (layout: string) => formatTime(t, layout)),
  String: def([], "string", () => formatTime(t, "2006-01-02 15:04:05.999999999 -0700 MST")),
  IsZero: def([], "bool", () => t.sec === -62135596800n && t.nsec === 0),
});

export function methodsOf(v: unknown): FuncMap | undefined {
  if (v instanceof JsonNumber) return jsonNumberMethods(v);
  if (v instanceof GoSemver) return semverMethods(v);
  if (v instanceof GoTime) return timeMethods(v);
  return undefined;
}
