// The operator's logger, configured by controller-runtime's zap flags
// (--zap-log-level, --zap-time-encoding, --zap-stacktrace-level, --zap-devel,
// --zap-encoder) the way VSO's manager reads them: JSON lines with zap's keys
// (`level` as a word, `ts`, `msg`) in production, console lines in devel mode.
import { type DestinationStream, type Logger, type LoggerOptions, pino } from "pino";

export type TimeEncoding = "epoch" | "millis" | "nano" | "iso8601" | "rfc3339" | "rfc3339nano";
type PinoLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal";

export interface LoggingOptions {
  level: PinoLevel;
  timeEncoding: TimeEncoding;
  /** Error stacks are logged at and above this level, only their messages below it. */
  stacktraceLevel: PinoLevel;
  encoder: "json" | "console";
  devel: boolean;
}

const TIME_ENCODINGS: TimeEncoding[] = ["epoch", "millis", "nano", "iso8601", "rfc3339", "rfc3339nano"];
const NAMED_LEVELS: Record<string, PinoLevel> = {
  debug: "debug",
  info: "info",
  warn: "warn",
  error: "error",
  dpanic: "fatal",
  panic: "fatal",
  fatal: "fatal",
};
const STACK_LEVELS: Record<string, PinoLevel> = {
  info: "info",
  warn: "warn",
  error: "error",
  panic: "fatal",
};

/**
 * zap's level words, or a whole number N > 0 (logr's V(N)). VSO logs its debug
 * messages at V(5) and trace at V(6); vso-ts has pino's debug and trace, so
 * 1..5 enable debug and 6 or more enable trace.
 */
function parseLevel(v: string): PinoLevel {
  const named = NAMED_LEVELS[v.toLowerCase()];
  if (named) return named;
  const n = Number(v);
  if (Number.isInteger(n) && n > 0) return n >= 6 ? "trace" : "debug";
  throw new Error(
    `invalid value "${v}" for --zap-log-level: want debug, info, warn, error, panic or a whole number > 0`,
  );
}

export function parseLoggingFlags(f: {
  level?: string;
  timeEncoding?: string;
  stacktraceLevel?: string;
  encoder?: string;
  devel: boolean;
}): LoggingOptions {
  const timeEncoding = (f.timeEncoding || "rfc3339") as TimeEncoding;
  if (!TIME_ENCODINGS.includes(timeEncoding))
    throw new Error(
      `invalid value "${f.timeEncoding}" for --zap-time-encoding: want one of ${TIME_ENCODINGS.join(", ")}`,
    );
  let stacktraceLevel: PinoLevel = f.devel ? "warn" : "error";
  if (f.stacktraceLevel) {
    const s = STACK_LEVELS[f.stacktraceLevel.toLowerCase()];
    if (!s)
      throw new Error(
        `invalid value "${f.stacktraceLevel}" for --zap-stacktrace-level: want info, warn, error or panic`,
      );
    stacktraceLevel = s;
  }
  const encoder = (f.encoder || (f.devel ? "console" : "json")).toLowerCase();
  if (encoder !== "json" && encoder !== "console")
    throw new Error(`invalid value "${f.encoder}" for --zap-encoder: want json or console`);
  return {
    level: f.level ? parseLevel(f.level) : f.devel ? "debug" : "info",
    timeEncoding,
    stacktraceLevel,
    encoder,
    devel: f.devel,
  };
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** The `ts` value of one line, as zap's time encoders write it (always in UTC). */
export function encodeTime(enc: TimeEncoding, epochMs: number): string {
  const d = new Date(Math.floor(epochMs));
  const base = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(
    d.getUTCHours(),
  )}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  switch (enc) {
    case "epoch":
      return String(epochMs / 1000);
    case "millis":
      return String(epochMs);
    case "nano": {
      const whole = Math.floor(epochMs);
      return (BigInt(whole) * 1_000_000n + BigInt(Math.round((epochMs - whole) * 1e6))).toString();
    }
    case "iso8601":
      return JSON.stringify(`${base}.${pad(d.getUTCMilliseconds(), 3)}Z`);
    case "rfc3339":
      return JSON.stringify(`${base}Z`);
    case "rfc3339nano": {
      const ns = Math.round((epochMs - Math.floor(epochMs / 1000) * 1000) * 1e6);
      const frac = pad(ns, 9).replace(/0+$/, "");
      return JSON.stringify(`${base}${frac ? `.${frac}` : ""}Z`);
    }
  }
}

/** Wall-clock time with sub-millisecond precision, for the nano encodings. */
const nowMs = () => performance.timeOrigin + performance.now();

/** A JSON line as zap's console encoder would show it: time, LEVEL, message, then the fields. */
export function consoleLine(jsonLine: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(jsonLine) as Record<string, unknown>;
  } catch {
    return jsonLine;
  }
  const { ts, level, msg, err, ...rest } = o;
  const e = err as { message?: string; stack?: string } | string | undefined;
  const errText = typeof e === "string" ? e : e?.message;
  if (errText !== undefined) rest.error = errText;
  const fields = Object.keys(rest).length > 0 ? `\t${JSON.stringify(rest)}` : "";
  const stack = typeof e === "object" && e?.stack ? `\n${e.stack}` : "";
  return `${String(ts)}\t${String(level).toUpperCase()}\t${String(msg ?? "")}${fields}${stack}\n`;
}

const LEVEL_VALUES: Record<PinoLevel, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
};

/** pino options for these flags (exported for tests). */
export function loggerOptions(o: LoggingOptions): LoggerOptions {
  const stackFrom = LEVEL_VALUES[o.stacktraceLevel];
  return {
    level: o.level,
    base: undefined,
    messageKey: "msg",
    timestamp: () => `,"ts":${encodeTime(o.timeEncoding, nowMs())}`,
    formatters: { level: (label) => ({ level: label }) },
    hooks: {
      // Below the stacktrace level an Error is logged as its message alone.
      logMethod(args, method, level) {
        const first = args[0] as unknown;
        if (level < stackFrom && first && typeof first === "object" && !(first instanceof Error)) {
          const obj = first as Record<string, unknown>;
          if (obj.err instanceof Error) args[0] = { ...obj, err: obj.err.message } as never;
        } else if (level < stackFrom && first instanceof Error) {
          args[0] = { err: first.message } as never;
          if (args.length === 1) args.push(first.message as never);
        }
        method.apply(this, args);
      },
    },
  };
}

/** The operator's logger; `dest` defaults to pino's standard output stream. */
export function createLogger(o: LoggingOptions, dest?: DestinationStream): Logger {
  if (o.encoder === "console") {
    const out = dest ?? process.stdout;
    return pino(loggerOptions(o), { write: (l: string) => void out.write(consoleLine(l)) });
  }
  return dest ? pino(loggerOptions(o), dest) : pino(loggerOptions(o));
}
