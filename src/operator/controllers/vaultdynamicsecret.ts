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
// - With revoke: true the lease is revoked when the resource is deleted and
//   when credentials are replaced, so no lease outlives its resource.
import { createHash, randomUUID } from "node:crypto";
import type { VaultDynamicSecret, VaultDynamicSecretStatus } from "../../api/index.ts";
import { ConditionType, EventReason, Finalizer, OwnerLabel } from "../../api/index.ts";
import { CORE, type KubeObject } from "../../kube/client.ts";
import { setCondition } from "../../runtime/conditions.ts";
import type { Controller, ReconcileResult } from "../../runtime/controller.ts";
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
import { type Owner, pruneOrphans, type SecretObject, writeDestination } from "../destination.ts";
import { macEqual, secretDataMAC } from "../hmac.ts";
import { VSO } from "../resources.ts";
import { buildSecretData } from "../secret-data.ts";
import {
  classify,
  errorField,
  ownerKeyOfSecretEvent,
  restartWorkloads,
  syncConditions,
  vaultClientFor,
} from "./common.ts";
import { renderTransformation } from "./transformation.ts";

const KIND = "VaultDynamicSecret";
/** How long a replaced lease stays valid before it is revoked (revoke: true). */
const REPLACED_LEASE_GRACE_MS = 30_000;
const STATIC_META_KEYS = ["ttl", "rotation_schedule", "rotation_period", "last_vault_rotation", "_raw"];
/** Process identity, recorded in status.lastRuntimePodUID (the pod UID in a cluster). */
const RUNTIME_UID = process.env.OPERATOR_POD_UID || randomUUID();

export type SyncReason =
  | "InitialSync"
  | "ForceSync"
  | "ResourceUpdated"
  | "InexistentDestination"
  | "VaultClientConfigChanged";

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

/** A stable number in [0, 1) for a lease, so the renewal time does not move between reconciles or restarts. */
export function leaseJitter(leaseId: string, renewedAt: number): number {
  const h = createHash("sha256").update(`${leaseId}@${renewedAt}`).digest();
  return h.readUInt32BE(0) / 2 ** 32;
}

/** When (ms since epoch) a lease renewed at `renewedAtMs` with `ttlS` seconds falls due. */
export function renewalDueAt(
  renewedAtMs: number,
  ttlS: number,
  renewalPercent: number,
  jitter: number,
): number {
  const pct = Math.min(90, Math.max(0, renewalPercent)) / 100;
  return renewedAtMs + ttlS * 1000 * (pct + 0.1 * jitter);
}

export class VaultDynamicSecretReconciler {
  private readonly ctx: OperatorContext;
  controller?: Controller;
  /** Precise (ms) time of the last sync or renewal per key; status only holds seconds. */
  private readonly renewedAtMs = new Map<string, number>();
  /** Labels+annotations seen per key: a change forces new credentials, as in VSO. */
  private readonly metaSeen = new Map<string, string>();
  private readonly lastSeenRV = new Map<string, string>();
  private readonly statuses = new StatusMemory<VaultDynamicSecretStatus>();
  /** Leases held, per resource: what vso_leases_held counts. */
  private readonly held = new Set<string>();

  constructor(ctx: OperatorContext) {
    this.ctx = ctx;
  }

  private get informer() {
    return this.ctx.informers.dynamicSecrets as unknown as MultiInformer<VaultDynamicSecret & KubeObject>;
  }

  onOwnedSecretEvent(secret: KubeObject, deleted: boolean): void {
    const ns = secret.metadata.namespace ?? "";
    const key = ownerKeyOfSecretEvent(this.informer.list(ns), secret, deleted, this.lastSeenRV);
    if (key) this.controller?.enqueue(key, "high");
  }

  private forget(k: string): void {
    this.renewedAtMs.delete(k);
    this.metaSeen.delete(k);
    this.lastSeenRV.delete(k);
    this.statuses.forget(k);
    this.ctx.backoff.reset(k);
    this.held.delete(k);
    this.ctx.metrics.leasesHeld.set(this.held.size);
    const [namespace, name] = k.split("/");
    this.ctx.metrics.leaseExpiry.remove({ namespace, name });
  }

  async reconcile(key: { namespace: string; name: string }): Promise<ReconcileResult | undefined> {
    const { ctx } = this;
    const k = `${key.namespace}/${key.name}`;
    const vds = this.informer.get(key.namespace, key.name);
    if (!vds) {
      this.forget(k);
      ctx.metrics.resourceStatus.remove({
        controller: "vaultdynamicsecret",
        name: key.name,
        namespace: key.namespace,
      });
      return;
    }
    const obj = vds as KubeObject;
    vds.status = this.statuses.freshest(k, vds.metadata.uid, vds.status);
    if (vds.metadata.deletionTimestamp) return await this.finalize(vds, k);

    const rec = ctx.recorder(KIND);
    const spec = vds.spec;
    const status: VaultDynamicSecretStatus = structuredClone(
      vds.status ?? { lastRenewalTime: 0, lastGeneration: 0, secretLease: {} },
    );
    status.secretLease ??= {};
    const generation = vds.metadata.generation ?? 0;
    const owner: Owner = {
      apiVersion: vds.apiVersion ?? "secrets.hashicorp.com/v1beta1",
      kind: KIND,
      name: key.name,
      namespace: key.namespace,
      uid: vds.metadata.uid ?? "",
    };
    const metaHash = JSON.stringify([vds.metadata.labels ?? {}, vds.metadata.annotations ?? {}]);
    const prevMeta = this.metaSeen.get(k);
    this.metaSeen.set(k, metaHash);
    try {
      const { client, resolved } = await vaultClientFor(ctx, key.namespace, spec.vaultAuthRef);
      const vaultNs = spec.namespace || resolved.spec.namespace;

      // Why (if at all) new credentials are needed, in VSO's order of precedence.
      let reason: SyncReason | undefined;
      let existing: SecretObject | null | undefined;
      if (!status.lastGeneration) reason = "InitialSync";
      else if (prevMeta !== undefined && prevMeta !== metaHash) reason = "ForceSync";
      else if (status.lastGeneration !== generation) reason = "ResourceUpdated";
      else {
        existing = await ctx.kube.getOrNull<SecretObject>(CORE.secrets, key.namespace, spec.destination.name);
        if (!existing) reason = "InexistentDestination";
        else if (status.vaultClientMeta?.cacheKey && status.vaultClientMeta.cacheKey !== client.cacheKey) {
          reason = "VaultClientConfigChanged";
        }
      }

      if (spec.allowStaticCreds) {
        return await this.syncStatic(vds, k, owner, status, client, vaultNs, reason, existing ?? null);
      }
      if (!reason) {
        const lease = status.secretLease;
        const renewedAt = this.renewedAtMs.get(k) ?? status.lastRenewalTime * 1000;
        const ttl = lease.duration ?? 0;
        if (lease.id && ttl > 0) {
          const due = renewalDueAt(
            renewedAt,
            ttl,
            spec.renewalPercent ?? 67,
            leaseJitter(lease.id, status.lastRenewalTime),
          );
          if (Date.now() < due) {
            this.trackLease(k, renewedAt, ttl); // also after a restart, before the first renewal
            return this.done(key, { requeueAfterMs: Math.max(1000, due - Date.now()) });
          }
          if (lease.renewable) {
            const renewed = await this.renew(client, vaultNs, lease.id, ttl);
            if (renewed.ok) {
              const now = Date.now();
              this.renewedAtMs.set(k, now);
              status.lastRenewalTime = Math.floor(now / 1000);
              status.secretLease = { ...lease, duration: renewed.ttl };
              status.lastRuntimePodUID = RUNTIME_UID;
              status.conditions = setCondition(status.conditions, {
                type: ConditionType.LeaseRenewal,
                status: "True",
                reason: EventReason.SecretLeaseRenewal,
                message: `lease renewed for ${renewed.ttl}s`,
                observedGeneration: generation,
              });
              status.conditions = syncConditions(status.conditions, KIND, true, "Secret synced", generation);
              await updateStatus(ctx.kube, VSO.VaultDynamicSecret, obj, status);
              this.statuses.remember(k, vds.metadata.uid, status);
              rec.normal(obj, EventReason.SecretLeaseRenewal, `Lease renewed (${renewed.ttl}s)`);
              ctx.metrics.secretWrites.inc({ controller: "vaultdynamicsecret", action: "renewed" });
              ctx.metrics.leaseRenewals.inc({ result: "success" });
              this.trackLease(k, now, renewed.ttl);
              const next = renewalDueAt(
                now,
                renewed.ttl,
                spec.renewalPercent ?? 67,
                leaseJitter(lease.id, status.lastRenewalTime),
              );
              return this.done(key, { requeueAfterMs: Math.max(1000, next - now) });
            }
            status.conditions = setCondition(status.conditions, {
              type: ConditionType.LeaseRenewal,
              status: "False",
              reason: EventReason.SecretLeaseRenewalError,
              message: renewed.why,
              observedGeneration: generation,
            });
            rec.normal(obj, EventReason.SecretLeaseRenewal, `Issuing new credentials: ${renewed.why}`);
          }
          reason = "ForceSync";
        } else {
          // No lease: refresh on refreshAfter, if set.
          const refreshMs = spec.refreshAfter ? parseDuration(spec.refreshAfter) : 0;
          if (refreshMs <= 0) return this.done(key, undefined);
          const due = renewedAt + refreshMs;
          if (Date.now() < due) return this.done(key, { requeueAfterMs: Math.max(1000, due - Date.now()) });
          reason = "ForceSync";
        }
      }
      return await this.syncNew(vds, k, owner, status, client, vaultNs, reason, existing ?? null);
    } catch (err) {
      return await this.failed(vds, k, status, err);
    }
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
      { controller: "vaultdynamicsecret", name: key.name, namespace: key.namespace },
      1,
    );
    return res;
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

  /**
   * Revokes a replaced lease after a grace period, so that workloads still
   * running with the old credentials keep working while the rollout restart
   * replaces them. A lease that expires within the grace period is left to
   * expire; if the operator stops meanwhile, the lease expires on its own TTL.
   */
  private revokeLater(
    client: VaultClient,
    ns: string | undefined,
    leaseId: string,
    obj: KubeObject,
    expiresAt: number,
  ): void {
    if (expiresAt - Date.now() <= REPLACED_LEASE_GRACE_MS) return;
    const timer = setTimeout(
      () => void this.revoke(client, ns, leaseId, obj).catch(() => {}),
      REPLACED_LEASE_GRACE_MS,
    );
    timer.unref();
  }

  private async revoke(
    client: VaultClient,
    ns: string | undefined,
    leaseId: string,
    obj: KubeObject,
  ): Promise<void> {
    try {
      await client.request(
        "PUT",
        "sys/leases/revoke",
        { namespace: ns, body: { lease_id: leaseId } },
        "revoke",
      );
      this.ctx.recorder(KIND).normal(obj, EventReason.SecretLeaseRevoke, `Revoked lease ${leaseId}`);
    } catch (err) {
      this.ctx
        .recorder(KIND)
        .warning(
          obj,
          EventReason.SecretLeaseRevoke,
          `Could not revoke lease ${leaseId}: ${errorMessage(err)}`,
        );
      throw err;
    }
  }

  private async fetch(
    vds: VaultDynamicSecret,
    client: VaultClient,
    ns: string | undefined,
    path: string,
  ): Promise<LeaseResponse> {
    const spec = vds.spec;
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

  private async syncNew(
    vds: VaultDynamicSecret & KubeObject,
    k: string,
    owner: Owner,
    status: VaultDynamicSecretStatus,
    client: VaultClient,
    ns: string | undefined,
    reason: SyncReason,
    existing: SecretObject | null,
  ): Promise<ReconcileResult | undefined> {
    const { ctx } = this;
    const spec = vds.spec;
    const obj = vds as KubeObject;
    const generation = vds.metadata.generation ?? 0;
    const path = `${spec.mount.replace(/^\/+|\/+$/g, "")}/${spec.path.replace(/^\/+/, "")}`;
    // The finalizer goes on before any lease exists, so no deletion can skip its revocation.
    await ensureFinalizer(ctx.kube, VSO.VaultDynamicSecret, obj, Finalizer.VaultDynamicSecret);
    const res = await this.fetch(vds, client, ns, path);
    const secrets = (res.data ?? {}) as Record<string, unknown>;
    const tr = spec.destination.transformation;
    const rendered = await renderTransformation(ctx, obj, tr, secrets, {});
    const data = buildSecretData({
      secrets,
      raw: res.data ?? null,
      filter: rendered.filter,
      excludeRaw: Boolean(tr?.excludeRaw) || ctx.cfg.globalTransformationOptions.includes("exclude-raw"),
      rendered: rendered.values,
    });
    const previousLease = status.secretLease?.id;
    const previousExpiry =
      (this.renewedAtMs.get(k) ?? status.lastRenewalTime * 1000) + (status.secretLease?.duration ?? 0) * 1000;
    const current =
      existing ??
      (await ctx.kube.getOrNull<SecretObject>(CORE.secrets, vds.metadata.namespace, spec.destination.name));
    const written = await writeDestination(ctx.kube, owner, spec.destination, data, current);
    this.lastSeenRV.set(k, written.secret.metadata.resourceVersion ?? "");
    ctx.metrics.secretWrites.inc({ controller: "vaultdynamicsecret", action: written.action });
    const now = Date.now();
    this.renewedAtMs.set(k, now);
    status.lastRenewalTime = Math.floor(now / 1000);
    status.lastGeneration = generation;
    status.lastRuntimePodUID = RUNTIME_UID;
    status.secretLease = leaseOf(res);
    if (status.secretLease.id) this.trackLease(k, now, status.secretLease.duration ?? 0);
    status.vaultClientMeta = { cacheKey: client.cacheKey, id: client.id };
    status.conditions = syncConditions(
      status.conditions,
      KIND,
      true,
      `Secret synced (${reason})`,
      generation,
    );
    const rec = ctx.recorder(KIND);
    rec.normal(obj, EventReason.SecretSynced, `Secret synced, reason: ${reason}`);
    if (reason !== "InitialSync") {
      status.conditions = await restartWorkloads(
        ctx,
        KIND,
        vds,
        vds.spec.rolloutRestartTargets ?? [],
        status.conditions,
      );
    }
    await updateStatus(ctx.kube, VSO.VaultDynamicSecret, obj, status);
    this.statuses.remember(k, vds.metadata.uid, status);
    await ensureFinalizer(ctx.kube, VSO.VaultDynamicSecret, obj, Finalizer.VaultDynamicSecret).catch(
      () => {},
    );
    if (previousLease && previousLease !== status.secretLease.id && spec.revoke) {
      this.revokeLater(client, ns, previousLease, obj, previousExpiry);
    }
    await this.pruneOld(vds, owner);
    const ttl = status.secretLease.duration ?? 0;
    let next: number | undefined;
    if (ttl > 0) {
      next =
        renewalDueAt(
          now,
          ttl,
          spec.renewalPercent ?? 67,
          leaseJitter(status.secretLease.id ?? "", status.lastRenewalTime),
        ) - now;
    } else if (spec.refreshAfter) {
      next = jitteredRefresh(parseDuration(spec.refreshAfter));
    }
    return this.done(
      { namespace: owner.namespace, name: owner.name },
      next ? { requeueAfterMs: Math.max(1000, next) } : undefined,
    );
  }

  private async syncStatic(
    vds: VaultDynamicSecret & KubeObject,
    k: string,
    owner: Owner,
    status: VaultDynamicSecretStatus,
    client: VaultClient,
    ns: string | undefined,
    reason: SyncReason | undefined,
    existing: SecretObject | null,
  ): Promise<ReconcileResult | undefined> {
    const { ctx } = this;
    const spec = vds.spec;
    const obj = vds as KubeObject;
    const generation = vds.metadata.generation ?? 0;
    const path = `${spec.mount.replace(/^\/+|\/+$/g, "")}/${spec.path.replace(/^\/+/, "")}`;
    const res = await this.fetch(vds, client, ns, path);
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
    const rendered = await renderTransformation(ctx, obj, tr, secrets, {});
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
    const mustWrite = reason !== undefined || rotated || !status.secretMAC;
    if (mustWrite) {
      const current =
        existing ??
        (await ctx.kube.getOrNull<SecretObject>(CORE.secrets, vds.metadata.namespace, spec.destination.name));
      const written = await writeDestination(ctx.kube, owner, spec.destination, data, current);
      this.lastSeenRV.set(k, written.secret.metadata.resourceVersion ?? "");
      ctx.metrics.secretWrites.inc({ controller: "vaultdynamicsecret", action: written.action });
      ctx
        .recorder(KIND)
        .normal(
          obj,
          rotated ? EventReason.SecretRotated : EventReason.SecretSynced,
          rotated ? "Static credentials rotated" : `Secret synced, reason: ${reason ?? "InitialSync"}`,
        );
      if (rotated) {
        status.conditions = await restartWorkloads(
          ctx,
          KIND,
          vds,
          vds.spec.rolloutRestartTargets ?? [],
          status.conditions,
        );
      }
    }
    const now = Date.now();
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
    await updateStatus(ctx.kube, VSO.VaultDynamicSecret, obj, status);
    this.statuses.remember(k, vds.metadata.uid, status);
    await ensureFinalizer(ctx.kube, VSO.VaultDynamicSecret, obj, Finalizer.VaultDynamicSecret).catch(
      () => {},
    );
    await this.pruneOld(vds, owner);
    // Next look: just after the scheduled rotation, and no later than refreshAfter (default 30s)
    // so that on-demand rotations reach the Secret too (VSO #1002).
    // A ttl of 0 means Vault is rotating right now: look again in a second.
    const rotating = meta.rotationPeriod > 0 || meta.rotationSchedule !== "";
    const untilRotation = !rotating
      ? Number.POSITIVE_INFINITY
      : meta.ttl > 0
        ? meta.ttl * 1000 + 500 + Math.random() * 150
        : 1000;
    const poll = spec.refreshAfter ? parseDuration(spec.refreshAfter) : 30_000;
    return this.done(
      { namespace: owner.namespace, name: owner.name },
      { requeueAfterMs: Math.max(500, Math.min(untilRotation, poll)) },
    );
  }

  private async pruneOld(vds: VaultDynamicSecret & KubeObject, owner: Owner): Promise<void> {
    const stale = this.ctx.informers.ownedSecrets
      .list(owner.namespace)
      .filter(
        (s) =>
          s.metadata.labels?.[OwnerLabel.OwnerRefUID] === owner.uid &&
          s.metadata.name !== vds.spec.destination.name,
      );
    if (stale.length > 0) await pruneOrphans(this.ctx.kube, owner, vds.spec.destination.name, stale);
  }

  private async finalize(
    vds: VaultDynamicSecret & KubeObject,
    k: string,
  ): Promise<ReconcileResult | undefined> {
    const { ctx } = this;
    const leaseId = vds.status?.secretLease?.id;
    if (vds.spec.revoke && leaseId) {
      try {
        const { client, resolved } = await vaultClientFor(
          ctx,
          vds.metadata.namespace ?? "",
          vds.spec.vaultAuthRef,
        );
        await this.revoke(client, vds.spec.namespace || resolved.spec.namespace, leaseId, vds);
      } catch (err) {
        // Vault unreachable: keep the finalizer and retry, so the lease is not leaked.
        if (classify(err) !== "config" && !(err instanceof VaultApiError && err.status < 500)) {
          ctx.log.info({ key: k, err: errorMessage(err) }, "lease revocation failed; will retry");
          return { requeueAfterMs: ctx.backoff.next(k) };
        }
        ctx.log.warn({ key: k, err: errorMessage(err) }, "lease not revoked");
      }
    }
    await removeFinalizer(ctx.kube, VSO.VaultDynamicSecret, vds, Finalizer.VaultDynamicSecret);
    this.forget(k);
    return undefined;
  }

  private async failed(
    vds: VaultDynamicSecret & KubeObject,
    k: string,
    status: VaultDynamicSecretStatus,
    err: unknown,
  ): Promise<ReconcileResult> {
    const { ctx } = this;
    const cls = classify(err);
    const field = errorField(err);
    const message = field ? `${field}: ${errorMessage(err)}` : errorMessage(err);
    const reason =
      cls === "config"
        ? EventReason.InvalidConfiguration
        : cls === "vault"
          ? EventReason.VaultClientError
          : EventReason.K8sClientError;
    ctx.recorder(KIND).warning(vds, reason, `Failed to sync the secret: ${message}`);
    status.conditions = syncConditions(status.conditions, KIND, false, message, vds.metadata.generation);
    this.statuses.remember(k, vds.metadata.uid, status);
    await updateStatus(ctx.kube, VSO.VaultDynamicSecret, vds, status).catch((e) =>
      ctx.log.warn({ key: k, err: errorMessage(e) }, "status update failed"),
    );
    ctx.metrics.resourceStatus.set(
      {
        controller: "vaultdynamicsecret",
        name: vds.metadata.name ?? "",
        namespace: vds.metadata.namespace ?? "",
      },
      0,
    );
    ctx.log.info({ controller: "vaultdynamicsecret", key: k, reason, error: message }, "sync failed");
    return { requeueAfterMs: cls === "config" ? configErrorRequeue() : ctx.backoff.next(k) };
  }
}
