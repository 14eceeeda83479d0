// Prometheus metrics: VSO's names where it has them (section 2.12 of the
// compatibility spec), controller-runtime's reconcile and workqueue families,
// and a few additions VSO's users asked for (per-resource sync status, rollout
// restarts). Labels never carry secret data.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { OperatorConfig } from "./config.ts";

export const VERSION = "0.1.0";

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconcileTotal: Counter<"controller" | "result">;
  readonly reconcileErrors: Counter<"controller">;
  readonly reconcileTime: Histogram<"controller">;
  readonly workqueueDepth: Gauge<"name">;
  readonly workqueueAdds: Counter<"name">;
  readonly workqueueRetries: Counter<"name">;
  readonly workqueueQueueDuration: Histogram<"name">;
  readonly workqueueWorkDuration: Histogram<"name">;
  readonly maxConcurrentReconciles: Gauge<"controller">;
  readonly resourceStatus: Gauge<"controller" | "name" | "namespace">;
  readonly cacheHits: Counter;
  readonly cacheMisses: Counter;
  readonly cacheEvictions: Gauge;
  readonly cacheLength: Gauge;
  readonly clientOps: Counter<"operation" | "vault_connection">;
  readonly clientOpErrors: Counter<"operation" | "vault_connection">;
  readonly clientOpTime: Histogram<"operation" | "vault_connection">;
  readonly rolloutRestarts: Counter<"namespace" | "kind" | "result">;
  readonly secretWrites: Counter<"controller" | "action">;
  readonly leaseRenewals: Counter<"result">;
  readonly leaseExpiry: Gauge<"namespace" | "name">;
  readonly leasesHeld: Gauge;
  readonly cacheStorageOps: Counter<"operation">;
  readonly cacheStorageOpErrors: Counter<"operation">;

  constructor(cfg: OperatorConfig) {
    const r = this.registry;
    collectDefaultMetrics({ register: r });
    new Gauge({
      name: "vso_build_info",
      help: "Build information of vso-ts.",
      labelNames: ["git_version", "platform", "runtime"],
      registers: [r],
    }).set(
      {
        git_version: VERSION,
        platform: `${process.platform}/${process.arch}`,
        runtime: `node${process.versions.node}`,
      },
      1,
    );
    new Gauge({
      name: "vso_runtime_config",
      help: "Runtime configuration of the operator.",
      labelNames: [
        "clientCacheSize",
        "clientCachePersistenceModel",
        "globalTransformationOptions",
        "maxConcurrentReconciles",
      ],
      registers: [r],
    }).set(
      {
        clientCacheSize: String(cfg.clientCacheSize),
        clientCachePersistenceModel: cfg.clientCachePersistenceModel,
        globalTransformationOptions: cfg.globalTransformationOptions.join(","),
        maxConcurrentReconciles: String(cfg.maxConcurrentReconciles),
      },
      1,
    );
    this.reconcileTotal = new Counter({
      name: "controller_runtime_reconcile_total",
      help: "Total number of reconciliations per controller.",
      labelNames: ["controller", "result"],
      registers: [r],
    });
    this.reconcileErrors = new Counter({
      name: "controller_runtime_reconcile_errors_total",
      help: "Total number of reconciliation errors per controller.",
      labelNames: ["controller"],
      registers: [r],
    });
    this.reconcileTime = new Histogram({
      name: "controller_runtime_reconcile_time_seconds",
      help: "Length of time per reconciliation per controller.",
      labelNames: ["controller"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [r],
    });
    this.maxConcurrentReconciles = new Gauge({
      name: "controller_runtime_max_concurrent_reconciles",
      help: "Maximum number of concurrent reconciles per controller.",
      labelNames: ["controller"],
      registers: [r],
    });
    this.workqueueDepth = new Gauge({
      name: "workqueue_depth",
      help: "Current depth of the work queue.",
      labelNames: ["name"],
      registers: [r],
    });
    // client-go's workqueue families, labelled by the controller's name as controller-runtime does.
    const queueBuckets = [0.00001, 0.0001, 0.001, 0.01, 0.1, 1, 10, 100, 1000];
    this.workqueueAdds = new Counter({
      name: "workqueue_adds_total",
      help: "Total number of adds handled by the work queue.",
      labelNames: ["name"],
      registers: [r],
    });
    this.workqueueRetries = new Counter({
      name: "workqueue_retries_total",
      help: "Total number of retries handled by the work queue.",
      labelNames: ["name"],
      registers: [r],
    });
    this.workqueueQueueDuration = new Histogram({
      name: "workqueue_queue_duration_seconds",
      help: "How long in seconds an item stays in the work queue before being requested.",
      labelNames: ["name"],
      buckets: queueBuckets,
      registers: [r],
    });
    this.workqueueWorkDuration = new Histogram({
      name: "workqueue_work_duration_seconds",
      help: "How long in seconds processing an item from the work queue takes.",
      labelNames: ["name"],
      buckets: queueBuckets,
      registers: [r],
    });
    this.resourceStatus = new Gauge({
      name: "controller_resource_status",
      help: "1 when the resource is healthy, 0 otherwise (all kinds, including VaultStaticSecret).",
      labelNames: ["controller", "name", "namespace"],
      registers: [r],
    });
    this.cacheHits = new Counter({
      name: "vso_client_cache_hits",
      help: "Vault client cache hits.",
      registers: [r],
    });
    this.cacheMisses = new Counter({
      name: "vso_client_cache_misses",
      help: "Vault client cache misses.",
      registers: [r],
    });
    this.cacheEvictions = new Gauge({
      name: "vso_client_cache_evictions",
      help: "Vault client cache evictions.",
      registers: [r],
    });
    this.cacheLength = new Gauge({
      name: "vso_client_cache_length",
      help: "Vault clients in the cache.",
      registers: [r],
    });
    new Gauge({ name: "vso_client_cache_size", help: "Vault client cache capacity.", registers: [r] }).set(
      cfg.clientCacheSize,
    );
    const opLabels = ["operation", "vault_connection"] as const;
    this.clientOps = new Counter({
      name: "vso_client_operations_total",
      help: "Vault client operations.",
      labelNames: opLabels,
      registers: [r],
    });
    this.clientOpErrors = new Counter({
      name: "vso_client_operations_errors_total",
      help: "Failed Vault client operations.",
      labelNames: opLabels,
      registers: [r],
    });
    this.clientOpTime = new Histogram({
      name: "vso_client_operations_time_seconds",
      help: "Duration of Vault client operations.",
      labelNames: opLabels,
      registers: [r],
    });
    this.rolloutRestarts = new Counter({
      name: "vso_rollout_restarts_total",
      help: "Rollout restarts triggered.",
      labelNames: ["namespace", "kind", "result"],
      registers: [r],
    });
    this.secretWrites = new Counter({
      name: "vso_destination_secret_writes_total",
      help: "Writes of destination Secrets (created, updated, recreated).",
      labelNames: ["controller", "action"],
      registers: [r],
    });
    this.leaseRenewals = new Counter({
      name: "vso_lease_renewals_total",
      help: "Lease renewals of VaultDynamicSecrets by result (success, truncated, refused).",
      labelNames: ["result"],
      registers: [r],
    });
    this.leaseExpiry = new Gauge({
      name: "vso_lease_expiration_timestamp_seconds",
      help: "When the lease held by a VaultDynamicSecret expires (Unix time); time to expiry is this minus time().",
      labelNames: ["namespace", "name"],
      registers: [r],
    });
    this.leasesHeld = new Gauge({
      name: "vso_leases_held",
      help: "Vault leases currently held by VaultDynamicSecrets of this operator.",
      registers: [r],
    });
    this.cacheStorageOps = new Counter({
      name: "vso_client_cache_storage_operations_total",
      help: "Client-cache persistence operations (store, restore, delete, prune, purge).",
      labelNames: ["operation"],
      registers: [r],
    });
    this.cacheStorageOpErrors = new Counter({
      name: "vso_client_cache_storage_operations_errors_total",
      help: "Failed client-cache persistence operations; a failed restore means the entry was unusable or unreachable.",
      labelNames: ["operation"],
      registers: [r],
    });
  }

  /** Client-cache persistence: store, restore (an entry was found), delete, prune (stale at start), purge. */
  clientCacheStorageMetrics() {
    return {
      operation: (op: string, ok: boolean) => {
        this.cacheStorageOps.inc({ operation: op });
        if (!ok) this.cacheStorageOpErrors.inc({ operation: op });
      },
    };
  }

  /** One finished reconcile, with controller-runtime's result label (success, error, requeue, requeue_after). */
  observeReconcile(controller: string, result: string, seconds: number): void {
    this.reconcileTotal.inc({ controller, result });
    if (result === "error") this.reconcileErrors.inc({ controller });
    this.reconcileTime.observe({ controller }, seconds);
    this.workqueueWorkDuration.observe({ name: controller }, seconds);
  }

  /** The work queue's reports for the controller `name`. */
  queueObserver(name: string) {
    return {
      added: () => this.workqueueAdds.inc({ name }),
      waited: (seconds: number) => this.workqueueQueueDuration.observe({ name }, seconds),
      retried: () => this.workqueueRetries.inc({ name }),
    };
  }

  clientFactoryMetrics() {
    return {
      hit: () => this.cacheHits.inc(),
      miss: () => this.cacheMisses.inc(),
      evicted: () => this.cacheEvictions.inc(),
      operation: (op: string, conn: string, ok: boolean, seconds: number) => {
        this.clientOps.inc({ operation: op, vault_connection: conn });
        if (!ok) this.clientOpErrors.inc({ operation: op, vault_connection: conn });
        this.clientOpTime.observe({ operation: op, vault_connection: conn }, seconds);
      },
    };
  }
}
