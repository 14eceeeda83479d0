// VaultDynamicSecret: credentials from any secrets engine path, kept valid.
// - Leases are renewed through sys/leases/renew when renewalPercent of the TTL
//   (plus up to 10 % jitter, derived from the lease ID so a restarted operator
//   computes the same time) has passed; a truncated renewal (max TTL reached), a
//   non-renewable lease or a failed renewal leads to new credentials in time.
// - The schedule lives in status (lastRenewalTime, secretLease), so an operator
//   restart or leader change neither issues new credentials nor restarts
//   workloads, and renewals that fell due while it was down happen at once.
// - Static roles (allowStaticCreds) follow the rotation period or schedule and
//   also notice on-demand rotations by polling last_vault_rotation.
// - rolloutRestartTargets fire when credentials change, never on the first sync.
// - No lease is ever lost (see credential-ledger.ts): everything that can be
//   checked before asking Vault is (destination ownership and name through a
//   dry run, the transformation); a lease is recorded in
//   status.pendingRevocations as soon as Vault hands it out; if a later step
//   fails it is revoked at once, and the same inputs get no new lease
//   (issue-hold.ts). With revoke: true replaced leases are revoked after a
//   grace period and every recorded lease when the resource is deleted.
// Each reconcile: gather (status, live Secret, client) -> revoke what is due
// -> decide (dynamic-decisions.ts) -> act -> report -> schedule.
import { randomUUID } from "node:crypto";
import type { VaultDynamicSecret, VaultDynamicSecretStatus } from "../../api/index.ts";
import { ConditionType, EventReason, Finalizer, OwnerLabel } from "../../api/index.ts";
import { CORE, KubeApiError, type KubeObject } from "../../kube/client.ts";
import { setCondition } from "../../runtime/conditions.ts";
import type { ReconcileResult } from "../../runtime/controller.ts";
import type { MultiInformer } from "../../runtime/multi-informer.ts";
import { parseDuration } from "../../util/duration.ts";
import type { VaultClient } from "../../vault/client.ts";
import { VaultApiError } from "../../vault/http.ts";
import { configErrorRequeue, jitteredRefresh } from "../backoff.ts";
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
  interruptedIssue,
  recordIssued,
  recordReplaced,
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
import {
  decideDynamic,
  leaseJitter,
  MIN_LOOK_MS,
  nextLookMs,
  renewalDueAt,
  type SyncReason,
  staticCredsMismatch,
} from "../dynamic-decisions.ts";
import { macEqual, secretDataMAC } from "../hmac.ts";
import { IssueHoldError, IssueHolds, issueInputs } from "../issue-hold.ts";
import { VSO } from "../resources.ts";
import { buildSecretData } from "../secret-data.ts";
import {
  classify,
  describeFailure,
  type ErrorClass,
  ownerKeyOfSecretEvent,
  restartWorkloads,
  syncConditions,
  vaultClientFor,
} from "./common.ts";
import { type Setup, setupSecretKind } from "./setup.ts";
import { checkTransformation, renderTransformation } from "./transformation.ts";

const KIND = "VaultDynamicSecret";
const CONTROLLER = "vaultdynamicsecret";
/** How long a replaced lease stays valid before it is revoked (revoke: true). */
const REPLACED_LEASE_GRACE_S = 30;
const STATIC_META_KEYS = ["ttl", "rotation_schedule", "rotation_period", "last_vault_rotation", "_raw"];
/** Process identity, recorded in status.lastRuntimePodUID (the pod UID in a cluster). */
const RUNTIME_UID = process.env.OPERATOR_POD_UID || randomUUID();

type VDSObject = VaultDynamicSecret & KubeObject;

/** The path returned static credentials' opposite (see staticCredsMismatch). */
class StaticCredsMismatchError extends Error {
  readonly field = "spec.allowStaticCreds";
}

function errorClass(err: unknown): ErrorClass {
  return err instanceof IssueHoldError || err instanceof StaticCredsMismatchError ? "config" : classify(err);
}

interface LeaseResponse {
  request_id?: string;
  lease_id?: string;
  // A JsonNumber when read with keepNumbers: convert with Number() before use.
  lease_duration?: number | { valueOf(): number };
  renewable?: boolean;
  data?: Record<string, unknown> | null;
}

function leaseOf(res: LeaseResponse) {
  return {
    id: res.lease_id ?? "",
    duration: Number(res.lease_duration ?? 0),
    renewable: Boolean(res.renewable),
    requestID: res.request_id ?? "",
  };
}

function vaultPath(spec: VaultDynamicSecret["spec"]): string {
  return `${spec.mount.replace(/^\/+|\/+$/g, "")}/${spec.path.replace(/^\/+/, "")}`;
}

export class VaultDynamicSecretReconciler {
  private readonly ctx: OperatorContext;
  /** Precise (ms) time of the last sync or renewal per key; status only holds seconds. */
  private readonly renewedAtMs = new Map<string, number>();
  /** Labels+annotations seen per key: a change forces new credentials, as in VSO. */
  private readonly metaSeen = new Map<string, string>();
  private readonly lastSeenRV = new Map<string, string>();
  private readonly statuses = new StatusMemory<VaultDynamicSecretStatus>();
  private readonly holds = new IssueHolds();
  /** Leases held, per resource: what vso_leases_held counts. */
  private readonly held = new Set<string>();
  /** The clock (injectable for tests). */
  private readonly now: () => number;

  constructor(ctx: OperatorContext, now: () => number = Date.now) {
    this.ctx = ctx;
    this.now = now;
  }

  private get informer() {
    return this.ctx.informers.dynamicSecrets as unknown as MultiInformer<VDSObject>;
  }

  ownerOfSecretEvent(secret: KubeObject, deleted: boolean): string | undefined {
    return ownerKeyOfSecretEvent(
      this.informer.list(secret.metadata.namespace ?? ""),
      secret,
      deleted,
      this.lastSeenRV,
    );
  }

  private forget(k: string): void {
    this.renewedAtMs.delete(k);
    this.metaSeen.delete(k);
    this.lastSeenRV.delete(k);
    this.statuses.forget(k);
    this.holds.release(k);
    this.ctx.backoff.reset(k);
    this.held.delete(k);
    this.ctx.metrics.leasesHeld.set(this.held.size);
    const [namespace, name] = k.split("/");
    this.ctx.metrics.leaseExpiry.remove({ namespace, name });
  }

  /** Writes status and remembers it (only once written, so memory never runs ahead of the server). */
  private async commit(vds: VDSObject, k: string, status: VaultDynamicSecretStatus): Promise<void> {
    // A copy: updateStatus keeps what it wrote as the object's status, and the
    // caller goes on changing its own (a shared object would compare equal and never be written).
    await updateStatus(this.ctx.kube, VSO.VaultDynamicSecret, vds, structuredClone(status));
    this.statuses.remember(k, vds.metadata.uid, status);
  }

  async reconcile(key: { namespace: string; name: string }): Promise<ReconcileResult | undefined> {
    const { ctx } = this;
    const k = `${key.namespace}/${key.name}`;
    const vds = this.informer.get(key.namespace, key.name);
    if (!vds) {
      this.forget(k);
      ctx.metrics.resourceStatus.remove({ controller: CONTROLLER, name: key.name, namespace: key.namespace });
      return;
    }
    vds.status = this.statuses.freshest(k, vds.metadata.uid, vds.status);
    if (vds.metadata.deletionTimestamp) return await this.finalize(vds, k);

    const spec = vds.spec;
    const status: VaultDynamicSecretStatus = structuredClone(
      vds.status ?? { lastRenewalTime: 0, lastGeneration: 0, secretLease: {} },
    );
    status.secretLease ??= {};
    const owner: Owner = {
      apiVersion: vds.apiVersion ?? "secrets.hashicorp.com/v1beta1",
      kind: KIND,
      name: key.name,
      namespace: key.namespace,
      uid: vds.metadata.uid ?? "",
    };
    const metaHash = JSON.stringify([vds.metadata.labels ?? {}, vds.metadata.annotations ?? {}]);
    const prevMeta = this.metaSeen.get(k);
    const metaChanged = prevMeta !== undefined && prevMeta !== metaHash;
    this.metaSeen.set(k, metaHash);
    try {
      // Gather.
      const { client, resolved } = await vaultClientFor(ctx, key.namespace, spec.vaultAuthRef);
      const vaultNs = spec.namespace || resolved.spec.namespace;
      const interrupted = interruptedIssue(status.pendingRevocations);
      await this.revokeDue(vds, k, status, client, vaultNs, false);
      const existing = await ctx.kube.getOrNull<SecretObject>(
        CORE.secrets,
        key.namespace,
        spec.destination.name,
      );
      if (spec.allowStaticCreds) {
        return await this.syncStatic(vds, k, owner, status, client, vaultNs, metaHash, metaChanged, existing);
      }
      // Decide.
      const now = this.now();
      const renewedAt = this.renewedAtMs.get(k) ?? status.lastRenewalTime * 1000;
      const decision = decideDynamic({
        nowMs: now,
        generation: vds.metadata.generation ?? 0,
        lastGeneration: status.lastGeneration,
        metaChanged,
        destinationExists: existing !== null,
        clientCacheKey: client.cacheKey,
        lastClientCacheKey: status.vaultClientMeta?.cacheKey,
        lease: status.secretLease,
        renewedAtMs: renewedAt,
        lastRenewalTime: status.lastRenewalTime,
        renewalPercent: spec.renewalPercent ?? 67,
        refreshAfterMs: spec.refreshAfter ? parseDuration(spec.refreshAfter) : 0,
        interrupted,
      });
      // Act.
      if (decision.action === "wait") {
        if (status.secretLease.id) this.trackLease(k, renewedAt, status.secretLease.duration ?? 0);
        return this.done(key, this.schedule(now, decision.untilMs, status));
      }
      if (decision.action === "renew") {
        const renewed = await this.renew(
          client,
          vaultNs,
          status.secretLease.id ?? "",
          status.secretLease.duration ?? 0,
        );
        if (renewed.ok) return await this.renewed(vds, k, status, renewed.ttl);
        status.conditions = setCondition(status.conditions, {
          type: ConditionType.LeaseRenewal,
          status: "False",
          reason: EventReason.SecretLeaseRenewalError,
          message: renewed.why,
          observedGeneration: vds.metadata.generation,
        });
        ctx
          .recorder(KIND)
          .normal(vds, EventReason.SecretLeaseRenewal, `Issuing new credentials: ${renewed.why}`);
        return await this.syncNew(
          vds,
          k,
          owner,
          status,
          client,
          vaultNs,
          "LeaseRenewalFailed",
          existing,
          metaHash,
        );
      }
      return await this.syncNew(vds, k, owner, status, client, vaultNs, decision.reason, existing, metaHash);
    } catch (err) {
      return await this.failed(vds, k, err);
    }
  }

  private schedule(
    now: number,
    untilMs: number | undefined,
    status: VaultDynamicSecretStatus,
  ): ReconcileResult | undefined {
    const ms = nextLookMs(now, untilMs, status.pendingRevocations);
    return ms === undefined ? undefined : { requeueAfterMs: ms };
  }

  private trackLease(k: string, fromMs: number, ttlS: number): void {
    this.held.add(k);
    this.ctx.metrics.leasesHeld.set(this.held.size);
    const [namespace, name] = k.split("/");
    this.ctx.metrics.leaseExpiry.set({ namespace, name }, Math.round(fromMs / 1000 + ttlS));
  }

  private done(key: { namespace: string; name: string }, res: ReconcileResult | undefined) {
    this.ctx.backoff.reset(`${key.namespace}/${key.name}`);
    this.ctx.metrics.resourceStatus.set(
      { controller: CONTROLLER, name: key.name, namespace: key.namespace },
      1,
    );
    return res;
  }

  private async renewed(
    vds: VDSObject,
    k: string,
    status: VaultDynamicSecretStatus,
    ttl: number,
  ): Promise<ReconcileResult | undefined> {
    const { ctx } = this;
    const generation = vds.metadata.generation ?? 0;
    const now = this.now();
    const lease = status.secretLease;
    this.renewedAtMs.set(k, now);
    status.lastRenewalTime = Math.floor(now / 1000);
    status.secretLease = { ...lease, duration: ttl };
    status.lastRuntimePodUID = RUNTIME_UID;
    status.conditions = setCondition(status.conditions, {
      type: ConditionType.LeaseRenewal,
      status: "True",
      reason: EventReason.SecretLeaseRenewal,
      message: `lease renewed for ${ttl}s`,
      observedGeneration: generation,
    });
    status.conditions = syncConditions(status.conditions, KIND, true, "Secret synced", generation);
    await this.commit(vds, k, status);
    ctx.recorder(KIND).normal(vds, EventReason.SecretLeaseRenewal, `Lease renewed (${ttl}s)`);
    ctx.metrics.secretWrites.inc({ controller: CONTROLLER, action: "renewed" });
    ctx.metrics.leaseRenewals.inc({ result: "success" });
    this.trackLease(k, now, ttl);
    const due = renewalDueAt(
      now,
      ttl,
      vds.spec.renewalPercent ?? 67,
      leaseJitter(lease.id ?? "", status.lastRenewalTime),
    );
    return this.done(
      { namespace: vds.metadata.namespace ?? "", name: vds.metadata.name ?? "" },
      this.schedule(now, due, status),
    );
  }

  private async renew(
    client: VaultClient,
    ns: string | undefined,
    leaseId: string,
    increment: number,
  ): Promise<{ ok: true; ttl: number } | { ok: false; why: string }> {
    try {
      const res = await client.request<LeaseResponse>(
        "PUT",
        "sys/leases/renew",
        { namespace: ns, body: { lease_id: leaseId, increment } },
        "renew",
      );
      const ttl = Number(res.json?.lease_duration ?? 0);
      if (ttl < increment) {
        this.ctx.metrics.leaseRenewals.inc({ result: "truncated" });
        return { ok: false, why: `lease renewal truncated to ${ttl}s (max TTL reached)` };
      }
      return { ok: true, ttl };
    } catch (err) {
      if (err instanceof VaultApiError && err.status >= 400 && err.status < 500) {
        this.ctx.metrics.leaseRenewals.inc({ result: "refused" });
        return { ok: false, why: `lease renewal refused: ${err.message}` };
      }
      throw err; // Vault unreachable: keep the credentials, retry with backoff
    }
  }

  private async revoke(client: VaultClient, ns: string | undefined, leaseId: string): Promise<void> {
    await client.request(
      "PUT",
      "sys/leases/revoke",
      { namespace: ns, body: { lease_id: leaseId } },
      "revoke",
    );
  }

  /**
   * Revokes the recorded leases that are due (all of them when `all`), reports
   * each outcome, and commits what is left. A lease Vault refuses to revoke
   * for good is dropped with a warning; one that failed for a transient reason
   * stays and is retried.
   */
  private async revokeDue(
    vds: VDSObject,
    k: string,
    status: VaultDynamicSecretStatus,
    client: VaultClient,
    ns: string | undefined,
    all: boolean,
  ): Promise<boolean> {
    const due = dueRevocations(status.pendingRevocations, Math.floor(this.now() / 1000), all);
    const out = await revokeAndReport(
      vds,
      this.ctx.recorder(KIND),
      {
        noun: "lease",
        revokedReason: EventReason.SecretLeaseRevoke,
        failedReason: EventReason.SecretLeaseRevoke,
      },
      status.pendingRevocations,
      due,
      (id) => this.revoke(client, ns, id),
    );
    if (!out) return true;
    status.pendingRevocations = out.remaining;
    await this.commit(vds, k, status);
    return out.ok;
  }

  private async fetch(
    vds: VaultDynamicSecret,
    client: VaultClient,
    ns: string | undefined,
  ): Promise<LeaseResponse> {
    const spec = vds.spec;
    const path = vaultPath(spec);
    const hasParams = spec.params && Object.keys(spec.params).length > 0;
    const method =
      spec.requestHTTPMethod && spec.requestHTTPMethod !== "GET" ? "PUT" : hasParams ? "PUT" : "GET";
    const res = await client.request<LeaseResponse>(
      method,
      path,
      { namespace: ns, body: method === "PUT" ? (spec.params ?? {}) : undefined, keepNumbers: true },
      method === "GET" ? "read" : "write",
    );
    if (!res.json) throw new Error(`empty response from ${path}`);
    return res.json;
  }

  /**
   * Records a lease Vault just handed out, before anything else can fail. If
   * even that write fails, the lease is revoked at once: nothing else knows it.
   */
  private async recordObtained(
    vds: VDSObject,
    k: string,
    status: VaultDynamicSecretStatus,
    client: VaultClient,
    ns: string | undefined,
    leaseId: string,
  ): Promise<void> {
    if (!leaseId) return;
    status.pendingRevocations = recordIssued(
      status.pendingRevocations,
      leaseId,
      Math.floor(this.now() / 1000),
    );
    try {
      await this.commit(vds, k, status);
    } catch (err) {
      await this.revoke(client, ns, leaseId).catch(() => {});
      throw err;
    }
  }

  /** A lease that will never be delivered: revoke it now; if that fails it stays recorded for the next look. */
  private async discard(
    vds: VDSObject,
    k: string,
    status: VaultDynamicSecretStatus,
    client: VaultClient,
    ns: string | undefined,
    leaseId: string,
  ): Promise<void> {
    if (!leaseId) return;
    status.pendingRevocations = recordUnused(
      status.pendingRevocations,
      leaseId,
      Math.floor(this.now() / 1000),
    );
    await this.revokeDue(vds, k, status, client, ns, false).catch((err) =>
      this.ctx.log.warn({ key: k, err: errorMessage(err) }, "unused lease recorded, revocation pending"),
    );
  }

  /** What, when changed, may cure a configuration error that appeared after Vault issued a lease. */
  private issueInputsOf(vds: VDSObject, metaHash: string): string {
    const transformation = checkTransformation(this.ctx, vds, vds.spec.destination.transformation);
    return issueInputs([vds.metadata.generation, metaHash, transformation]);
  }

  private async syncNew(
    vds: VDSObject,
    k: string,
    owner: Owner,
    status: VaultDynamicSecretStatus,
    client: VaultClient,
    ns: string | undefined,
    reason: SyncReason,
    existing: SecretObject | null,
    metaHash: string,
  ): Promise<ReconcileResult | undefined> {
    const { ctx } = this;
    const spec = vds.spec;
    const generation = vds.metadata.generation ?? 0;
    // Preconditions: everything that can fail without the credentials is checked before asking Vault.
    // A destination this resource wrote for the same generation needs no dry run: its shape was accepted.
    const shapeAccepted =
      status.lastGeneration === generation && existing !== null && isOwnedBy(existing, owner);
    await checkDestinationWritable(ctx.kube, owner, spec.destination, existing, shapeAccepted);
    const inputs = this.issueInputsOf(vds, metaHash);
    const held = this.holds.check(k, inputs);
    if (held) throw held;
    // The finalizer goes on before any lease exists, so no deletion can skip its revocation.
    await ensureFinalizer(ctx.kube, VSO.VaultDynamicSecret, vds, Finalizer.VaultDynamicSecret);

    const res = await this.fetch(vds, client, ns);
    const lease = leaseOf(res);
    await this.recordObtained(vds, k, status, client, ns, lease.id);
    let written: Awaited<ReturnType<typeof writeDestination>>;
    try {
      const secrets = (res.data ?? {}) as Record<string, unknown>;
      const tr = spec.destination.transformation;
      const rendered = await renderTransformation(ctx, vds, tr, secrets, {});
      const data = buildSecretData({
        secrets,
        raw: res.data ?? null,
        filter: rendered.filter,
        excludeRaw: Boolean(tr?.excludeRaw) || ctx.cfg.globalTransformationOptions.includes("exclude-raw"),
        rendered: rendered.values,
      });
      written = await writeDestination(ctx.kube, owner, spec.destination, data, existing);
    } catch (err) {
      await this.discard(vds, k, status, client, ns, lease.id);
      if (errorClass(err) === "config" || (err instanceof KubeApiError && err.status === 422)) {
        this.holds.hold(k, inputs, err);
      }
      throw err;
    }
    this.holds.release(k);
    this.lastSeenRV.set(k, written.secret.metadata.resourceVersion ?? "");
    ctx.metrics.secretWrites.inc({ controller: CONTROLLER, action: written.action });

    // Commit: the new lease is current; the one it replaces waits out its grace period.
    const now = this.now();
    const nowS = Math.floor(now / 1000);
    const previous = status.secretLease;
    const previousExpiryS =
      Math.floor((this.renewedAtMs.get(k) ?? status.lastRenewalTime * 1000) / 1000) +
      (previous.duration ?? 0);
    let pending = confirmDelivered(status.pendingRevocations, lease.id);
    if (spec.revoke && previous.id && previous.id !== lease.id) {
      pending = recordReplaced(pending, previous.id, nowS, REPLACED_LEASE_GRACE_S, previousExpiryS);
    }
    status.pendingRevocations = pending;
    this.renewedAtMs.set(k, now);
    status.lastRenewalTime = nowS;
    status.lastGeneration = generation;
    status.lastRuntimePodUID = RUNTIME_UID;
    status.secretLease = lease;
    if (lease.id) this.trackLease(k, now, lease.duration);
    status.vaultClientMeta = { cacheKey: client.cacheKey, id: client.id };
    status.conditions = syncConditions(
      status.conditions,
      KIND,
      true,
      `Secret synced (${reason})`,
      generation,
    );
    ctx.recorder(KIND).normal(vds, EventReason.SecretSynced, `Secret synced, reason: ${reason}`);
    if (reason !== "InitialSync") {
      status.conditions = await restartWorkloads(
        ctx,
        KIND,
        vds,
        spec.rolloutRestartTargets ?? [],
        status.conditions,
      );
    }
    await this.commit(vds, k, status);
    await this.pruneOld(vds, owner);

    let until: number | undefined;
    if (lease.duration > 0) {
      until = renewalDueAt(now, lease.duration, spec.renewalPercent ?? 67, leaseJitter(lease.id, nowS));
    } else if (spec.refreshAfter) {
      until = now + jitteredRefresh(parseDuration(spec.refreshAfter));
    }
    return this.done({ namespace: owner.namespace, name: owner.name }, this.schedule(now, until, status));
  }

  private async syncStatic(
    vds: VDSObject,
    k: string,
    owner: Owner,
    status: VaultDynamicSecretStatus,
    client: VaultClient,
    ns: string | undefined,
    metaHash: string,
    metaChanged: boolean,
    existing: SecretObject | null,
  ): Promise<ReconcileResult | undefined> {
    const { ctx } = this;
    const spec = vds.spec;
    const generation = vds.metadata.generation ?? 0;
    const reason: SyncReason | undefined = !status.lastGeneration
      ? "InitialSync"
      : metaChanged
        ? "ForceSync"
        : status.lastGeneration !== generation
          ? "ResourceUpdated"
          : !existing
            ? "InexistentDestination"
            : undefined;
    // Reading static credentials issues nothing, but a dynamic role behind
    // allowStaticCreds would: the same inputs are not read twice.
    const inputs = this.issueInputsOf(vds, metaHash);
    const held = this.holds.check(k, inputs);
    if (held) throw held;
    await ensureFinalizer(ctx.kube, VSO.VaultDynamicSecret, vds, Finalizer.VaultDynamicSecret);
    const res = await this.fetch(vds, client, ns);
    const mismatch = staticCredsMismatch(Boolean(spec.allowStaticCreds), res.lease_id);
    if (mismatch) {
      await this.recordObtained(vds, k, status, client, ns, res.lease_id ?? "");
      await this.discard(vds, k, status, client, ns, res.lease_id ?? "");
      const err = new StaticCredsMismatchError(mismatch);
      this.holds.hold(k, inputs, err);
      throw err;
    }
    const secrets = (res.data ?? {}) as Record<string, unknown>;
    const num = (v: unknown) => (v === undefined || v === null ? 0 : Number(String(v)));
    const lastRotation = secrets.last_vault_rotation
      ? Math.floor(Date.parse(String(secrets.last_vault_rotation)) / 1000)
      : 0;
    const meta = {
      lastVaultRotation: lastRotation,
      rotationPeriod: num(secrets.rotation_period),
      rotationSchedule: secrets.rotation_schedule ? String(secrets.rotation_schedule) : "",
      ttl: num(secrets.ttl),
    };
    const tr = spec.destination.transformation;
    const rendered = await renderTransformation(ctx, vds, tr, secrets, {});
    const data = buildSecretData({
      secrets,
      raw: res.data ?? null,
      filter: rendered.filter,
      excludeRaw: Boolean(tr?.excludeRaw) || ctx.cfg.globalTransformationOptions.includes("exclude-raw"),
      rendered: rendered.values,
    });
    // The MAC ignores the fields that change on every read (ttl) or only describe the rotation.
    const macInput = Object.fromEntries(
      Object.entries(data).filter(([key]) => !STATIC_META_KEYS.includes(key)),
    );
    const mac = secretDataMAC(ctx.hmacKey, macInput);
    const rotated = Boolean(status.secretMAC) && !macEqual(mac, status.secretMAC);
    if (reason !== undefined || rotated || !status.secretMAC) {
      const written = await writeDestination(ctx.kube, owner, spec.destination, data, existing);
      this.lastSeenRV.set(k, written.secret.metadata.resourceVersion ?? "");
      ctx.metrics.secretWrites.inc({ controller: CONTROLLER, action: written.action });
      ctx
        .recorder(KIND)
        .normal(
          vds,
          rotated ? EventReason.SecretRotated : EventReason.SecretSynced,
          rotated ? "Static credentials rotated" : `Secret synced, reason: ${reason ?? "InitialSync"}`,
        );
      if (rotated) {
        status.conditions = await restartWorkloads(
          ctx,
          KIND,
          vds,
          spec.rolloutRestartTargets ?? [],
          status.conditions,
        );
      }
    }
    const now = this.now();
    this.renewedAtMs.set(k, now);
    status.lastRenewalTime = Math.floor(now / 1000);
    status.lastGeneration = generation;
    status.lastRuntimePodUID = RUNTIME_UID;
    status.secretMAC = mac;
    status.staticCredsMetaData = meta;
    status.secretLease = leaseOf(res);
    status.vaultClientMeta = { cacheKey: client.cacheKey, id: client.id };
    status.conditions = syncConditions(
      status.conditions,
      KIND,
      true,
      "Secret synced (static credentials)",
      generation,
    );
    await this.commit(vds, k, status);
    await this.pruneOld(vds, owner);
    // Next look: just after the scheduled rotation, and no later than refreshAfter (default 30s)
    // so that on-demand rotations reach the Secret too (VSO #1002).
    // A ttl of 0 means Vault is rotating right now: look again in a second.
    const rotating = meta.rotationPeriod > 0 || meta.rotationSchedule !== "";
    const untilRotation = !rotating
      ? Number.POSITIVE_INFINITY
      : meta.ttl > 0
        ? meta.ttl * 1000 + 500 + Math.random() * 150
        : MIN_LOOK_MS;
    const poll = spec.refreshAfter ? parseDuration(spec.refreshAfter) : 30_000;
    return this.done(
      { namespace: owner.namespace, name: owner.name },
      { requeueAfterMs: Math.max(500, Math.min(untilRotation, poll)) },
    );
  }

  private async pruneOld(vds: VDSObject, owner: Owner): Promise<void> {
    const stale = this.ctx.informers.ownedSecrets
      .list(owner.namespace)
      .filter(
        (s) =>
          s.metadata.labels?.[OwnerLabel.OwnerRefUID] === owner.uid &&
          s.metadata.name !== vds.spec.destination.name,
      );
    if (stale.length > 0) await pruneOrphans(this.ctx.kube, owner, vds.spec.destination.name, stale);
  }

  /**
   * On delete: every recorded lease that is not current is revoked whatever
   * spec.revoke says (nobody holds it, or it was replaced under revoke: true);
   * the current one when spec.revoke is set. Vault being unreachable keeps the
   * finalizer, so no lease is let go unrevoked.
   */
  private async finalize(vds: VDSObject, k: string): Promise<ReconcileResult | undefined> {
    const { ctx } = this;
    const status: VaultDynamicSecretStatus = structuredClone(
      vds.status ?? { lastRenewalTime: 0, lastGeneration: 0, secretLease: {} },
    );
    const current = status.secretLease?.id;
    if (vds.spec.revoke && current) {
      status.pendingRevocations = recordUnused(status.pendingRevocations, current, 0);
    }
    if ((status.pendingRevocations ?? []).length > 0) {
      try {
        const { client, resolved } = await vaultClientFor(
          ctx,
          vds.metadata.namespace ?? "",
          vds.spec.vaultAuthRef,
        );
        const ns = vds.spec.namespace || resolved.spec.namespace;
        if (!(await this.revokeDue(vds, k, status, client, ns, true))) {
          return { requeueAfterMs: ctx.backoff.next(k) };
        }
      } catch (err) {
        // Vault unreachable: keep the finalizer and retry, so no lease is leaked.
        if (errorClass(err) !== "config") {
          ctx.log.info({ key: k, err: errorMessage(err) }, "lease revocation failed; will retry");
          return { requeueAfterMs: ctx.backoff.next(k) };
        }
        ctx.log.warn({ key: k, err: errorMessage(err) }, "leases not revoked");
      }
    }
    await removeFinalizer(ctx.kube, VSO.VaultDynamicSecret, vds, Finalizer.VaultDynamicSecret);
    this.forget(k);
    return undefined;
  }

  private async failed(vds: VDSObject, k: string, err: unknown): Promise<ReconcileResult> {
    const { ctx } = this;
    // Build on the last status written: it holds every lease recorded during the attempt.
    const status: VaultDynamicSecretStatus = structuredClone(
      this.statuses.freshest(k, vds.metadata.uid, vds.status) ?? {
        lastRenewalTime: 0,
        lastGeneration: 0,
        secretLease: {},
      },
    );
    const cls = errorClass(err);
    const { message, reason } = describeFailure(cls, err);
    ctx.recorder(KIND).warning(vds, reason, `Failed to sync the secret: ${message}`);
    status.conditions = syncConditions(status.conditions, KIND, false, message, vds.metadata.generation);
    await this.commit(vds, k, status).catch((e) =>
      ctx.log.warn({ key: k, err: errorMessage(e) }, "status update failed"),
    );
    ctx.metrics.resourceStatus.set(
      { controller: CONTROLLER, name: vds.metadata.name ?? "", namespace: vds.metadata.namespace ?? "" },
      0,
    );
    ctx.log.error({ controller: CONTROLLER, key: k, reason, error: message }, "sync failed");
    // The queue owns the retry; pending revocations still bring the resource back when they fall due.
    const pendingAt = nextLookMs(this.now(), undefined, status.pendingRevocations);
    if (cls === "config") {
      const recheck = configErrorRequeue();
      return {
        failure: "configuration",
        requeueAfterMs: pendingAt === undefined ? recheck : Math.min(recheck, pendingAt),
      };
    }
    return { failure: "transient", requeueAfterMs: pendingAt };
  }
}

/** The VaultDynamicSecret controller and its watches. */
export const setupVaultDynamicSecret: Setup = (mgr) => {
  const rec = new VaultDynamicSecretReconciler(mgr.ctx);
  setupSecretKind(mgr, CONTROLLER, mgr.ctx.informers.dynamicSecrets, rec, {
    workers: mgr.ctx.cfg.maxConcurrentReconcilesVds,
  });
};
