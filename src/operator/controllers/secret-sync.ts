// The sync pipeline shared by the secret kinds (VaultStaticSecret,
// VaultDynamicSecret, VaultPKISecret). One reconcile reads in five steps:
//   gather (the cached object, the freshest status we wrote, the live
//   destination) -> decide (the kind's pure decisions, with a reason) -> act
//   -> report (conditions, Events, metrics, log) -> schedule (the requeue).
// Acting on a decision to deliver new data is always the same sequence:
//   resolve client -> preconditions -> fetch/issue -> build data -> write
//   destination -> restart targets -> commit status,
// with the credential rules built in, so no kind can skip one:
// - preconditions before anything is requested from Vault: the destination's
//   ownership, name and shape (a server-side dry run), the transformation,
//   an issue hold, and the finalizer that makes a deletion revoke;
// - a credential is recorded in status.pendingRevocations ("Issued") before
//   any later step can fail; if a later step fails it is revoked at once
//   ("Unused") and the same inputs get no new one, not even after a restart
//   (issue-hold.ts: the hold is a status field, status.issueHold);
// - the status is committed only after the step it records succeeded.
// The kind supplies the small part: what to fetch, what it decides, what it
// records. Failures of any step end in one place (`failed`): a condition and
// an Event through describeFailure, the log at error level, and the typed
// outcome the work queue acts on.
import type { Logger } from "pino";
import type { Destination, PendingRevocation, RolloutRestartTarget } from "../../api/index.ts";
import { EventReason, OwnerLabel } from "../../api/index.ts";
import {
  CORE,
  isAlreadyExists,
  KubeApiError,
  type KubeObject,
  type ResourceType,
} from "../../kube/client.ts";
import type { Condition } from "../../runtime/conditions.ts";
import type { ReconcileContext, ReconcileResult } from "../../runtime/controller.ts";
import type { MultiInformer } from "../../runtime/multi-informer.ts";
import { setClampedTimeout } from "../../util/timers.ts";
import type { VaultClient } from "../../vault/client.ts";
import {
  ensureFinalizer,
  errorMessage,
  type OperatorContext,
  removeFinalizer,
  StatusMemory,
  updateStatus,
} from "../context.ts";
import {
  confirmDelivered,
  dueRevocations,
  permanentRefusal,
  type RevocationEvents,
  recordIssued,
  recordUnused,
  revokeAndReport,
} from "../credential-ledger.ts";
import {
  checkDestinationWritable,
  isOwnedBy,
  type Owner,
  pruneOrphans,
  type SecretObject,
  writeDestination,
} from "../destination.ts";
import { macEqual, secretDataMAC } from "../hmac.ts";
import { heldIssue, holdIssue, issueInputs, releaseHold } from "../issue-hold.ts";
import { nextLookMs } from "../kinds/dynamic/decisions.ts";
import type { DestinationState } from "../kinds/static/decisions.ts";
import { buildSecretData, fromSecretData } from "../secret-data.ts";
import { tokenUsers } from "../token-users.ts";
import {
  describeFailure,
  type ErrorClass,
  ownerKeyOfSecretEvent,
  restartWorkloads,
  syncConditions,
  vaultClientFor,
} from "./common.ts";
import { checkTransformation, renderTransformation } from "./transformation.ts";

/** The status fields the pipeline reads and writes; each kind's status has them. */
export interface SyncStatus {
  lastGeneration: number;
  secretMAC?: string;
  pendingRevocations?: PendingRevocation[];
  conditions?: Condition[];
}

/** A secret kind's resource as the pipeline sees it. */
export type SecretResource<S extends SyncStatus> = KubeObject & {
  apiVersion?: string;
  spec: {
    vaultAuthRef?: string;
    namespace?: string;
    destination: Destination;
    rolloutRestartTargets?: RolloutRestartTarget[];
    revoke?: boolean;
  };
  status?: S;
};

/** The kind's own part of the pipeline. */
export interface SecretKind<O extends SecretResource<S>, S extends SyncStatus> {
  kind: string;
  /** The controller's name (metrics, logs). */
  controller: string;
  resource: ResourceType;
  finalizer: string;
  informer(ctx: OperatorContext): MultiInformer<O>;
  emptyStatus(): S;
  /** How a failure's Event starts: "Failed to <verb>: <message>". */
  failureVerb: string;
  errorClass(err: unknown): ErrorClass;
  /** The status of a failed sync besides its conditions (PKI also sets valid and error). */
  failedStatus?(status: S, message: string): S;
  /** The kind's reconcile of a live resource: gather, decide, then act (`deliver` for new data). */
  sync(run: SyncRun<O, S>): Promise<ReconcileResult | undefined>;
  /** Credentials the kind obtains: how each is revoked, and which one is current. */
  credentials?: {
    events: RevocationEvents;
    revoke(client: VaultClient, vaultNs: string | undefined, obj: O, id: string): Promise<void>;
    current(status: S): string | undefined;
    /** On delete, how long Vault may be retried before the resource is let go anyway (default: no limit). */
    giveUpOnDeleteAfterMs?: number;
  };
  /** Extra work on delete once credentials are revoked (PKI clears a create:false destination). */
  onDelete?(run: SyncRun<O, S>): Promise<ReconcileResult | undefined>;
  /** Drops the kind's own memory of a resource. */
  forget?(key: string): void;
}

/** One reconcile of one resource. */
export interface SyncRun<O extends SecretResource<S>, S extends SyncStatus> {
  obj: O;
  /** "namespace/name". */
  key: string;
  owner: Owner;
  generation: number;
  /** The working copy of the status, built on the freshest one we wrote. */
  status: S;
  /** Labels or annotations changed since the last successful reconcile. */
  metaChanged: boolean;
  /** A digest of the labels and annotations. */
  metaHash: string;
  log: Logger;
  /** The logged-in Vault client and Vault namespace (resolved once, on first use). */
  client(): Promise<{ client: VaultClient; vaultNs: string | undefined }>;
}

/** What Vault returned, ready to become Secret data. */
export interface Fetched {
  secrets: Record<string, unknown>;
  /** The response body stored under _raw. */
  raw: unknown;
  /** Template `.Metadata`. */
  metadata?: Record<string, unknown>;
  /** The credential Vault issued (a lease, a serial): recorded before anything else can fail. */
  credential?: string;
  /** Fields written when no template renders (a certificate's tls.crt/tls.key/ca.crt). */
  defaultFields?: Record<string, string>;
}

/** The kind's part of one delivery of new data. */
export interface Delivery<S extends SyncStatus> {
  /**
   * Why the destination is written (logged with the write): a reason, or a
   * decision on the built data that returns one, or undefined when the
   * destination holds that data already.
   */
  write: string | ((data: Record<string, Buffer>) => string | undefined);
  /** The live destination Secret if this reconcile read it already (else it is read when needed). */
  existing?: SecretObject | null;
  /** Requests may obtain a credential: check every precondition first and honour issue holds. */
  issues: boolean;
  fetch(client: VaultClient, vaultNs: string | undefined): Promise<Fetched>;
  /** Refuses a response that must not be delivered (its credential is then revoked at once). */
  check?(fetched: Fetched): void;
  /** Records the delivery in `status` (the step succeeded); says whether workloads restart. */
  record(
    status: S,
    delivered: { fetched: Fetched; data: Record<string, Buffer>; wrote: boolean; client: VaultClient },
  ): Promise<{ restart: boolean }> | { restart: boolean };
  /**
   * When to look again, once the delivery is committed. `backoff` is the
   * kind's exponential backoff for a result that must not loop (its growth is
   * kept); any other success resets it.
   */
  schedule(status: S, backoff: () => number | undefined): ReconcileResult | undefined;
}

function metaHashOf(o: KubeObject): string {
  return JSON.stringify([o.metadata.labels ?? {}, o.metadata.annotations ?? {}]);
}

export class SecretSync<O extends SecretResource<S>, S extends SyncStatus> {
  readonly ctx: OperatorContext;
  readonly kind: SecretKind<O, S>;
  /** The clock (injectable for tests). */
  readonly now: () => number;
  private readonly statuses = new StatusMemory<S>();
  /** resourceVersion of the destination Secret as we last wrote or verified it, per resource key. */
  private readonly lastSeenRV = new Map<string, string>();
  /** Labels and annotations at the last successful reconcile, to detect ForceSync. */
  private readonly metaSeen = new Map<string, string>();

  constructor(ctx: OperatorContext, kind: SecretKind<O, S>, now: () => number = Date.now) {
    this.ctx = ctx;
    this.kind = kind;
    this.now = now;
  }

  private get informer(): MultiInformer<O> {
    return this.kind.informer(this.ctx);
  }

  observed(obj: KubeObject): void {
    this.statuses.settle(`${obj.metadata.namespace}/${obj.metadata.name}`, obj);
  }

  ownerOfSecretEvent(secret: KubeObject, deleted: boolean): string | undefined {
    const candidates = this.informer.list(secret.metadata.namespace ?? "");
    return ownerKeyOfSecretEvent(candidates, secret, deleted, this.lastSeenRV);
  }

  async reconcile(
    key: { namespace: string; name: string },
    rc: ReconcileContext,
  ): Promise<ReconcileResult | undefined> {
    const k = `${key.namespace}/${key.name}`;
    const cached = this.informer.get(key.namespace, key.name);
    if (!cached) {
      this.forget(k);
      this.ctx.metrics.resourceStatus.remove({
        controller: this.kind.controller,
        name: key.name,
        namespace: key.namespace,
      });
      return undefined;
    }
    // The reconcile's working copy (finalizers and status change on it); the cached object is never changed.
    const obj: O = { ...cached, metadata: { ...cached.metadata }, status: this.statuses.freshest(k, cached) };
    const run = this.newRun(obj, k, rc.log);
    if (obj.metadata.deletionTimestamp) return await this.finalize(run);
    try {
      return await this.kind.sync(run);
    } catch (err) {
      return await this.failed(run, err);
    }
  }

  private newRun(obj: O, key: string, log: Logger): SyncRun<O, S> {
    const metaHash = metaHashOf(obj);
    const prevMeta = this.metaSeen.get(key);
    let resolved: Promise<{ client: VaultClient; vaultNs: string | undefined }> | undefined;
    return {
      obj,
      key,
      owner: {
        apiVersion: obj.apiVersion ?? "secrets.hashicorp.com/v1beta1",
        kind: this.kind.kind,
        name: obj.metadata.name ?? "",
        namespace: obj.metadata.namespace ?? "",
        uid: obj.metadata.uid ?? "",
      },
      generation: obj.metadata.generation ?? 0,
      status: structuredClone(obj.status ?? this.kind.emptyStatus()),
      metaChanged: prevMeta !== undefined && prevMeta !== metaHash,
      metaHash,
      log,
      client: () => {
        resolved ??= vaultClientFor(this.ctx, obj.metadata.namespace ?? "", obj.spec.vaultAuthRef).then(
          ({ client, resolved: auth }) => ({ client, vaultNs: obj.spec.namespace || auth.spec.namespace }),
        );
        return resolved;
      },
    };
  }

  private forget(k: string): void {
    this.statuses.forget(k);
    this.lastSeenRV.delete(k);
    this.metaSeen.delete(k);
    this.ctx.backoff.reset(this.kind.controller, k);
    this.kind.forget?.(k);
  }

  /** Writes the run's status and remembers it (only once written, so memory never runs ahead of the server). */
  async commit(run: SyncRun<O, S>): Promise<void> {
    // A copy becomes the object's status: the run goes on changing its own
    // (a shared object would compare equal and never be written).
    const status = structuredClone(run.status);
    const rv = await updateStatus(this.ctx.kube, this.kind.resource, run.obj, status);
    if (rv === undefined) return;
    run.obj.status = status;
    this.statuses.remember(run.key, run.obj.metadata.uid, rv, status);
  }

  /** A reconcile that ended well: the health metric, the backoff and the labels seen. */
  succeeded(
    run: SyncRun<O, S>,
    result: ReconcileResult | undefined,
    opts: { resetBackoff: boolean } = { resetBackoff: true },
  ): ReconcileResult | undefined {
    if (opts.resetBackoff) this.ctx.backoff.reset(this.kind.controller, run.key);
    else this.ctx.backoff.clearConfig(this.kind.controller, run.key);
    this.metaSeen.set(run.key, run.metaHash);
    this.ctx.metrics.resourceStatus.set(
      { controller: this.kind.controller, name: run.owner.name, namespace: run.owner.namespace },
      1,
    );
    return result;
  }

  /** Milliseconds until `untilMs` or the next pending revocation, whichever comes first. */
  nextLook(run: SyncRun<O, S>, untilMs: number | undefined): number | undefined {
    return nextLookMs(this.now(), untilMs, run.status.pendingRevocations);
  }

  /**
   * The live destination compared with what this resource last wrote (by
   * status.secretMAC). With create: true the owned-Secret informer tells
   * cheaply whether it is still the Secret we last wrote or verified; else it
   * is read (and returned, for a write that follows).
   */
  async destinationState(
    run: SyncRun<O, S>,
    opts: { presumeAbsent?: boolean } = {},
  ): Promise<{ state: DestinationState; live?: SecretObject | null }> {
    const dest = run.obj.spec.destination;
    const meta = dest.create
      ? this.ctx.informers.ownedSecrets.get(run.owner.namespace, dest.name)
      : undefined;
    if (meta && meta.metadata.resourceVersion === this.lastSeenRV.get(run.key)) return { state: "current" };
    // A Secret we would own is in the cache; one the cache lacks is most likely
    // absent. A caller that issues nothing may act on that: the create finds out
    // otherwise (AlreadyExists) and the Secret is read then (see write). One GET
    // less for every new destination.
    if (dest.create && !meta && opts.presumeAbsent) return { state: "missing", live: null };
    const live = await this.readDestination(run);
    if (!live) return { state: "missing", live };
    const sameData = macEqual(
      secretDataMAC(this.ctx.hmacKey, fromSecretData(live.data)),
      run.status.secretMAC,
    );
    const sameShape =
      !dest.create || (isOwnedBy(live, run.owner) && (live.type || "Opaque") === (dest.type || "Opaque"));
    if (!sameData || !sameShape) return { state: "drifted", live };
    this.lastSeenRV.set(run.key, live.metadata.resourceVersion ?? "");
    return { state: "current", live };
  }

  readDestination(run: SyncRun<O, S>): Promise<SecretObject | null> {
    return this.ctx.kube.getOrNull<SecretObject>(
      CORE.secrets,
      run.owner.namespace,
      run.obj.spec.destination.name,
    );
  }

  /**
   * Delivers new data: resolve client -> preconditions -> fetch/issue ->
   * build data -> write destination -> restart targets -> commit status.
   */
  async deliver(run: SyncRun<O, S>, d: Delivery<S>): Promise<ReconcileResult | undefined> {
    const { ctx } = this;
    const { client, vaultNs } = await run.client();
    let existing = d.existing;
    // null is a read that found no Secret: only an unread destination (undefined) is read here.
    const live = async () => {
      if (existing === undefined) existing = await this.readDestination(run);
      return existing;
    };
    const inputs = d.issues ? await this.preconditions(run, await live()) : undefined;
    run.obj.metadata.finalizers = await ensureFinalizer(
      ctx.kube,
      this.kind.resource,
      run.obj,
      this.kind.finalizer,
    );

    const fetched = await d.fetch(client, vaultNs);
    if (fetched.credential) await this.recordObtained(run, fetched.credential);
    let data: Record<string, Buffer>;
    let wrote = false;
    try {
      d.check?.(fetched);
      data = await this.build(run, fetched);
      const writeReason = typeof d.write === "string" ? d.write : d.write(data);
      if (writeReason !== undefined) {
        await this.write(run, data, await live(), writeReason);
        wrote = true;
      }
    } catch (err) {
      const cls = this.kind.errorClass(err);
      const hold =
        inputs !== undefined && (cls === "config" || (err instanceof KubeApiError && err.status === 422));
      // The hold goes into the status with the revocation, so a restart honours it too.
      if (hold) holdIssue(run.status, inputs, err, run.generation);
      if (fetched.credential) await this.discard(run, fetched.credential);
      if (hold)
        await this.commit(run).catch((e) => run.log.warn({ err: errorMessage(e) }, "status update failed"));
      throw err;
    }
    releaseHold(run.status);

    const { status } = run;
    if (fetched.credential)
      status.pendingRevocations = confirmDelivered(status.pendingRevocations, fetched.credential);
    const { restart } = await d.record(status, { fetched, data, wrote, client });
    if (restart) {
      status.conditions = await restartWorkloads(
        ctx,
        this.kind.kind,
        run.obj,
        run.obj.spec.rolloutRestartTargets ?? [],
        status.conditions,
        run.log,
      );
    }
    await this.commit(run);
    await this.pruneOld(run);
    let backingOff = false;
    const result = d.schedule(status, () => {
      backingOff = true;
      return ctx.backoff.next(this.kind.controller, run.key);
    });
    return this.succeeded(run, result, { resetBackoff: !backingOff });
  }

  /**
   * Everything that can fail without the credentials, checked before Vault is
   * asked: the destination (ownership; name, labels and type through a dry
   * run), the transformation, and an issue hold on these very inputs. Returns
   * the inputs' digest for the hold.
   */
  private async preconditions(run: SyncRun<O, S>, existing: SecretObject | null): Promise<string> {
    const dest = run.obj.spec.destination;
    // A destination this resource wrote for the same generation needs no dry run: its shape was accepted.
    const shapeAccepted =
      run.status.lastGeneration === run.generation && existing !== null && isOwnedBy(existing, run.owner);
    await checkDestinationWritable(this.ctx.kube, run.owner, dest, existing, shapeAccepted);
    const transformation = await checkTransformation(this.ctx, run.obj, dest.transformation);
    const inputs = issueInputs([run.generation, run.metaHash, transformation]);
    const held = heldIssue(run.status, inputs);
    if (held) throw held;
    // Changed inputs lift a hold (committed with the next status write).
    releaseHold(run.status);
    return inputs;
  }

  /**
   * Records a credential Vault just handed out, before anything else can
   * fail. If even that write fails, it is revoked at once: nothing else knows it.
   */
  private async recordObtained(run: SyncRun<O, S>, id: string): Promise<void> {
    const { status } = run;
    status.pendingRevocations = recordIssued(status.pendingRevocations, id, Math.floor(this.now() / 1000));
    try {
      await this.commit(run);
    } catch (err) {
      const { client, vaultNs } = await run.client();
      await this.kind.credentials?.revoke(client, vaultNs, run.obj, id).catch(() => {});
      throw err;
    }
  }

  /** A credential that will never be delivered: revoke it now; if that fails it stays recorded for the next look. */
  private async discard(run: SyncRun<O, S>, id: string): Promise<void> {
    run.status.pendingRevocations = recordUnused(
      run.status.pendingRevocations,
      id,
      Math.floor(this.now() / 1000),
    );
    await this.revokeDue(run, false).catch((err) =>
      run.log.warn({ err: errorMessage(err) }, "unused credential recorded, revocation pending"),
    );
  }

  /**
   * Revokes the recorded credentials that are due (all of them when `all`),
   * reports each outcome, and commits what is left. Returns whether nothing
   * failed for a reason a retry could cure. A credential Vault refuses to
   * revoke for good is dropped with a warning.
   */
  async revokeDue(run: SyncRun<O, S>, all: boolean): Promise<boolean> {
    const creds = this.kind.credentials;
    const due = dueRevocations(run.status.pendingRevocations, Math.floor(this.now() / 1000), all);
    if (!creds || due.length === 0) return true;
    const { client, vaultNs } = await this.revocationClient(run);
    const out = await revokeAndReport(
      run.obj,
      this.ctx.recorder(this.kind.kind),
      creds.events,
      run.status.pendingRevocations,
      due,
      (id) => creds.revoke(client, vaultNs, run.obj, id),
      run.log,
    );
    if (!out) return true;
    run.status.pendingRevocations = out.remaining;
    await this.commit(run);
    return out.ok;
  }

  /**
   * The client to revoke with: the resource's own, or, when its VaultAuth,
   * VaultConnection or service account is gone already (a namespace deleted
   * whole deletes them in any order), the client that obtained what it holds,
   * which this process keeps while that token lives (issue 18).
   */
  private async revocationClient(
    run: SyncRun<O, S>,
  ): Promise<{ client: VaultClient; vaultNs: string | undefined }> {
    try {
      return await run.client();
    } catch (err) {
      const meta = (run.status as { vaultClientMeta?: { cacheKey?: string; id?: string } }).vaultClientMeta;
      const kept = this.ctx.clients.clientForRevocation(meta?.cacheKey, meta?.id);
      if (!kept) throw err;
      run.log.info(
        { err: errorMessage(err) },
        "references gone; revoking with the client that obtained the credentials",
      );
      return { client: kept, vaultNs: run.obj.spec.namespace || kept.vaultNamespace };
    }
  }

  private async build(run: SyncRun<O, S>, f: Fetched): Promise<Record<string, Buffer>> {
    const tr = run.obj.spec.destination.transformation;
    const rendered = await renderTransformation(this.ctx, run.obj, tr, f.secrets, f.metadata ?? {});
    return buildSecretData({
      secrets: f.secrets,
      raw: f.raw,
      filter: rendered.filter,
      excludeRaw: Boolean(tr?.excludeRaw) || this.ctx.cfg.globalTransformationOptions.includes("exclude-raw"),
      rendered: rendered.values ?? f.defaultFields,
    });
  }

  private async write(
    run: SyncRun<O, S>,
    data: Record<string, Buffer>,
    existing: SecretObject | null,
    reason: string,
  ): Promise<void> {
    const dest = run.obj.spec.destination;
    let written: Awaited<ReturnType<typeof writeDestination>>;
    try {
      written = await writeDestination(this.ctx.kube, run.owner, dest, data, existing);
    } catch (err) {
      if (existing !== null || !isAlreadyExists(err)) throw err;
      // Created since it was read, or presumed absent from the cache and not:
      // the live Secret decides (ownership, overwrite, type) as if read first.
      written = await writeDestination(this.ctx.kube, run.owner, dest, data, await this.readDestination(run));
    }
    this.lastSeenRV.set(run.key, written.secret.metadata.resourceVersion ?? "");
    this.ctx.metrics.secretWrites.inc({ controller: this.kind.controller, action: written.action });
    run.log.info({ secret: dest.name, action: written.action, reason }, `Secret ${written.action}`);
  }

  /** Deletes Secrets this resource created under an earlier destination.name. */
  private async pruneOld(run: SyncRun<O, S>): Promise<void> {
    const name = run.obj.spec.destination.name;
    const stale = this.ctx.informers.ownedSecrets
      .list(run.owner.namespace)
      .filter(
        (s) => s.metadata.labels?.[OwnerLabel.OwnerRefUID] === run.owner.uid && s.metadata.name !== name,
      );
    if (stale.length === 0) return;
    const pruned = await pruneOrphans(this.ctx.kube, run.owner, name, stale);
    if (pruned.length === 0) return;
    this.ctx
      .recorder(this.kind.kind)
      .normal(run.obj, EventReason.SecretSynced, `Deleted orphaned Secret(s) ${pruned.join(", ")}`);
    run.log.info({ secrets: pruned }, "orphaned Secrets deleted");
  }

  /**
   * On delete: every recorded credential that is not current is revoked
   * whatever spec.revoke says (nobody holds it, or it was replaced under
   * revoke: true); the current one when spec.revoke is set. Vault being
   * unreachable keeps the finalizer (up to the kind's limit), so no credential
   * is let go unrevoked; a configuration error or a refusal for good cannot be
   * cured by waiting and lets the resource go with a warning.
   */
  private async finalize(run: SyncRun<O, S>): Promise<ReconcileResult | undefined> {
    const { ctx, kind } = this;
    if (!(run.obj.metadata.finalizers ?? []).includes(kind.finalizer)) {
      this.forget(run.key);
      return undefined;
    }
    const creds = kind.credentials;
    const current = creds?.current(run.status);
    if (run.obj.spec.revoke && current) {
      run.status.pendingRevocations = recordUnused(run.status.pendingRevocations, current, 0);
    }
    if (creds && (run.status.pendingRevocations ?? []).length > 0) {
      let failure: unknown;
      try {
        if (!(await this.revokeDue(run, true))) failure = new Error("Vault did not answer");
      } catch (err) {
        failure = err;
      }
      if (failure !== undefined) {
        const deletedAt = Date.parse(String(run.obj.metadata.deletionTimestamp ?? ""));
        const waited = Number.isNaN(deletedAt) ? 0 : this.now() - deletedAt;
        const hopeless = kind.errorClass(failure) === "config" || permanentRefusal(failure);
        if (!hopeless && waited < (creds.giveUpOnDeleteAfterMs ?? Number.POSITIVE_INFINITY)) {
          run.log.info({ err: errorMessage(failure) }, "revocation on delete failed; will retry");
          return { requeueAfterMs: ctx.backoff.next(kind.controller, run.key) };
        }
        const left = (run.status.pendingRevocations ?? []).map((e) => e.id).join(", ");
        ctx
          .recorder(kind.kind)
          .warning(
            run.obj,
            creds.events.failedReason,
            `Credentials ${left} were not revoked; letting the resource go (${errorMessage(failure)})`,
          );
        run.log.error({ err: errorMessage(failure) }, "credentials not revoked on delete");
      }
    }
    const after = await kind.onDelete?.(run);
    if (after) return after;
    await removeFinalizer(ctx.kube, kind.resource, run.obj, kind.finalizer);
    this.forget(run.key);
    this.releaseTokenIfUnused(run);
    return undefined;
  }

  /**
   * The resource is gone: a retired token that nothing else obtained
   * credentials with is revoked. Resources still finalizing with the same
   * token (a namespace deleted whole) revoke theirs first: the check is
   * repeated while one of them holds its finalizer, up to half a minute.
   */
  private releaseTokenIfUnused(run: SyncRun<O, S>, attempt = 0): void {
    const id = (run.status as { vaultClientMeta?: { id?: string } }).vaultClientMeta?.id;
    if (!id) return;
    const users = tokenUsers(this.ctx.informers, id).filter((o) => o.metadata.uid !== run.owner.uid);
    if (users.length === 0) {
      void this.ctx.clients.releaseRetired(id);
      return;
    }
    if (attempt < 15 && users.every((o) => o.metadata.deletionTimestamp)) {
      setClampedTimeout(() => this.releaseTokenIfUnused(run, attempt + 1), 2_000);
    }
  }

  /**
   * A failed reconcile: the condition and a Warning Event name the field and
   * the class of the error, the destination keeps whatever it holds, and the
   * queue owns the retry. Pending revocations still bring the resource back
   * when they fall due.
   */
  private async failed(run: SyncRun<O, S>, err: unknown): Promise<ReconcileResult> {
    const { ctx, kind } = this;
    // Build on the last status written: it holds every credential recorded during the attempt.
    const base = structuredClone(run.obj.status ?? kind.emptyStatus());
    const cls = kind.errorClass(err);
    const { message, reason } = describeFailure(cls, err);
    ctx.recorder(kind.kind).warning(run.obj, reason, `Failed to ${kind.failureVerb}: ${message}`);
    const status = kind.failedStatus?.(base, message) ?? base;
    status.conditions = syncConditions(status.conditions, kind.kind, false, message, run.generation);
    run.status = status;
    await this.commit(run).catch((e) => run.log.warn({ err: errorMessage(e) }, "status update failed"));
    ctx.metrics.resourceStatus.set(
      { controller: kind.controller, name: run.owner.name, namespace: run.owner.namespace },
      0,
    );
    run.log.error({ reason, error: message }, "sync failed");
    if (cls === "config") {
      // Rechecked later each time while the inputs stay the same (backoff.ts, CONFIG_RECHECK).
      const recheck = ctx.backoff.configError(kind.controller, run.key, `${run.generation} ${run.metaHash}`);
      return { failure: "configuration", requeueAfterMs: this.nextLook(run, this.now() + recheck) };
    }
    return { failure: "transient", requeueAfterMs: this.nextLook(run, undefined) };
  }
}
