// A thin HTTP layer over the Vault/OpenBao API: JSON in and out, the token and
// namespace headers, timeouts, and errors that carry Vault's own messages but
// never a token or a response body with secret data.
import { type Dispatcher, request } from "undici";
import { parseJsonKeepingNumbers } from "../util/gojson.ts";
import { withReconcileSignal } from "../util/reconcile-scope.ts";
import { encodeVaultPath } from "./path.ts";

export interface VaultRequestOptions {
  body?: unknown;
  token?: string;
  namespace?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** Keep JSON numbers as their source text (Go's json.Number), as VSO's Vault client does. */
  keepNumbers?: boolean;
  /** Status codes (besides 2xx) that are returned instead of thrown. */
  accept?: number[];
  /** Query parameters; the path itself can never carry a query (see path.ts). */
  query?: Record<string, string>;
}

export interface VaultResponse<T = Record<string, unknown>> {
  status: number;
  json: T | undefined;
}

export class VaultApiError extends Error {
  readonly status: number;
  readonly path: string;
  readonly vaultErrors: string[];
  constructor(method: string, path: string, status: number, vaultErrors: string[]) {
    const detail = vaultErrors.length > 0 ? `: ${vaultErrors.join("; ")}` : "";
    super(`Vault ${method} /v1/${path} returned ${status}${detail}`);
    this.name = "VaultApiError";
    this.status = status;
    this.path = path;
    this.vaultErrors = vaultErrors;
  }
}

/**
 * The largest Vault response body read (Vault's own request limit is 32 MiB;
 * a KV secret or a certificate chain is far smaller). A VaultConnection's
 * address is chosen by a namespace tenant: an endless body must not fill the
 * operator's memory (issue 22).
 */
export const VAULT_RESPONSE_MAX_BYTES = 16 * 1024 * 1024;

export class VaultResponseTooLargeError extends Error {
  constructor(address: string, max: number) {
    super(
      `the response from ${address} exceeds ${max / 1024 / 1024} MiB and was cut off (is this address a Vault server?)`,
    );
    this.name = "VaultResponseTooLargeError";
  }
}

/** Reads a body as UTF-8 text, giving up (and closing it) past `max` bytes. */
async function readCapped(
  body: AsyncIterable<Buffer> & { destroy(err?: Error): unknown },
  max: number,
  address: string,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) {
      const err = new VaultResponseTooLargeError(address, max);
      body.destroy(err);
      throw err;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size).toString("utf8");
}

export interface VaultHttpConfig {
  address: string;
  dispatcher?: Dispatcher;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export class VaultHttp {
  readonly address: string;
  private readonly dispatcher?: Dispatcher;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;

  constructor(config: VaultHttpConfig) {
    this.address = config.address.replace(/\/+$/, "");
    this.dispatcher = config.dispatcher;
    this.headers = config.headers ?? {};
    this.timeoutMs = config.timeoutMs ?? 30_000;
  }

  async call<T = Record<string, unknown>>(
    method: "GET" | "PUT" | "POST" | "DELETE" | "LIST" | "PATCH",
    path: string,
    opts: VaultRequestOptions = {},
  ): Promise<VaultResponse<T>> {
    const headers: Record<string, string> = { ...this.headers, ...opts.headers };
    if (opts.token) headers["x-vault-token"] = opts.token;
    if (opts.namespace) headers["x-vault-namespace"] = opts.namespace;
    const httpMethod = method === "LIST" ? "GET" : method;
    const query = new URLSearchParams(opts.query);
    if (method === "LIST") query.set("list", "true");
    const qs = query.toString();
    const url = `${this.address}/v1/${encodeVaultPath(path)}${qs ? `?${qs}` : ""}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers["content-type"] = method === "PATCH" ? "application/merge-patch+json" : "application/json";
    }
    const timeout = opts.timeoutMs ?? this.timeoutMs;
    const res = await request(url, {
      method: httpMethod,
      headers,
      body,
      dispatcher: this.dispatcher,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      // The request's own timeout, and the deadline of the reconcile it is part of.
      signal: withReconcileSignal(AbortSignal.timeout(timeout)),
    });
    const text = await readCapped(res.body, VAULT_RESPONSE_MAX_BYTES, this.address);
    let json: unknown;
    if (text.length > 0) {
      try {
        json = opts.keepNumbers ? parseJsonKeepingNumbers(text) : JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    if (!ok && !(opts.accept ?? []).includes(res.statusCode)) {
      const errors =
        json && typeof json === "object" && Array.isArray((json as { errors?: unknown }).errors)
          ? ((json as { errors: unknown[] }).errors.map(String) as string[])
          : [];
      throw new VaultApiError(method, path, res.statusCode, errors);
    }
    return { status: res.statusCode, json: json as T | undefined };
  }
}
