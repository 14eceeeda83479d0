// Leader election on a coordination.k8s.io Lease, as client-go's leaderelection
// does it: acquire when the lease is free or expired; while leading, renew every
// retry period, each renewal (its retries included) bounded by the renew
// deadline, with every request aborted when the deadline passes; give
// leadership up as soon as a renewal misses it, before a standby may take the
// lease over (the lease duration is longer); and release the lease on a clean
// shutdown so a successor starts at once.
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { isAlreadyExists, isConflict, isNotFound } from "../kube/client.ts";
import { clampDelay } from "../util/timers.ts";
import type { Lease, LeaseApi } from "./lease-api.ts";

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** client-go's JitterFactor: acquire retries wait 1 to 1.2 retry periods. */
const JITTER_FACTOR = 1.2;

/** client-go's checks of the three durations, with the flags' names. */
export function validateLeaderElection(
  o: Pick<LeaderElectionOptions, "leaseDurationMs" | "renewDeadlineMs" | "retryPeriodMs">,
): void {
  const flags =
    "--leader-election-lease-duration, --leader-election-renew-deadline, --leader-election-retry-period";
  if (!(o.leaseDurationMs > 0 && o.renewDeadlineMs > 0 && o.retryPeriodMs > 0))
    throw new Error(`${flags} must all be greater than zero`);
  if (o.leaseDurationMs <= o.renewDeadlineMs)
    throw new Error("--leader-election-lease-duration must be greater than --leader-election-renew-deadline");
  if (o.renewDeadlineMs <= JITTER_FACTOR * o.retryPeriodMs)
    throw new Error(
      `--leader-election-renew-deadline must be greater than ${JITTER_FACTOR} x --leader-election-retry-period`,
    );
}

function microTime(d: Date): string {
  return d.toISOString().replace("Z", "000Z");
}

/** Sleeps `ms`; resolves early (never rejects) when `signal` aborts. */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
  await sleep(clampDelay(ms), undefined, { signal }).catch(() => {});
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class LeaderElector {
  private readonly leases: LeaseApi;
  private readonly opts: LeaderElectionOptions;
  private readonly log: Logger;
  /** Aborted by release(): ends every wait and in-flight request of this elector. */
  private readonly stopping = new AbortController();
  private leading = false;
  private observedRenew = 0;
  private observedRecord = "";

  constructor(leases: LeaseApi, opts: LeaderElectionOptions, log: Logger) {
    validateLeaderElection(opts);
    this.leases = leases;
    this.opts = opts;
    this.log = log;
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /**
   * One attempt to acquire or renew; true when we hold the lease afterwards.
   * `signal` aborts its requests (the attempt then fails).
   */
  async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const { identity } = this.opts;
    const now = new Date();
    const desired = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.opts.leaseDurationMs / 1000),
      renewTime: microTime(now),
    };
    let lease: Lease | null;
    try {
      lease = await this.leases.get(signal);
    } catch (err) {
      this.log.debug({ err: message(err) }, "lease read failed");
      return false;
    }
    if (!lease) {
      try {
        await this.leases.create(
          {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: { name: this.opts.name, namespace: this.opts.namespace },
            spec: { ...desired, acquireTime: microTime(now), leaseTransitions: 0 },
          },
          signal,
        );
        return true;
      } catch (err) {
        if (!isAlreadyExists(err)) this.log.debug({ err: message(err) }, "lease create failed");
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
      await this.leases.replace(
        {
          ...lease,
          spec: {
            ...spec,
            ...desired,
            acquireTime: takeover ? microTime(now) : spec.acquireTime,
            leaseTransitions: (spec.leaseTransitions ?? 0) + (takeover && holder !== "" ? 1 : 0),
          },
        },
        signal,
      );
      return true;
    } catch (err) {
      if (!isConflict(err) && !isNotFound(err)) this.log.debug({ err: message(err) }, "lease update failed");
      return false;
    }
  }

  /** Waits until this process leads. Resolves false if stopped first. */
  async acquire(): Promise<boolean> {
    while (!this.stopped) {
      // One attempt may not outlast the renew deadline either: a stalled server is tried again.
      const attempt = AbortSignal.any([this.stopping.signal, AbortSignal.timeout(this.opts.renewDeadlineMs)]);
      if ((await this.tryAcquireOrRenew(attempt)) && !this.stopped) {
        this.leading = true;
        this.log.info(
          { lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity },
          "became leader",
        );
        return true;
      }
      await pause(this.opts.retryPeriodMs * (1 + Math.random() * (JITTER_FACTOR - 1)), this.stopping.signal);
    }
    return false;
  }

  /**
   * Tries to renew, again every retry period, until an attempt succeeds (true)
   * or the renew deadline passes (false). The deadline aborts the attempt in
   * flight, so this returns by the deadline however slow the server is.
   */
  async renew(): Promise<boolean> {
    const deadline = AbortSignal.any([this.stopping.signal, AbortSignal.timeout(this.opts.renewDeadlineMs)]);
    while (!deadline.aborted) {
      if (await this.tryAcquireOrRenew(deadline)) return !deadline.aborted;
      await pause(this.opts.retryPeriodMs, deadline);
    }
    return false;
  }

  /**
   * While leading: renews every retry period. When a renewal misses the renew
   * deadline, leadership is given up at once (no later renewal is tried, the
   * lease is not released: it may be another's already) and `onLost` is called;
   * the caller must stop all work. Returns when stopped or lost.
   */
  async holdLeadership(onLost: () => void): Promise<void> {
    while (!this.stopped) {
      await pause(this.opts.retryPeriodMs, this.stopping.signal);
      if (this.stopped) return;
      const renewed = await this.renew();
      if (this.stopped) return;
      if (!renewed) {
        this.leading = false;
        this.stopping.abort();
        this.log.error(
          {
            lease: `${this.opts.namespace}/${this.opts.name}`,
            identity: this.opts.identity,
            renewDeadlineSeconds: this.opts.renewDeadlineMs / 1000,
          },
          "leader election lost: the lease was not renewed within the renew deadline",
        );
        onLost();
        return;
      }
    }
  }

  /**
   * Stops renewing and releases the lease (holder cleared, 1 s duration) so a
   * successor leads at once; gives up when `signal` aborts.
   */
  async release(signal: AbortSignal): Promise<void> {
    this.stopping.abort();
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.leases.get(signal);
      if (lease?.spec?.holderIdentity !== this.opts.identity) return;
      await this.leases.replace(
        {
          ...lease,
          spec: {
            ...lease.spec,
            holderIdentity: "",
            leaseDurationSeconds: 1,
            renewTime: microTime(new Date()),
          },
        },
        signal,
      );
    } catch (err) {
      this.log.warn({ err: message(err) }, "could not release the lease");
    }
  }
}
