// A reader for the Prometheus text exposition format: just enough to find
// one sample by metric name and labels in the operator's /metrics.
import { Agent, request } from "undici";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseSamples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(LABEL))
      labels[l[1]] = l[2].replace(/\\(.)/g, (_x, c) => (c === "n" ? "\n" : c));
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** The text of a /metrics URL; https is not verified (the operator's serving certificate is self-signed by default). */
export async function fetchMetricsText(url: string, token?: string, timeoutMs = 10_000): Promise<string> {
  const res = await request(url, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    dispatcher: url.startsWith("https:") ? new Agent({ connect: { rejectUnauthorized: false } }) : undefined,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET ${url} returned ${res.statusCode}`);
  return text;
}

export async function scrape(url: string, token?: string, timeoutMs = 10_000): Promise<Sample[]> {
  return parseSamples(await fetchMetricsText(url, token, timeoutMs));
}
