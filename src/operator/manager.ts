// The operator process: informers for our kinds and for owned Secrets
// (metadata only, selected by the owner labels, so the operator never caches
// every Secret of the cluster), one controller per kind, metrics and health
// endpoints, and a clean shutdown.
import { randomUUID } from "node:crypto";
import { createServer, type RequestListener, type Server } from "node:http";
import type { Server as HttpsServer } from "node:https";
import { hostname } from "node:os";
import type { Logger } from "pino";
import type { VaultAuth, VaultAuthGlobal, VaultConnection } from "../api/index.ts";
import { OwnerLabel, OwnerLabelValue } from "../api/index.ts";
import { CORE, KubeApiError, KubeClient, type KubeObject } from "../kube/client.ts";
import { Controller } from "../runtime/controller.ts";
import { causeChain } from "../runtime/errors.ts";
import type { RetryInfo } from "../runtime/informer.ts";
import { LeaderElector } from "../runtime/leader.ts";
import { kubeLeaseApi } from "../runtime/lease-api.ts";
import { MultiInformer } from "../runtime/multi-informer.ts";
import { VaultClientFactory } from "../vault/client-factory.ts";
import { BackoffRegistry } from "./backoff.ts";
import { clientCachePersistence } from "./client-cache-store.ts";
import type { OperatorConfig } from "./config.ts";
import { type Informers, makeRecorders, type OperatorContext } from "./context.ts";
import { setupSecretTransformation } from "./controllers/secrettransformation.ts";
import type { Manager, Setup } from "./controllers/setup.ts";
import { setupUnservedKinds, UNSERVED_KINDS } from "./controllers/unserved.ts";
import { setupVaultAuth } from "./controllers/vaultauth.ts";
import { setupVaultConnection } from "./controllers/vaultconnection.ts";
import { ensureHmacKey } from "./hmac.ts";
import { setupVaultDynamicSecret } from "./kinds/dynamic/reconciler.ts";
import { setupVaultPKISecret } from "./kinds/pki/reconciler.ts";
import { setupVaultStaticSecret } from "./kinds/static/reconciler.ts";
import { createLogger } from "./logging.ts";
import { OperatorMetrics, VERSION } from "./metrics.ts";
import { VSO } from "./resources.ts";
import { createSecureMetricsServer, kubeAuthority, MetricsGate } from "./secure-metrics.ts";
import { tokenUsers } from "./token-users.ts";

/**
 * How long stop() waits for in-flight reconciles before it releases the Lease anyway. Kubernetes
 * sends SIGKILL terminationGracePeriodSeconds after SIGTERM (the chart's default is 120 s, and
 * must stay above this: see deploy/chart values.yaml). A reconcile is a few API and Vault
 * requests, so one still running after 20 s is stuck on a slow server; waiting longer would only
 * let SIGKILL arrive before the Lease is released, and the successor would then wait out the
 * whole lease duration. Like controller-runtime's GracefulShutdownTimeout, but shorter so that
 * the Lease release (two API requests) also fits in Kubernetes' own default of 30 s.
 */
export const SHUTDOWN_DRAIN_MS = 20_000;

/** How long the Lease release may take after the drain (two API requests). */
export const SHUTDOWN_RELEASE_MS = 3_000;

/**
 * How long the caches may take to fill before the start fails (controller-runtime's
 * CacheSyncTimeout): a kind whose list keeps failing (its CRD missing, RBAC refusing
 * it) would otherwise leave a process that never reconciles and never says so.
 */
export const CACHE_SYNC_TIMEOUT_MS = 120_000;

/**
 * Every controller of the operator, each set up by its own module. A secret
 * kind is one folder under kinds/ and one line here (docs/adding-a-kind.md).
 */
const SETUPS: Setup[] = [
  setupVaultConnection,
  setupVaultAuth,
  setupSecretTransformation,
  setupVaultStaticSecret,
  setupVaultPKISecret,
  setupVaultDynamicSecret,
  setupUnservedKinds,
];

export interface ManagerHandle {
  ctx: OperatorContext;
  stop(): Promise<void>;
  metricsUrl?: string;
}

/**
 * Listens on "host:port" (":port" for all addresses; "0" or "" for not at all).
 * A failure (the port taken, an address not ours) names the flag that set it.
 */
async function listen(
  addr: string,
  flag: string,
  server: () => Promise<Server | HttpsServer>,
  log: Logger,
): Promise<Server | HttpsServer | undefined> {
  if (!addr || addr === "0") return undefined;
  const i = addr.lastIndexOf(":");
  const host = addr.slice(0, i) || "0.0.0.0";
  const port = Number(addr.slice(i + 1));
  const srv = await server();
  try {
    await new Promise<void>((resolve, reject) => {
      srv.once("error", reject);
      srv.listen(port, host, () => {
        srv.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    srv.close();
    throw new StartError(`cannot listen on ${host}:${port} (--${flag}): ${errorMessage(err)}`, err);
  }
  log.info({ addr: `${host}:${(srv.address() as { port: number }).port}` }, "listening");
  return srv;
}

/** Why the operator could not start, in one line that names what to fix. */
export class StartError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = "StartError";
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The first request to the API server: one that fails says the server cannot be used, and which one. */
async function firstContact<T>(kube: KubeClient, what: Promise<T>): Promise<T> {
  try {
    return await what;
  } catch (err) {
    const detail = [errorMessage(err), causeChain(err)].filter(Boolean).join(": ");
    throw new StartError(
      err instanceof KubeApiError
        ? `the Kubernetes API server at ${kube.server} refused the operator: ${detail}`
        : `cannot reach the Kubernetes API server at ${kube.server}: ${detail}`,
      err,
    );
  }
}

/** Resolves once every informer has synced; rejects with the kinds still listing after `ms`. */
async function syncWithin(informers: MultiInformer<KubeObject>[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const pending = informers.filter((inf) => !inf.hasSynced()).map((inf) => inf.resource.kind);
      reject(
        new StartError(
          `caches did not sync within ${ms / 1000} s (${pending.join(", ")}): see the "list or watch failed" lines`,
        ),
      );
    }, ms);
  });
  try {
    await Promise.race([Promise.all(informers.map((inf) => inf.waitForSync())), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Flags VSO has that mean nothing here: accepted so VSO's manifests work, and said so once. */
function logInertFlags(cfg: OperatorConfig, log: Logger): void {
  if (cfg.clientCacheNumLocks !== 100)
    log.info(
      { flag: "client-cache-num-locks", value: cfg.clientCacheNumLocks },
      "flag has no effect in vso-ts: Vault clients are created one at a time per cache key on a single thread, so there are no locks to stripe",
    );
  if (cfg.minRefreshAfterHvsaMs !== 30_000)
    log.info(
      { flag: "min-refresh-after-hvsa" },
      "flag has no effect in vso-ts: HCPVaultSecretsApp is not served",
    );
}

/** What a started piece needs to be stopped, newest first, whether the start finished or failed. */
type Undo = () => Promise<void> | void;

export async function startManager(
  cfg: OperatorConfig,
  opts: { log?: Logger; kube?: KubeClient; onLeadershipLost?: () => void } = {},
): Promise<ManagerHandle> {
  const log = opts.log ?? createLogger(cfg.logging);
  const kube =
    opts.kube ??
    (await KubeClient.load(cfg.kubeconfig, { qps: cfg.kubeClientQps, burst: cfg.kubeClientBurst }));
  // Everything started so far, undone in reverse if a later step fails: a start that fails
  // leaves no watch, server or socket behind, so the process ends with its error.
  const undo: Undo[] = [];
  if (!opts.kube) undo.push(() => kube.close());
  try {
    return await start(cfg, opts, log, kube, undo);
  } catch (err) {
    for (const u of undo.reverse()) await Promise.resolve(u()).catch(() => {});
    throw err;
  }
}

async function start(
  cfg: OperatorConfig,
  opts: { kube?: KubeClient; onLeadershipLost?: () => void },
  log: Logger,
  kube: KubeClient,
  undo: Undo[],
): Promise<ManagerHandle> {
  logInertFlags(cfg, log);
  const metrics = new OperatorMetrics(cfg);
  // The ports first (controller-runtime binds them before its caches): a port taken fails the
  // start at once, before any request or watch.
  const serveMetrics: RequestListener = (req, res) => {
    if ((req.url ?? "").split("?")[0] === "/metrics") {
      void metrics.registry.metrics().then((body) => {
        res.writeHead(200, { "content-type": metrics.registry.contentType });
        res.end(body);
      });
    } else {
      res.writeHead(404).end();
    }
  };
  const metricsServer = await listen(
    cfg.metricsBindAddress,
    "metrics-bind-address",
    async () =>
      cfg.metricsSecure
        ? await createSecureMetricsServer({
            gate: new MetricsGate(kubeAuthority(kube)),
            handler: serveMetrics,
            certDir: cfg.metricsCertDir,
            hostnames: [hostname(), "localhost"],
          })
        : createServer(serveMetrics),
    log,
  );
  if (metricsServer) undo.push(() => void metricsServer.close());
  // Health answers from here on, before leadership: a standby replica is alive and ready too.
  const healthServer = await listen(
    cfg.healthProbeBindAddress,
    "health-probe-bind-address",
    async () =>
      createServer((req, res) => {
        if (req.url === "/healthz" || req.url === "/readyz") res.writeHead(200).end("ok");
        else res.writeHead(404).end();
      }),
    log,
  );
  if (healthServer) undo.push(() => void healthServer.close());
  const hmacKey = await firstContact(kube, ensureHmacKey(kube, cfg.operatorNamespace));

  const namespaces =
    cfg.watchNamespaces.length > 0 ? [...new Set([...cfg.watchNamespaces, cfg.operatorNamespace])] : [];
  // One line per backoff step of a failing list or watch (the informer paces them), with the error
  // itself (its stack from --zap-stacktrace-level) and its causes.
  const onError = (kind: string) => (err: unknown, retry?: RetryInfo) => {
    if (retry) {
      log.warn(
        { kind, err, cause: causeChain(err), retryInMs: retry.retryInMs, failures: retry.failures },
        "list or watch failed; retrying",
      );
    } else log.error({ kind, err, cause: causeChain(err) }, "event handler failed");
  };
  const informers: Informers = {
    connections: new MultiInformer<VaultConnection>(kube, VSO.VaultConnection, namespaces, {
      onError: onError("VaultConnection"),
    }),
    auths: new MultiInformer<VaultAuth>(kube, VSO.VaultAuth, namespaces, { onError: onError("VaultAuth") }),
    authGlobals: new MultiInformer<VaultAuthGlobal>(kube, VSO.VaultAuthGlobal, namespaces, {
      onError: onError("VaultAuthGlobal"),
    }),
    ownedSecrets: new MultiInformer<KubeObject>(kube, CORE.secrets, namespaces, {
      metadataOnly: true,
      labelSelector: `${OwnerLabel.ManagedBy}=${OwnerLabelValue.ManagedBy},${OwnerLabel.OwnerRefUID}`,
      onError: onError("Secret"),
    }),
    dynamicSecrets: new MultiInformer<KubeObject>(kube, VSO.VaultDynamicSecret, namespaces, {
      onError: onError("VaultDynamicSecret"),
    }),
    pkiSecrets: new MultiInformer<KubeObject>(kube, VSO.VaultPKISecret, namespaces, {
      onError: onError("VaultPKISecret"),
    }),
    unserved: Object.fromEntries(
      UNSERVED_KINDS.map((kind) => [
        kind,
        new MultiInformer<KubeObject>(kube, VSO[kind], namespaces, { onError: onError(kind) }),
      ]),
    ),
    staticSecrets: new MultiInformer<KubeObject>(kube, VSO.VaultStaticSecret, namespaces, {
      onError: onError("VaultStaticSecret"),
    }),
    secretTransformations: new MultiInformer<KubeObject>(kube, VSO.SecretTransformation, namespaces, {
      onError: onError("SecretTransformation"),
    }),
  };
  const lookup = {
    vaultAuth: (ns: string, n: string) => informers.auths.get(ns, n),
    vaultAuthGlobal: (ns: string, n: string) => informers.authGlobals.get(ns, n),
    vaultConnection: (ns: string, n: string) => informers.connections.get(ns, n),
  };
  const clientCache = clientCachePersistence({
    cfg,
    kube,
    hmacKey,
    log,
    auths: informers.auths,
    lookup,
    clients: (): VaultClientFactory => clients,
    metrics: metrics.clientCacheStorageMetrics(),
  });
  const clients: VaultClientFactory = new VaultClientFactory(kube, {
    size: cfg.clientCacheSize,
    userAgent: `vso-ts/${VERSION}`,
    metrics: metrics.clientFactoryMetrics(),
    persistence: clientCache.persistence,
    log,
    caCertPath: { operatorNamespace: cfg.operatorNamespace, dir: cfg.vaultCaCertDir },
    guards: {
      operatorNamespace: cfg.operatorNamespace,
      vaultAddresses: cfg.tenantVaultAddresses,
      tokenAudiences: cfg.tenantTokenAudiences,
      tokenMaxExpirationSeconds: cfg.tenantTokenMaxExpirationSeconds,
    },
    tokenInUse: (id) => tokenUsers(informers, id).length > 0,
  });
  undo.push(() => clients.close());
  const ctx: OperatorContext = {
    cfg,
    kube,
    log,
    metrics,
    clients,
    hmacKey,
    informers,
    backoff: new BackoffRegistry(cfg.backoff),
    recorder: makeRecorders(kube, log),
    lookup,
  };

  // The manager only wires: each kind's setup registers its controller and declares its watches.
  const controllers: Controller[] = [];
  const mgr: Manager = {
    ctx,
    addController(name, reconcile, opts = {}) {
      const workers = opts.workers ?? cfg.maxConcurrentReconciles;
      metrics.maxConcurrentReconciles.set({ controller: name }, workers);
      const c = new Controller({
        name,
        reconcile,
        workers,
        log,
        backoff: cfg.backoff,
        onReconcileDone: (n, outcome, seconds) => metrics.observeReconcile(n, outcome, seconds),
        queueObserver: metrics.queueObserver(name),
      });
      controllers.push(c);
      return c;
    },
  };
  for (const setup of SETUPS) setup(mgr);

  const allInformers = [
    ...Object.entries(informers)
      .filter(([name]) => name !== "unserved")
      .map(([, inf]) => inf as unknown as MultiInformer<KubeObject>),
    ...Object.values(informers.unserved),
  ];
  for (const inf of allInformers) inf.start();
  undo.push(() => Promise.all(allInformers.map((inf) => inf.stop())).then(() => {}));
  await syncWithin(allInformers, CACHE_SYNC_TIMEOUT_MS);
  // With leader election, caches are warm before leadership and controllers start only once leading.
  let elector: LeaderElector | undefined;
  if (cfg.leaderElect) {
    const lease = { namespace: cfg.operatorNamespace, name: cfg.leaderElection.id };
    elector = new LeaderElector(
      kubeLeaseApi(kube, lease.namespace, lease.name),
      {
        ...lease,
        identity: process.env.OPERATOR_POD_NAME || `${hostname()}_${randomUUID()}`,
        leaseDurationMs: cfg.leaderElection.leaseDurationMs,
        renewDeadlineMs: cfg.leaderElection.renewDeadlineMs,
        retryPeriodMs: cfg.leaderElection.retryPeriodMs,
      },
      log,
    );
    const leader = elector;
    undo.push(() => leader.release(AbortSignal.timeout(SHUTDOWN_RELEASE_MS)));
    log.info({ lease: `${lease.namespace}/${lease.name}` }, "waiting for leadership");
    await elector.acquire();
    // Losing the Lease stops every controller at once (no reconcile is started after it); the
    // caller is expected to exit non-zero, as controller-runtime's manager does.
    void elector.holdLeadership(() => {
      for (const c of controllers) void c.stop();
      (opts.onLeadershipLost ?? (() => process.exit(1)))();
    });
  }
  await clientCache.start();
  for (const c of controllers) c.start();
  const depthTimer = setInterval(() => {
    for (const c of controllers) metrics.workqueueDepth.set({ name: c.name }, c.queue.len());
    metrics.cacheLength.set(clients.size);
  }, 5000);
  depthTimer.unref();

  log.info(
    { version: VERSION, operatorNamespace: cfg.operatorNamespace, watchNamespaces: cfg.watchNamespaces },
    "vso-ts operator started",
  );
  const addr = metricsServer?.address();
  return {
    ctx,
    metricsUrl:
      addr && typeof addr === "object"
        ? `${cfg.metricsSecure ? "https" : "http"}://127.0.0.1:${addr.port}/metrics`
        : undefined,
    async stop() {
      clearInterval(depthTimer);
      // The Lease goes once no reconcile is in flight, so a successor does not overlap with us; a
      // reconcile stuck past the cap is abandoned (the caller exits right after stop()).
      const drained = await settlesWithin(Promise.all(controllers.map((c) => c.stop())), SHUTDOWN_DRAIN_MS);
      if (!drained) {
        log.warn(
          { waitedSeconds: SHUTDOWN_DRAIN_MS / 1000 },
          "in-flight reconciles did not finish in time: releasing the leader Lease and exiting without them",
        );
      }
      await elector?.release(AbortSignal.timeout(SHUTDOWN_RELEASE_MS));
      await Promise.all(allInformers.map((inf) => inf.stop()));
      clients.close();
      metricsServer?.close();
      healthServer?.close();
      if (!opts.kube) await kube.close();
      log.info("vso-ts operator stopped");
    },
  };
}

/** True if `p` settles within `ms`; false (leaving it running) otherwise. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}
