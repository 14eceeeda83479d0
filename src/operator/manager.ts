// The operator process: informers for our kinds and for owned Secrets
// (metadata only, selected by the owner labels, so the operator never caches
// every Secret of the cluster), one controller per kind, metrics and health
// endpoints, and a clean shutdown.
import { createServer, type RequestListener, type Server } from "node:http";
import { type Logger, pino } from "pino";
import type { VaultAuth, VaultAuthGlobal, VaultConnection, VaultStaticSecret } from "../api/index.ts";
import { OwnerLabel, OwnerLabelValue } from "../api/index.ts";
import { CORE, KubeClient, type KubeObject } from "../kube/client.ts";
import { Controller } from "../runtime/controller.ts";
import { MultiInformer } from "../runtime/multi-informer.ts";
import { VaultClientFactory } from "../vault/client-factory.ts";
import { BackoffRegistry } from "./backoff.ts";
import type { OperatorConfig } from "./config.ts";
import { type Informers, makeRecorders, type OperatorContext } from "./context.ts";
import { VaultAuthReconciler } from "./controllers/vaultauth.ts";
import { VaultConnectionReconciler } from "./controllers/vaultconnection.ts";
import { VaultStaticSecretReconciler } from "./controllers/vaultstaticsecret.ts";
import { ensureHmacKey } from "./hmac.ts";
import { OperatorMetrics, VERSION } from "./metrics.ts";
import { VSO } from "./resources.ts";

export interface ManagerHandle {
  ctx: OperatorContext;
  stop(): Promise<void>;
  metricsUrl?: string;
}

function listen(addr: string, handler: RequestListener, log: Logger): Promise<Server | undefined> {
  if (!addr || addr === "0") return Promise.resolve(undefined);
  const i = addr.lastIndexOf(":");
  const host = addr.slice(0, i) || "0.0.0.0";
  const port = Number(addr.slice(i + 1));
  return new Promise((resolve, reject) => {
    const srv = createServer(handler);
    srv.on("error", reject);
    srv.listen(port, host, () => {
      log.info({ addr: `${host}:${(srv.address() as { port: number }).port}` }, "listening");
      resolve(srv);
    });
  });
}

export async function startManager(
  cfg: OperatorConfig,
  opts: { log?: Logger; kube?: KubeClient } = {},
): Promise<ManagerHandle> {
  const log =
    opts.log ??
    pino({ level: cfg.logLevel === "debug" ? "debug" : cfg.logLevel === "error" ? "error" : "info" });
  const kube = opts.kube ?? (await KubeClient.load(cfg.kubeconfig));
  const metrics = new OperatorMetrics(cfg);
  const namespaces =
    cfg.watchNamespaces.length > 0 ? [...new Set([...cfg.watchNamespaces, cfg.operatorNamespace])] : [];
  const onError = (kind: string) => (err: unknown) =>
    log.warn({ kind, err: err instanceof Error ? err.message : String(err) }, "watch error; reconnecting");
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
    staticSecrets: new MultiInformer<KubeObject>(kube, VSO.VaultStaticSecret, namespaces, {
      onError: onError("VaultStaticSecret"),
    }),
    secretTransformations: new MultiInformer<KubeObject>(kube, VSO.SecretTransformation, namespaces, {
      onError: onError("SecretTransformation"),
    }),
  };
  const clients = new VaultClientFactory(kube, {
    size: cfg.clientCacheSize,
    userAgent: `vso-ts/${VERSION}`,
    metrics: metrics.clientFactoryMetrics(),
  });
  const hmacKey = await ensureHmacKey(kube, cfg.operatorNamespace);
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
    lookup: {
      vaultAuth: (ns, n) => informers.auths.get(ns, n),
      vaultAuthGlobal: (ns, n) => informers.authGlobals.get(ns, n),
      vaultConnection: (ns, n) => informers.connections.get(ns, n),
    },
  };

  const workers = Math.max(1, cfg.maxConcurrentReconciles);
  const done = (name: string, outcome: string, seconds: number) => {
    metrics.reconcileTotal.inc({ controller: name, result: outcome });
    metrics.reconcileTime.observe({ controller: name }, seconds);
  };
  const connRec = new VaultConnectionReconciler(ctx);
  const authRec = new VaultAuthReconciler(ctx);
  const vssRec = new VaultStaticSecretReconciler(ctx);
  const controllers = {
    vaultconnection: new Controller({
      name: "vaultconnection",
      reconcile: (k) => connRec.reconcile(k),
      workers,
      log,
      onReconcileDone: done,
    }),
    vaultauth: new Controller({
      name: "vaultauth",
      reconcile: (k) => authRec.reconcile(k),
      workers,
      log,
      onReconcileDone: done,
    }),
    vaultstaticsecret: new Controller({
      name: "vaultstaticsecret",
      reconcile: (k) => vssRec.reconcile(k),
      workers,
      log,
      onReconcileDone: done,
    }),
  };
  vssRec.controller = controllers.vaultstaticsecret;

  const keyOf = (o: KubeObject) => `${o.metadata.namespace}/${o.metadata.name}`;
  const generationChanged = (a: KubeObject, b: KubeObject) =>
    a.metadata.generation !== b.metadata.generation ||
    a.metadata.deletionTimestamp !== b.metadata.deletionTimestamp ||
    (a.metadata.finalizers ?? []).length !== (b.metadata.finalizers ?? []).length;
  const wire = (inf: MultiInformer<KubeObject>, c: Controller, onLabelsToo = false) =>
    inf.on({
      add: (o) => c.enqueue(keyOf(o)),
      update: (a, b) => {
        const labelsChanged =
          onLabelsToo &&
          (JSON.stringify(a.metadata.labels ?? {}) !== JSON.stringify(b.metadata.labels ?? {}) ||
            JSON.stringify(a.metadata.annotations ?? {}) !== JSON.stringify(b.metadata.annotations ?? {}));
        if (generationChanged(a, b) || labelsChanged) c.enqueue(keyOf(b));
      },
      delete: (o) => c.enqueue(keyOf(o)),
    });
  wire(informers.connections as unknown as MultiInformer<KubeObject>, controllers.vaultconnection);
  wire(informers.auths as unknown as MultiInformer<KubeObject>, controllers.vaultauth);
  wire(informers.staticSecrets, controllers.vaultstaticsecret, true);

  // A VaultAuth or VaultConnection that appears or changes re-queues the secrets still failing,
  // so that applying manifests in any order converges without waiting for a backoff.
  const requeueFailing = () => {
    for (const v of informers.staticSecrets.list() as unknown as VaultStaticSecret[]) {
      const synced = v.status?.conditions?.find((c) => c.type === "SecretSynced");
      if (synced?.status !== "True") controllers.vaultstaticsecret.enqueue(keyOf(v as unknown as KubeObject));
    }
  };
  for (const inf of [
    informers.connections,
    informers.auths,
    informers.authGlobals,
  ] as unknown as MultiInformer<KubeObject>[]) {
    inf.on({ add: requeueFailing, update: (a, b) => generationChanged(a, b) && requeueFailing() });
  }
  informers.authGlobals.on({
    update: (_a, b) => {
      for (const a of informers.auths.list()) {
        if (a.spec?.vaultAuthGlobalRef) controllers.vaultauth.enqueue(keyOf(a as unknown as KubeObject));
      }
      void b;
    },
  });
  // Drift repair: an owned Secret edited or deleted out of band re-queues its owner at once.
  informers.ownedSecrets.on({
    update: (_a, b) => vssRec.onOwnedSecretEvent(b, false),
    delete: (o) => vssRec.onOwnedSecretEvent(o, true),
  });

  for (const inf of Object.values(informers)) (inf as unknown as MultiInformer<KubeObject>).start();
  await Promise.all(
    Object.values(informers).map((inf) => (inf as unknown as MultiInformer<KubeObject>).waitForSync()),
  );
  for (const c of Object.values(controllers)) c.start();
  const depthTimer = setInterval(() => {
    for (const c of Object.values(controllers)) metrics.workqueueDepth.set({ name: c.name }, c.queue.len());
    metrics.cacheLength.set(clients.size);
  }, 5000);
  depthTimer.unref();

  const metricsServer = await listen(
    cfg.metricsBindAddress,
    (req, res) => {
      if (req.url === "/metrics") {
        void metrics.registry.metrics().then((body) => {
          res.writeHead(200, { "content-type": metrics.registry.contentType });
          res.end(body);
        });
      } else {
        res.writeHead(404).end();
      }
    },
    log,
  );
  const healthServer = await listen(
    cfg.healthProbeBindAddress,
    (req, res) => {
      if (req.url === "/healthz" || req.url === "/readyz") res.writeHead(200).end("ok");
      else res.writeHead(404).end();
    },
    log,
  );
  log.info(
    { version: VERSION, operatorNamespace: cfg.operatorNamespace, watchNamespaces: cfg.watchNamespaces },
    "vso-ts operator started",
  );
  const addr = metricsServer?.address();
  return {
    ctx,
    metricsUrl: addr && typeof addr === "object" ? `http://127.0.0.1:${addr.port}/metrics` : undefined,
    async stop() {
      clearInterval(depthTimer);
      await Promise.all(Object.values(controllers).map((c) => c.stop()));
      await Promise.all(
        Object.values(informers).map((inf) => (inf as unknown as MultiInformer<KubeObject>).stop()),
      );
      clients.close();
      metricsServer?.close();
      healthServer?.close();
      if (!opts.kube) await kube.close();
      log.info("vso-ts operator stopped");
    },
  };
}
