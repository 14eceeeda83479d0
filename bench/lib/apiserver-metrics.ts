// Reads the API server's own request counter (apiserver_request_total) from its /metrics, so
// the API load each operator causes is counted by the server, not by the operator.
import { Agent, request } from "undici";
import { loadConnection } from "../../src/kube/kubeconfig.ts";

/** "VERB resource[/subresource]" -> requests. */
export type RequestCounts = Record<string, number>;

export class ApiServerMetrics {
  private readonly server: string;
  private readonly agent: Agent;

  private constructor(server: string, agent: Agent) {
    this.server = server;
    this.agent = agent;
  }

  static async load(kubeconfig: string): Promise<ApiServerMetrics> {
    const conn = loadConnection(kubeconfig);
    const agent = new Agent({ connect: { ca: conn.tls.ca, cert: conn.tls.cert, key: conn.tls.key } });
    return new ApiServerMetrics(conn.server, agent);
  }

  async requestCounts(): Promise<RequestCounts> {
    const res = await request(`${this.server}/metrics`, { dispatcher: this.agent });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`apiserver /metrics: ${res.statusCode}`);
    return parseRequestTotals(text);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

export function parseRequestTotals(text: string): RequestCounts {
  const out: RequestCounts = {};
  for (const line of text.split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    const labels = Object.fromEntries(
      [...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]] as [string, string]),
    );
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    const resource = labels.subresource ? `${labels.resource}/${labels.subresource}` : labels.resource;
    const key = `${labels.verb} ${resource || "(none)"}`;
    out[key] = (out[key] ?? 0) + value;
  }
  return out;
}

export function diffRequests(after: RequestCounts, before: RequestCounts): RequestCounts {
  const out: RequestCounts = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
}

export function total(c: Record<string, number>): number {
  return Object.values(c).reduce((a, b) => a + b, 0);
}
