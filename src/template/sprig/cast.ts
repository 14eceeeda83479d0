// spf13/cast conversions as sprig uses them (toInt64, toFloat64, toInt), and sprig's strval.
import { formatValue, stringerOf } from "../fmt.ts";
import { goParseFloat, goParseInt, NumError } from "../strconv.ts";
import { GoInt, JsonNumber, unwrap } from "../values.ts";

function trimZeroDecimal(s: string): string {
  let foundZero = false;
  for (let i = s.length; i > 0; i--) {
    const c = s[i - 1];
    if (c === ".") {
      if (foundZero) return s.slice(0, i - 1);
    } else if (c === "0") foundZero = true;
    else return s;
  }
  return s;
}

/** Go's int64(f) conversion on amd64 (out of range gives MinInt64). */
export function floatToInt64(f: number): bigint {
  if (!Number.isFinite(f) || f >= 2 ** 63 || f < -(2 ** 63)) return -(2n ** 63n);
  return BigInt(Math.trunc(f));
}

/** cast.ToInt64E; undefined on error (sprig ignores the error and uses 0). */
export function castToInt64(v: unknown): bigint | undefined {
  v = unwrap(v);
  if (v === null || v === undefined) return 0n;
  if (v instanceof GoInt) return BigInt.asIntN(64, v.v);
  switch (typeof v) {
    case "number":
      return floatToInt64(v);
    case "boolean":
      return v ? 1n : 0n;
    case "string":
      try {
        return goParseInt(trimZeroDecimal(v), 0, 64);
      } catch (e) {
        if (e instanceof NumError) return undefined;
        throw e;
      }
  }
  if (v instanceof JsonNumber) return castToInt64(v.s);
  return undefined;
}

export function toInt64(v: unknown): bigint {
  return castToInt64(v) ?? 0n;
}

/** cast.ToFloat64E; undefined on error. */
export function castToFloat64(v: unknown): number | undefined {
  v = unwrap(v);
  if (v === null || v === undefined) return 0;
  if (v instanceof GoInt) return Number(v.v);
  switch (typeof v) {
    case "number":
      return v;
    case "boolean":
      return v ? 1 : 0;
    case "string":
      try {
        return goParseFloat(v);
      } catch (e) {
        if (e instanceof NumError) return undefined;
        throw e;
      }
  }
  if (v instanceof JsonNumber) {
    try {
      return goParseFloat(v.s);
    } catch (e) {
      if (e instanceof NumError) return e.reason === "value out of range" ? goRangeFloat(v.s) : undefined;
      throw e;
    }
  }
  return undefined;
}

function goRangeFloat(s: string): number | undefined {
  // json.Number.Float64 returns ±Inf with a range error; cast treats it as an error.
  void s;
  return undefined;
}

export function toFloat64(v: unknown): number {
  return castToFloat64(v) ?? 0;
}

/** sprig's strval */
export function strval(v: unknown): string {
  v = unwrap(v);
  if (typeof v === "string") return v;
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  const s = stringerOf(v);
  if (s !== undefined) return s;
  if (v === undefined) return "<nil>";
  return formatValue(v);
}
