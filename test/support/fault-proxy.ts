// A plain-HTTP proxy placed between the operator and Vault or the API server,
// so a test can act (typically SIGKILL the operator) at a precise step of a
// sync without any test hook in the product. A rule recognises one exchange;
// when it fires, the test's action runs and the operator's connection is cut:
// at the "request" stage the request never reaches the server, at the
// "response" stage the server has done it but the operator never hears back.
import { writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { RequestOptions } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { Agent, type Dispatcher, request } from "undici";
import { stringify } from "yaml";

export interface Exchange {
  method: string;
  /** Path and query as the client sent them. */
  path: string;
  requestBody: string;
  /** Upstream status and body (response-stage rules only). */
  status?: number;
  responseBody?: string;
}

export interface FaultRule {
  stage: "request" | "response";
  match: (ex: Exchange) => boolean;
  /** Runs when the rule fires, before the operator's connection is cut. */
  act: (ex: Exchange) => Promise<void> | void;
}

export interface FaultProxy {
  url: string;
  /** Arms a one-shot rule; resolves with the exchange it fired on. */
  arm(rule: FaultRule): Promise<Exchange>;
  /** Passes every matching exchange, with its response, to `fn`; nothing is cut. */
  tap(match: (ex: Exchange) => boolean, fn: (ex: Exchange) => void): void;
  /** Method and path of every exchange seen, in order (for diagnostics). */
  seen: string[];
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
  "host",
  "proxy-connection",
  "te",
  "trailer",
]);

function forwardable(headers: IncomingMessage["headers"] | Record<string, string | string[] | undefined>) {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined && !HOP_BY_HOP.has(k.toLowerCase())) out[k] = v;
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Starts a proxy to `upstream` (an http(s) base URL); `dispatcher` carries TLS client credentials if needed. */
export async function startFaultProxy(upstream: string, dispatcher?: Dispatcher): Promise<FaultProxy> {
  const base = upstream.replace(/\/+$/, "");
  const rules: { rule: FaultRule; fired: (ex: Exchange) => void }[] = [];
  const seen: string[] = [];
  const taps: { match: (ex: Exchange) => boolean; fn: (ex: Exchange) => void }[] = [];

  const take = (stage: FaultRule["stage"], ex: Exchange) => {
    const i = rules.findIndex((r) => r.rule.stage === stage && r.rule.match(ex));
    return i < 0 ? undefined : rules.splice(i, 1)[0];
  };
  const fire = async (
    armed: { rule: FaultRule; fired: (ex: Exchange) => void },
    ex: Exchange,
    res: ServerResponse,
  ) => {
    await armed.rule.act(ex);
    res.socket?.destroy();
    armed.fired(ex);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const ex: Exchange = { method: req.method ?? "GET", path: req.url ?? "/", requestBody: body.toString() };
    seen.push(`${ex.method} ${ex.path}`);
    const atRequest = take("request", ex);
    if (atRequest) return await fire(atRequest, ex, res);
    const watchesResponse =
      rules.some((r) => r.rule.stage === "response" && r.rule.match(ex)) || taps.some((tp) => tp.match(ex));
    const up = await request(`${base}${ex.path}`, {
      method: ex.method as Dispatcher.HttpMethod,
      headers: forwardable(req.headers),
      body: body.length > 0 ? body : undefined,
      dispatcher,
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    if (watchesResponse) {
      const answered = { ...ex, status: up.statusCode, responseBody: await up.body.text() };
      for (const tp of taps) if (tp.match(answered)) tp.fn(answered);
      const atResponse = take("response", answered);
      if (atResponse) return await fire(atResponse, answered, res);
      res.writeHead(up.statusCode, forwardable(up.headers));
      res.end(answered.responseBody);
      return;
    }
    res.writeHead(up.statusCode, forwardable(up.headers));
    res.flushHeaders();
    res.on("close", () => up.body.destroy());
    for await (const chunk of up.body) res.write(chunk);
    res.end();
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.socket?.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    tap(match, fn) {
      taps.push({ match, fn });
    },
    arm(rule) {
      return new Promise((fired) => rules.push({ rule, fired }));
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/**
 * A fault proxy in front of the API server of `kubeconfig`, and a kubeconfig
 * (written next to it in `dir`) that sends a client through it over plain HTTP;
 * the proxy talks to the API server with the original kubeconfig's credentials.
 */
export async function startKubeFaultProxy(
  kubeconfig: string,
  dir: string,
): Promise<{ proxy: FaultProxy; kubeconfig: string }> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const opts: RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const agent = new Agent({
    connect: {
      ca: opts.ca as string | Buffer | undefined,
      cert: opts.cert as string | Buffer | undefined,
      key: opts.key as string | Buffer | undefined,
    },
  });
  const proxy = await startFaultProxy(kc.getCurrentCluster()?.server ?? "", agent);
  const path = join(dir, "kubeconfig-via-proxy");
  writeFileSync(
    path,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      // client-node refuses plain HTTP unless TLS verification is off (there is no TLS to verify).
      clusters: [{ name: "proxy", cluster: { server: proxy.url, "insecure-skip-tls-verify": true } }],
      users: [{ name: "proxy", user: {} }],
      contexts: [{ name: "proxy", context: { cluster: "proxy", user: "proxy" } }],
      "current-context": "proxy",
    }),
    { mode: 0o600 },
  );
  const close = proxy.close;
  proxy.close = async () => {
    await close();
    await agent.destroy(); // watches still open upstream would keep a graceful close waiting
  };
  return { proxy, kubeconfig: path };
}
