// Go time.ParseDuration, for flags and CRD duration fields ("30s", "1m30s", "1.5h", "500ms").
const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000, // not Go; accepted where the CRD allows it (PKI ttl)
};

/** Milliseconds of a Go duration string; throws on malformed input. */
export function parseDuration(input: string): number {
  const s = input.trim();
  if (s === "0") return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)/gy;
  let sign = 1;
  let i = 0;
  if (s[0] === "-" || s[0] === "+") {
    sign = s[0] === "-" ? -1 : 1;
    i = 1;
  }
  if (i >= s.length) throw new Error(`invalid duration "${input}"`);
  let total = 0;
  re.lastIndex = i;
  while (re.lastIndex < s.length) {
    const m = re.exec(s);
    if (!m) throw new Error(`invalid duration "${input}"`);
    total += Number.parseFloat(m[1]) * UNITS[m[2]];
  }
  return sign * total;
}

export function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10}s`;
}
