// One operator process for reconcile tests, built from the fakes: the real
// OperatorContext (configuration, metrics, the real VaultClientFactory and
// VaultClient talking HTTP to FakeVault, event recorders, backoff) over
// FakeKube and its informer-like caches, and the real reconcilers of the three
// secret kinds with the harness clock injected. `restart()` gives a second
// process over the same cluster and Vault (a new factory: the tokens of the
// first are unknown to it), which is how an operator restart or a leader
// change looks to the reconcilers.
//
// Wiring a context by hand needs no production seam: FakeKube implements the
// KubeClient methods the reconcilers call (KubeSurface) and FakeInformer the
// MultiInformer methods they call (get, list, on); each is cast once, here.
import pino, { type Logger } from "pino";
import type { VaultConnection } from "../../src/api/index.ts";
import { CORE, type KubeClient, type KubeObject, type ResourceType } from "../../src/kube/client.ts";
import { BackoffRegistry } from "../../src/operator/backoff.ts";
import { parseOperatorConfig } from "../../src/operator/config.ts";
import { type Informers, makeRecorders, type OperatorContext } from "../../src/operator/context.ts";
import { VaultDynamicSecretReconciler } from "../../src/operator/kinds/dynamic/reconciler.ts";
import { VaultPKISecretReconciler } from "../../src/operator/kinds/pki/reconciler.ts";
import { VaultStaticSecretReconciler } from "../../src/operator/kinds/static/reconciler.ts";
import { OperatorMetrics } from "../../src/operator/metrics.ts";
import { VSO } from "../../src/operator/resources.ts";
import type { ReconcileResult } from "../../src/runtime/controller.ts";
import { VaultClientFactory } from "../../src/vault/client-factory.ts";
import { FakeClock } from "./clock.ts";
import { type FakeInformer, FakeKube } from "./fake-kube.ts";
import { FakeVault } from "./fake-vault.ts";

export const NS = "app";
export const AUTH = "default";
export const SERVICE_ACCOUNT = "app-sa";

type Secret = KubeObject & { type?: string; data?: Record<string, string> };

/** Anything whose engine reconciles one key (the three secret kinds' reconcilers). */
interface HasEngine {
  engine: {
    reconcile(
      key: { namespace: string; name: string },
      rc: { log: Logger; reconcileID: string },
    ): Promise<ReconcileResult | undefined>;
  };
}

export interface FakeInformers {
  connections: FakeInformer;
  auths: FakeInformer;
  authGlobals: FakeInformer;
  ownedSecrets: FakeInformer;
  staticSecrets: FakeInformer;
  dynamicSecrets: FakeInformer;
  pkiSecrets: FakeInformer;
  secretTransformations: FakeInformer;
}

const log = pino({ level: process.env.HARNESS_LOG ?? "silent" });
let reconciles = 0;

/** One operator process over a shared fake cluster, Vault and clock. */
export class OperatorProcess {
  readonly ctx: OperatorContext;
  readonly informers: FakeInformers;
  readonly staticSecrets: VaultStaticSecretReconciler;
  readonly dynamicSecrets: VaultDynamicSecretReconciler;
  readonly pkiSecrets: VaultPKISecretReconciler;

  constructor(env: { kube: FakeKube; clock: FakeClock; hmacKey: Buffer; args?: string[] }) {
    const { kube, clock } = env;
    const cfg = parseOperatorConfig(env.args ?? [], {});
    const k = kube as unknown as KubeClient;
    const inf = (rt: ResourceType, opts: { labelSelector?: string; metadataOnly?: boolean } = {}) =>
      kube.informer(rt, opts);
    this.informers = {
      connections: inf(VSO.VaultConnection),
      auths: inf(VSO.VaultAuth),
      authGlobals: inf(VSO.VaultAuthGlobal),
      ownedSecrets: inf(CORE.secrets, {
        metadataOnly: true,
        labelSelector: "app.kubernetes.io/managed-by=hashicorp-vso,secrets.hashicorp.com/vso-ownerRefUID",
      }),
      staticSecrets: inf(VSO.VaultStaticSecret),
      dynamicSecrets: inf(VSO.VaultDynamicSecret),
      pkiSecrets: inf(VSO.VaultPKISecret),
      secretTransformations: inf(VSO.SecretTransformation),
    };
    const i = this.informers;
    const informers: Informers = {
      connections: i.connections.asMultiInformer() as unknown as Informers["connections"],
      auths: i.auths.asMultiInformer() as unknown as Informers["auths"],
      authGlobals: i.authGlobals.asMultiInformer() as unknown as Informers["authGlobals"],
      ownedSecrets: i.ownedSecrets.asMultiInformer(),
      staticSecrets: i.staticSecrets.asMultiInformer(),
      dynamicSecrets: i.dynamicSecrets.asMultiInformer(),
      pkiSecrets: i.pkiSecrets.asMultiInformer(),
      secretTransformations: i.secretTransformations.asMultiInformer(),
      unserved: {},
    };
    const lookup = {
      vaultAuth: (ns: string, n: string) => informers.auths.get(ns, n),
      vaultAuthGlobal: (ns: string, n: string) => informers.authGlobals.get(ns, n),
      vaultConnection: (ns: string, n: string) => informers.connections.get(ns, n),
    };
    const metrics = new OperatorMetrics(cfg);
    this.ctx = {
      cfg,
      kube: k,
      log,
      metrics,
      clients: new VaultClientFactory(k, {
        size: cfg.clientCacheSize,
        userAgent: "vso-ts/harness",
        metrics: metrics.clientFactoryMetrics(),
        log,
      }),
      hmacKey: env.hmacKey,
      informers,
      lookup,
      backoff: new BackoffRegistry(cfg.backoff),
      recorder: makeRecorders(k, log),
    };
    this.staticSecrets = new VaultStaticSecretReconciler(this.ctx, clock.now);
    this.dynamicSecrets = new VaultDynamicSecretReconciler(this.ctx, clock.now);
    this.pkiSecrets = new VaultPKISecretReconciler(this.ctx, clock.now);
  }

  /** Stops the process: its Vault clients stop renewing (nothing is revoked, as at a real shutdown). */
  stop(): void {
    this.ctx.clients.close();
    for (const i of Object.values(this.informers) as FakeInformer[]) i.stop();
  }
}

/** A fake cluster, a fake Vault, one clock and a running operator process. */
export class Harness {
  readonly clock: FakeClock;
  readonly kube: FakeKube;
  readonly vault: FakeVault;
  readonly hmacKey = Buffer.alloc(32, 7);
  process: OperatorProcess;
  private readonly processes: OperatorProcess[] = [];

  private constructor(clock: FakeClock, kube: FakeKube, vault: FakeVault) {
    this.clock = clock;
    this.kube = kube;
    this.vault = vault;
    this.process = this.newProcess();
  }

  /** Starts the fakes and seeds a namespace's auth setup (ServiceAccount, VaultConnection, VaultAuth). */
  static async start(t?: { after(fn: () => unknown): void }): Promise<Harness> {
    const clock = new FakeClock();
    const kube = new FakeKube({ now: clock.now, resources: Object.values(VSO) });
    const vault = new FakeVault({ now: clock.now });
    await vault.start();
    kube.seed(CORE.serviceaccounts, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: SERVICE_ACCOUNT, namespace: NS },
    });
    kube.seed<VaultConnection>(VSO.VaultConnection, {
      apiVersion: "secrets.hashicorp.com/v1beta1",
      kind: "VaultConnection",
      metadata: { name: "default", namespace: NS },
      spec: { address: vault.address },
    });
    kube.seed(VSO.VaultAuth, {
      apiVersion: "secrets.hashicorp.com/v1beta1",
      kind: "VaultAuth",
      metadata: { name: AUTH, namespace: NS },
      spec: {
        vaultConnectionRef: "default",
        method: "kubernetes",
        mount: "kubernetes",
        kubernetes: { role: "app", serviceAccount: SERVICE_ACCOUNT },
      },
    } as KubeObject);
    const h = new Harness(clock, kube, vault);
    t?.after(() => h.close());
    return h;
  }

  private newProcess(): OperatorProcess {
    const p = new OperatorProcess({ kube: this.kube, clock: this.clock, hmacKey: this.hmacKey });
    this.processes.push(p);
    return p;
  }

  /** The operator restarts (or another replica takes the lead): same cluster and Vault, nothing in memory. */
  restart(): OperatorProcess {
    this.process.stop();
    this.process = this.newProcess();
    return this.process;
  }

  get ctx(): OperatorContext {
    return this.process.ctx;
  }

  /** One reconcile of `name` by a kind's reconciler (of the current process by default). */
  async reconcile(rec: HasEngine, name: string, namespace = NS): Promise<ReconcileResult | undefined> {
    const result = await rec.engine.reconcile({ namespace, name }, { log, reconcileID: `r${++reconciles}` });
    await settle();
    return result;
  }

  /** Creates a resource as `kubectl apply` would. */
  apply<T extends KubeObject>(rt: ResourceType, obj: T): T {
    return this.kube.seed(rt, { ...obj, metadata: { namespace: NS, ...obj.metadata } });
  }

  /** The destination Secret's data, decoded, or undefined when there is none. */
  secretData(name: string, namespace = NS): Record<string, string> | undefined {
    const s = this.kube.peek<Secret>(CORE.secrets, namespace, name);
    if (!s) return undefined;
    return Object.fromEntries(
      Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
    );
  }

  secret(name: string, namespace = NS): Secret | undefined {
    return this.kube.peek<Secret>(CORE.secrets, namespace, name);
  }

  /** Writes to the destination Secret through the API (create, update, patch; dry runs not counted). */
  secretWrites(name: string): number {
    return this.kube.calls.filter(
      (c) =>
        c.plural === "secrets" &&
        c.name === name &&
        !c.dryRun &&
        (c.verb === "create" || c.verb === "update" || c.verb === "patch" || c.verb === "delete"),
    ).length;
  }

  /** The reasons of the Events recorded for an object, oldest first. */
  events(name: string): { type: string; reason: string; message: string }[] {
    return this.kube
      .all<
        KubeObject & { involvedObject?: { name?: string }; type: string; reason: string; message: string }
      >(CORE.events, NS)
      .filter((e) => e.involvedObject?.name === name)
      .map((e) => ({ type: e.type, reason: e.reason, message: e.message }));
  }

  /**
   * What the client's heartbeat does every 5 s (real time) for a client that
   * holds credentials: lookup-self with its token; a dead token is replaced by
   * one login and its end announced to the factory. Done at once here.
   */
  async heartbeat(cacheKey: string | undefined): Promise<void> {
    const client = this.ctx.clients.clientForRevocation(cacheKey, undefined);
    if (!client) throw new Error(`no Vault client under ${cacheKey}`);
    await client.request("GET", "auth/token/lookup-self");
  }

  async close(): Promise<void> {
    for (const p of this.processes) p.stop();
    await this.vault.stop();
  }
}

/** Lets fire-and-forget work (Events) land. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
