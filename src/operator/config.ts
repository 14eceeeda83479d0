// Operator configuration: VSO's manager flags (section 2.13 of the compatibility
// spec) with their VSO_* environment overrides, plus a few additive flags.
// Go's flag package accepts `-flag` as well as `--flag`; node's parseArgs does
// not, so single-dash long flags are rewritten first.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { validateLeaderElection } from "../runtime/leader.ts";
import { parseDuration } from "../util/duration.ts";
import { DEFAULT_VAULT_CA_CERT_DIR, validateCaCertDir } from "../vault/ca-cert-path.ts";
import { parseAllowedAddress } from "../vault/tenant-guards.ts";
import { type LoggingOptions, parseLoggingFlags } from "./logging.ts";

export interface BackoffOptions {
  initialIntervalMs: number;
  maxIntervalMs: number;
  maxElapsedMs: number;
  randomizationFactor: number;
  multiplier: number;
}

export interface OperatorConfig {
  kubeconfig?: string;
  operatorNamespace: string;
  metricsBindAddress: string;
  /** Metrics over HTTPS, readable only by users the API server authorizes for GET /metrics. */
  metricsSecure: boolean;
  /** tls.crt and tls.key for the secure metrics endpoint; self-signed when unset. */
  metricsCertDir?: string;
  healthProbeBindAddress: string;
  leaderElect: boolean;
  clientCacheSize: number;
  clientCachePersistenceModel: string;
  /** --client-cache-num-locks: accepted for VSO compatibility, no effect (see docs/operator.md). */
  clientCacheNumLocks: number;
  maxConcurrentReconciles: number;
  /** Workers of the VaultDynamicSecret controller (VSO: --max-concurrent-reconciles-vds when not 100). */
  maxConcurrentReconcilesVds: number;
  globalTransformationOptions: string[];
  globalVaultAuthOptions: string[];
  backoff: BackoffOptions;
  kubeClientQps: number;
  kubeClientBurst: number;
  logging: LoggingOptions;
  /** --min-refresh-after-hvsa: HCPVaultSecretsApp is not served, so it has no effect. */
  minRefreshAfterHvsaMs: number;
  preDeleteHookTimeoutSeconds: number;
  /** --output for --version: "" (JSON), "json" or "yaml". */
  output: "" | "json" | "yaml";
  watchNamespaces: string[];
  /** Ours: the only directory VaultConnection spec.caCertPath may read from (operator namespace only). */
  vaultCaCertDir: string;
  /** Ours: the cluster admin's guard rails for tenant namespaces (src/vault/tenant-guards.ts). */
  tenantVaultAddresses: string[];
  tenantTokenAudiences: string[];
  tenantTokenMaxExpirationSeconds: number;
  leaderElection: { id: string; leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
  uninstall: boolean;
  version: boolean;
}

/** VSO's default worker count per controller (and of its deprecated VDS-only flag). */
const DEFAULT_CONCURRENCY = 100;

const FLAG_SPEC = {
  kubeconfig: { type: "string" },
  "operator-namespace": { type: "string" },
  "metrics-bind-address": { type: "string" },
  "metrics-secure": { type: "string" },
  "metrics-cert-dir": { type: "string" },
  "health-probe-bind-address": { type: "string" },
  "leader-elect": { type: "string" },
  "client-cache-size": { type: "string" },
  "client-cache-num-locks": { type: "string" },
  "client-cache-persistence-model": { type: "string" },
  "max-concurrent-reconciles": { type: "string" },
  "max-concurrent-reconciles-vds": { type: "string" },
  "global-transformation-options": { type: "string" },
  "global-vault-auth-options": { type: "string" },
  "backoff-initial-interval": { type: "string" },
  "backoff-max-interval": { type: "string" },
  "backoff-max-elapsed-time": { type: "string" },
  "backoff-randomization-factor": { type: "string" },
  "backoff-multiplier": { type: "string" },
  "kube-client-qps": { type: "string" },
  "kube-client-burst": { type: "string" },
  "zap-log-level": { type: "string" },
  "zap-time-encoding": { type: "string" },
  "zap-stacktrace-level": { type: "string" },
  "zap-devel": { type: "string" },
  "zap-encoder": { type: "string" },
  "min-refresh-after-hvsa": { type: "string" },
  "pre-delete-hook-timeout-seconds": { type: "string" },
  "watch-namespaces": { type: "string" },
  "vault-ca-cert-dir": { type: "string" },
  "tenant-vault-addresses": { type: "string" },
  "tenant-token-audiences": { type: "string" },
  "tenant-token-max-expiration-seconds": { type: "string" },
  "leader-election-id": { type: "string" },
  "leader-election-lease-duration": { type: "string" },
  "leader-election-renew-deadline": { type: "string" },
  "leader-election-retry-period": { type: "string" },
  uninstall: { type: "string" },
  version: { type: "boolean" },
  output: { type: "string" },
} as const;

const ENV_OVERRIDES: Record<string, keyof typeof FLAG_SPEC> = {
  VSO_CLIENT_CACHE_SIZE: "client-cache-size",
  VSO_CLIENT_CACHE_NUM_LOCKS: "client-cache-num-locks",
  VSO_CLIENT_CACHE_PERSISTENCE_MODEL: "client-cache-persistence-model",
  VSO_MAX_CONCURRENT_RECONCILES: "max-concurrent-reconciles",
  VSO_GLOBAL_TRANSFORMATION_OPTIONS: "global-transformation-options",
  VSO_GLOBAL_VAULT_AUTH_OPTIONS: "global-vault-auth-options",
  VSO_BACKOFF_INITIAL_INTERVAL: "backoff-initial-interval",
  VSO_BACKOFF_MAX_INTERVAL: "backoff-max-interval",
  VSO_BACKOFF_MAX_ELAPSED_TIME: "backoff-max-elapsed-time",
  VSO_BACKOFF_RANDOMIZATION_FACTOR: "backoff-randomization-factor",
  VSO_BACKOFF_MULTIPLIER: "backoff-multiplier",
  VSO_KUBE_CLIENT_QPS: "kube-client-qps",
  VSO_KUBE_CLIENT_BURST: "kube-client-burst",
  VSO_OUTPUT_FORMAT: "output",
  VSO_VAULT_CA_CERT_DIR: "vault-ca-cert-dir",
  VSO_TENANT_VAULT_ADDRESSES: "tenant-vault-addresses",
  VSO_TENANT_TOKEN_AUDIENCES: "tenant-token-audiences",
  VSO_TENANT_TOKEN_MAX_EXPIRATION_SECONDS: "tenant-token-max-expiration-seconds",
};

/** Rewrites Go-style `-flag[=v]` into `--flag[=v]`; boolean flags given as `--flag` become `--flag=true`. */
function normalizeArgs(argv: string[]): string[] {
  return argv.map((a) => {
    let arg = a;
    if (/^-[a-z][a-z0-9-]+/.test(arg)) arg = `-${arg}`;
    const name = arg.startsWith("--") ? arg.slice(2).split("=")[0] : "";
    const boolish = ["leader-elect", "metrics-secure", "uninstall", "zap-devel"];
    if (boolish.includes(name) && !arg.includes("=")) arg = `${arg}=true`;
    return arg;
  });
}

function parseBool(v: string | undefined, dflt: boolean, flag: string): boolean {
  if (v === undefined || v === "") return dflt;
  if (/^(1|t|true|yes)$/i.test(v)) return true;
  if (/^(0|f|false|no)$/i.test(v)) return false;
  throw new Error(`invalid value "${v}" for --${flag}: want true or false`);
}

function parseNum(v: string | undefined, dflt: number, flag: string): number {
  if (v === undefined || v === "") return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`invalid value "${v}" for --${flag}: want a number`);
  return n;
}

function parseInt_(v: string | undefined, dflt: number, flag: string, min: number): number {
  if (v === undefined || v === "") return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`invalid value "${v}" for --${flag}: want a whole number >= ${min}`);
  return n;
}

function parseDur(v: string | undefined, dflt: number, flag: string): number {
  if (v === undefined || v === "") return dflt;
  try {
    return parseDuration(v);
  } catch {
    throw new Error(`invalid value "${v}" for --${flag}: want a duration such as 5s`);
  }
}

function operatorNamespaceDefault(env: NodeJS.ProcessEnv): string {
  try {
    return readFileSync("/var/run/secrets/kubernetes.io/serviceaccount/namespace", "utf8").trim();
  } catch {
    return env.OPERATOR_NAMESPACE || "default";
  }
}

/** --tenant-token-max-expiration-seconds: 0 (no cap) or at least 600, the API server's minimum. */
function tenantTokenMax(v: string | undefined): number {
  const n = parseInt_(v, 0, "tenant-token-max-expiration-seconds", 0);
  if (n !== 0 && n < 600)
    throw new Error(
      `invalid value "${v}" for --tenant-token-max-expiration-seconds: want 0 (no cap) or at least 600`,
    );
  return n;
}

/**
 * --global-vault-auth-options: `allow-default-globals` (the default) or nothing. An unknown value
 * is refused rather than ignored: a typo would otherwise silently turn the default globals off.
 */
export function parseGlobalVaultAuthOptions(value: string | undefined): string[] {
  if (value === undefined) return ["allow-default-globals"];
  const opts = value
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
  for (const o of opts) {
    if (o !== "allow-default-globals")
      throw new Error(`unsupported --global-vault-auth-options value "${o}" (known: allow-default-globals)`);
  }
  return opts;
}

export function parseOperatorConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  const { values } = parseArgs({ args: normalizeArgs(argv), options: FLAG_SPEC, allowPositionals: false });
  const v: Record<string, string | boolean | undefined> = { ...values };
  for (const [envName, flag] of Object.entries(ENV_OVERRIDES)) {
    if (env[envName] !== undefined && env[envName] !== "") v[flag] = env[envName];
  }
  const s = (k: keyof typeof FLAG_SPEC) => v[k] as string | undefined;
  const list = (k: keyof typeof FLAG_SPEC) =>
    (s(k) ?? "")
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean);
  const gto = list("global-transformation-options");
  for (const o of gto) {
    if (o !== "exclude-raw")
      throw new Error(`unsupported --global-transformation-options value "${o}" (known: exclude-raw)`);
  }
  const persistence = s("client-cache-persistence-model") ?? "none";
  if (!["none", "direct-unencrypted", "direct-encrypted"].includes(persistence)) {
    throw new Error(
      `invalid --client-cache-persistence-model "${persistence}" (none, direct-unencrypted, direct-encrypted)`,
    );
  }
  const maxConcurrentReconciles = parseInt_(
    s("max-concurrent-reconciles"),
    DEFAULT_CONCURRENCY,
    "max-concurrent-reconciles",
    1,
  );
  // VSO's rule: the deprecated VDS flag wins only when it differs from its default (100).
  const vds = parseInt_(
    s("max-concurrent-reconciles-vds"),
    DEFAULT_CONCURRENCY,
    "max-concurrent-reconciles-vds",
    1,
  );
  const output = s("output") ?? "";
  if (output !== "" && output !== "json" && output !== "yaml")
    throw new Error(`invalid value "${output}" for --output: want yaml or json`);
  const qps = parseNum(s("kube-client-qps"), 0, "kube-client-qps");
  const cfg: OperatorConfig = {
    kubeconfig: s("kubeconfig"),
    operatorNamespace: s("operator-namespace") ?? operatorNamespaceDefault(env),
    metricsBindAddress: s("metrics-bind-address") ?? ":8080",
    metricsSecure: parseBool(s("metrics-secure"), false, "metrics-secure"),
    metricsCertDir: s("metrics-cert-dir"),
    healthProbeBindAddress: s("health-probe-bind-address") ?? ":8081",
    leaderElect: parseBool(s("leader-elect"), true, "leader-elect"),
    clientCacheSize: parseNum(s("client-cache-size"), 10_000, "client-cache-size"),
    clientCachePersistenceModel: persistence,
    // VSO: <= 0 means one lock per CPU; any whole number is accepted.
    clientCacheNumLocks: parseInt_(s("client-cache-num-locks"), 100, "client-cache-num-locks", -(2 ** 31)),
    maxConcurrentReconciles,
    maxConcurrentReconcilesVds: vds !== DEFAULT_CONCURRENCY ? vds : maxConcurrentReconciles,
    globalTransformationOptions: gto,
    globalVaultAuthOptions: parseGlobalVaultAuthOptions(s("global-vault-auth-options")),
    backoff: {
      initialIntervalMs: parseDur(s("backoff-initial-interval"), 5000, "backoff-initial-interval"),
      maxIntervalMs: parseDur(s("backoff-max-interval"), 60_000, "backoff-max-interval"),
      maxElapsedMs: parseDur(s("backoff-max-elapsed-time"), 0, "backoff-max-elapsed-time"),
      randomizationFactor: parseNum(s("backoff-randomization-factor"), 0.5, "backoff-randomization-factor"),
      multiplier: parseNum(s("backoff-multiplier"), 1.5, "backoff-multiplier"),
    },
    kubeClientQps: qps,
    kubeClientBurst: parseInt_(s("kube-client-burst"), 0, "kube-client-burst", 0),
    logging: parseLoggingFlags({
      level: s("zap-log-level"),
      timeEncoding: s("zap-time-encoding"),
      stacktraceLevel: s("zap-stacktrace-level"),
      encoder: s("zap-encoder"),
      devel:
        s("zap-devel") !== undefined
          ? parseBool(s("zap-devel"), false, "zap-devel")
          : Boolean(env.VSO_LOGGER_DEVELOPMENT_MODE),
    }),
    minRefreshAfterHvsaMs: parseDur(s("min-refresh-after-hvsa"), 30_000, "min-refresh-after-hvsa"),
    preDeleteHookTimeoutSeconds: parseInt_(
      s("pre-delete-hook-timeout-seconds"),
      60,
      "pre-delete-hook-timeout-seconds",
      1,
    ),
    output,
    watchNamespaces: list("watch-namespaces"),
    vaultCaCertDir: validateCaCertDir(s("vault-ca-cert-dir") || DEFAULT_VAULT_CA_CERT_DIR),
    tenantVaultAddresses: list("tenant-vault-addresses").map((a) => {
      parseAllowedAddress(a);
      return a;
    }),
    tenantTokenAudiences: list("tenant-token-audiences"),
    tenantTokenMaxExpirationSeconds: tenantTokenMax(s("tenant-token-max-expiration-seconds")),
    leaderElection: {
      id: s("leader-election-id") ?? "b0d477c0.hashicorp.com",
      leaseDurationMs: parseDur(
        s("leader-election-lease-duration"),
        15_000,
        "leader-election-lease-duration",
      ),
      renewDeadlineMs: parseDur(
        s("leader-election-renew-deadline"),
        10_000,
        "leader-election-renew-deadline",
      ),
      retryPeriodMs: parseDur(s("leader-election-retry-period"), 2000, "leader-election-retry-period"),
    },
    uninstall: parseBool(s("uninstall"), false, "uninstall"),
    version: Boolean(v.version),
  };
  // Durations leader election cannot work with fail here, at the start, as client-go refuses them.
  if (cfg.leaderElect && !cfg.version && !cfg.uninstall) validateLeaderElection(cfg.leaderElection);
  return cfg;
}
