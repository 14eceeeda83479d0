// Leader election on a coordination.k8s.io Lease, as client-go's leaderelection
// does it: acquire when the lease is free or expired, renew every retry period,
// give up leadership when renewals fail for longer than the renew deadline,
// and release the lease on a clean shutdown so a successor starts at once.
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import {
  CORE,
  isAlreadyExists,
  isConflict,
  isNotFound,
  type KubeClient,
  type KubeObject,
} from "../kube/client.ts";
import { clampDelay } from "../util/timers.ts";

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

interface Lease extends KubeObject {
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

function microTime(d = new Date()): string {
  return d.toISOString().replace("Z", "000Z");
}

export class LeaderElector {
  private readonly kube: KubeClient;
  private readonly opts: LeaderElectionOptions;
  private readonly log: Logger;
  private stopped = false;
  private leading = false;
  private observedRenew = 0;
  private observedRecord = "";

  constructor(kube: KubeClient, opts: LeaderElectionOptions, log: Logger) {
    this.kube = kube;
    this.opts = opts;
    this.log = log;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** One attempt to acquire or renew; true when we hold the lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.opts;
    const now = new Date();
    const desired = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.opts.leaseDurationMs / 1000),
      renewTime: microTime(now),
    };
    let lease: Lease | null;
    try {
      lease = await this.kube.getOrNull<Lease>(CORE.leases, namespace, name);
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, "lease read failed");
      return false;
    }
    if (!lease) {
      try {
        await this.kube.create(CORE.leases, namespace, {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name },
          spec: { ...desired, acquireTime: microTime(now), leaseTransitions: 0 },
        });
        return true;
      } catch (err) {
        if (!isAlreadyExists(err)) this.log.debug({ err: (err as Error).message }, "lease create failed");
        return false;
      }
    }
    const spec = lease.spec ?? {};
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime]);
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedRenew = Date.now();
    }
    const holder = spec.holderIdentity ?? "";
    const expired = this.observedRenew + (spec.leaseDurationSeconds ?? 15) * 1000 < Date.now();
    if (holder !== "" && holder !== identity && !expired) return false;
    const takeover = holder !== identity;
    try {
      await this.kube.replace(CORE.leases, namespace, name, {
        ...lease,
        spec: {
          ...spec,
          ...desired,
          acquireTime: takeover ? microTime(now) : spec.acquireTime,
          leaseTransitions: (spec.leaseTransitions ?? 0) + (takeover && holder !== "" ? 1 : 0),
        },
      });
      return true;
    } catch (err) {
      if (!isConflict(err) && !isNotFound(err))
        this.log.debug({ err: (err as Error).message }, "lease update failed");
      return false;
    }
  }

  /** Waits until this process leads. Resolves false if stopped first. */
  async acquire(): Promise<boolean> {
    while (!this.stopped) {
      if (await this.tryAcquireOrRenew()) {
        this.leading = true;
        this.log.info(
          { lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity },
          "became leader",
        );
        return true;
      }
      await sleep(clampDelay(this.opts.retryPeriodMs * (1 + Math.random() * 0.2)));
    }
    return false;
  }

  /** Renews until renewals fail for longer than the renew deadline; then calls onLost. */
  async holdLeadership(onLost: () => void): Promise<void> {
    let lastOk = Date.now();
    while (!this.stopped) {
      await sleep(clampDelay(this.opts.retryPeriodMs));
      if (this.stopped) break;
      if (await this.tryAcquireOrRenew()) lastOk = Date.now();
      else if (Date.now() - lastOk > this.opts.renewDeadlineMs) {
        this.leading = false;
        this.log.error("lost leadership");
        onLost();
        return;
      }
    }
  }

  /** Stops renewing and releases the lease (holder cleared, 1 s duration). */
  async release(): Promise<void> {
    this.stopped = true;
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.kube.get<Lease>(CORE.leases, this.opts.namespace, this.opts.name);
      if (lease.spec?.holderIdentity !== this.opts.identity) return;
      await this.kube.replace(CORE.leases, this.opts.namespace, this.opts.name, {
        ...lease,
        spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: microTime() },
      });
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, "could not release the lease");
    }
  }
}
