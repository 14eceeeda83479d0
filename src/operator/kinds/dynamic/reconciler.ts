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
// - No lease is ever lost: the shared pipeline (controllers/secret-sync.ts) checks the
//   preconditions before Vault is asked, records each lease in
//   status.pendingRevocations before anything else can fail, and revokes it at
//   once if it is never delivered. With revoke: true replaced leases are
//   revoked after a grace period, and every recorded lease on delete.
// Each reconcile: gather (status, live Secret, client) -> revoke what is due
// -> decide (decisions.ts, beside this file) -> act (wait, renew, or deliver) -> schedule.
import { randomUUID } from "node:crypto";
import type { VaultDynamicSecret, VaultDynamicSecretStatus } from "../../../api/index.ts";
import { ConditionType, EventReason, Finalizer } from "../../../api/index.ts";
import type { KubeObject } from "../../../kube/client.ts";
import { setCondition } from "../../../runtime/conditions.ts";
import type { ReconcileResult } from "../../../runtime/controller.ts";
import type { MultiInformer } from "../../../runtime/multi-informer.ts";
import { parseDuration } from "../../../util/duration.ts";
import type { VaultClient } from "../../../vault/client.ts";
import { VaultApiError } from "../../../vault/http.ts";
import { tokenEndMarginMs, unknownParentReplaceAtMs } from "../../../vault/token-life.ts";
import { jitteredRefresh } from "../../backoff.ts";
import type { OperatorContext } from "../../context.ts";
import { classify, type ErrorClass, syncConditions } from "../../controllers/common.ts";
import { type Fetched, type SecretKind, SecretSync, type SyncRun } from "../../controllers/secret-sync.ts";
import { keyOf, type Setup, setupSecretKind } from "../../controllers/setup.ts";
import { interruptedIssue, recordReplaced } from "../../credential-ledger.ts";
import type { SecretObject } from "../../destination.ts";
import { secretDataMAC } from "../../hmac.ts";
import { IssueHoldError } from "../../issue-hold.ts";
import { VSO } from "../../resources.ts";
import {
  type DynamicFacts,
  decideDynamic,
  leaseJitter,
  parentTokenDecision,
  renewalDueAt,
  type SyncReason,
  staticCredsMismatch,
  staticCredsNextLookMs,
  staticCredsWrite,
  staticSyncReason,
} from "./decisions.ts";

const KIND = "VaultDynamicSecret";
const CONTROLLER = "vaultdynamicsecret";
/** How long a replaced lease stays valid before it is revoked (revoke: true). */
const REPLACED_LEASE_GRACE_S = 30;
const STATIC_META_KEYS = ["ttl", "rotation_schedule", "rotation_period", "last_vault_rotation", "_raw"];
/** Process identity, recorded in status.lastRuntimePodUID (the pod UID in a cluster). */
const RUNTIME_UID = process.env.OPERATOR_POD_UID || randomUUID();

type VDSObject = VaultDynamicSecret & KubeObject;
type Run = SyncRun<VDSObject, VaultDynamicSecretStatus>;

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

async function fetchCredentials(
  spec: VaultDynamicSecret["spec"],
  client: VaultClient,
  ns: string | undefined,
): Promise<LeaseResponse> {
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

function fetchedOf(res: LeaseResponse): Fetched {
  return {
    secrets: (res.data ?? {}) as Record<string, unknown>,
    raw: res.data ?? null,
    credential: res.lease_id || undefined,
  };
}

export class VaultDynamicSecretReconciler {
  readonly engine: SecretSync<VDSObject, VaultDynamicSecretStatus>;
  private readonly ctx: OperatorContext;
  /** Precise (ms) time of the last sync or renewal per key; status only holds seconds. */
  private readonly renewedAtMs = new Map<string, number>();
  /** Leases held, per resource: what vso_leases_held counts. */
  private readonly held = new Set<string>();
  /** The lease and token last warned about (a token that ends before its lease), per resource. */
  private readonly warned = new Map<string, string>();
  /** Leases under a token of another process: since when this one knows, and whether it saw them alive. */
  private readonly unknownParents = new Map<
    string,
    { parentId: string; sinceMs: number; checked: boolean }
  >();

  constructor(ctx: OperatorContext, now: () => number = Date.now) {
    this.ctx = ctx;
    this.engine = new SecretSync(ctx, this.kind(), now);
  }

  private now(): number {
    return this.engine.now();
  }

  private kind(): SecretKind<VDSObject, VaultDynamicSecretStatus> {
    return {
      kind: KIND,
      controller: CONTROLLER,
      resource: VSO.VaultDynamicSecret,
      finalizer: Finalizer.VaultDynamicSecret,
      informer: (ctx) => ctx.informers.dynamicSecrets as unknown as MultiInformer<VDSObject>,
      emptyStatus: () => ({ lastRenewalTime: 0, lastGeneration: 0, secretLease: {} }),
      failureVerb: "sync the secret",
      errorClass,
      sync: (run) => this.sync(run),
      credentials: {
        events: {
          noun: "lease",
          revokedReason: EventReason.SecretLeaseRevoke,
          failedReason: EventReason.SecretLeaseRevoke,
        },
        revoke: async (client, ns, _obj, leaseId) => {
          await client.request(
            "PUT",
            "sys/leases/revoke",
            { namespace: ns, body: { lease_id: leaseId } },
            "revoke",
          );
        },
        current: (status) => status.secretLease?.id || undefined,
      },
      forget: (k) => this.forget(k),
    };
  }

  private forget(k: string): void {
    this.renewedAtMs.delete(k);
    this.unknownParents.delete(k);
    this.warned.delete(k);
    this.held.delete(k);
    this.ctx.metrics.leasesHeld.set(this.held.size);
    const [namespace, name] = k.split("/");
    this.ctx.metrics.leaseExpiry.remove({ namespace, name });
  }

  private trackLease(k: string, fromMs: number, ttlS: number): void {
    this.held.add(k);
    this.ctx.metrics.leasesHeld.set(this.held.size);
    const [namespace, name] = k.split("/");
    this.ctx.metrics.leaseExpiry.set({ namespace, name }, Math.round(fromMs / 1000 + ttlS));
  }

  private schedule(run: Run, untilMs: number | undefined): ReconcileResult | undefined {
    const ms = this.engine.nextLook(run, untilMs);
    return ms === undefined ? undefined : { requeueAfterMs: ms };
  }

  private async sync(run: Run): Promise<ReconcileResult | undefined> {
    const { status } = run;
    const spec = run.obj.spec;
    status.secretLease ??= {};
    // Gather.
    const { client } = await run.client();
    const interrupted = interruptedIssue(status.pendingRevocations);
    await this.engine.revokeDue(run, false);
    const existing = await this.engine.readDestination(run);
    if (spec.allowStaticCreds) return await this.syncStatic(run, existing);
    // Decide.
    const now = this.now();
    const renewedAt = this.renewedAtMs.get(run.key) ?? status.lastRenewalTime * 1000;
    const parentId = status.vaultClientMeta?.id;
    const parent = this.ctx.clients.parentToken(parentId, client);
    let unknown = this.unknownParents.get(run.key);
    if (parent.state !== "unknown") this.unknownParents.delete(run.key);
    else if (unknown?.parentId !== parentId) {
      unknown = { parentId: parentId ?? "", sinceMs: now, checked: false };
      this.unknownParents.set(run.key, unknown);
    }
    const facts: DynamicFacts = {
      nowMs: now,
      generation: run.generation,
      lastGeneration: status.lastGeneration,
      metaChanged: run.metaChanged,
      destinationExists: existing !== null,
      clientCacheKey: client.cacheKey,
      lastClientCacheKey: status.vaultClientMeta?.cacheKey,
      lease: status.secretLease,
      renewedAtMs: renewedAt,
      lastRenewalTime: status.lastRenewalTime,
      renewalPercent: spec.renewalPercent ?? 67,
      refreshAfterMs: spec.refreshAfter ? parseDuration(spec.refreshAfter) : 0,
      interrupted,
      parent,
      tokenTtlMs: client.tokenTtlMs,
      unknownReplaceAtMs: unknown
        ? unknownParentReplaceAtMs(
            unknown.sinceMs,
            client.tokenTtlMs,
            leaseJitter(status.secretLease.id ?? "", status.lastRenewalTime),
          )
        : undefined,
      unknownChecked: unknown?.checked,
    };
    const decision = decideDynamic(facts);
    const byParent = parentTokenDecision(facts);
    const parentUntil = "untilMs" in byParent ? byParent.untilMs : undefined;
    run.log.debug({ decision, parent: parent.state }, "decided");
    // Act.
    if (parent.state === "current" && status.secretLease.id) {
      // A lease hangs on this token (perhaps issued before a restart, with a persisted token): watch it.
      client.markHoldsCredentials();
      this.warnIfTokenEndsFirst(run, client, renewedAt + (status.secretLease.duration ?? 0) * 1000);
    }
    if (decision.action === "wait") {
      if (status.secretLease.id) this.trackLease(run.key, renewedAt, status.secretLease.duration ?? 0);
      return this.engine.succeeded(run, this.schedule(run, decision.untilMs));
    }
    if (decision.action === "renew") {
      const renewed = await this.renew(run);
      if (renewed.ok) {
        if (unknown) {
          unknown.checked = true;
          run.log.info(
            { lease: status.secretLease.id },
            "lease held under another process's token: alive, will be replaced before that token ends",
          );
        }
        return await this.renewed(run, renewed.ttl, parentUntil);
      }
      status.conditions = setCondition(status.conditions, {
        type: ConditionType.LeaseRenewal,
        status: "False",
        reason: EventReason.SecretLeaseRenewalError,
        message: renewed.why,
        observedGeneration: run.generation,
      });
      this.ctx
        .recorder(KIND)
        .normal(run.obj, EventReason.SecretLeaseRenewal, `Issuing new credentials: ${renewed.why}`);
      run.log.info(
        { lease: status.secretLease.id, why: renewed.why },
        "lease not renewed; issuing new credentials",
      );
      return await this.issue(run, "LeaseRenewalFailed", existing);
    }
    return await this.issue(run, decision.reason, existing);
  }

  private async renew(run: Run): Promise<{ ok: true; ttl: number } | { ok: false; why: string }> {
    const { client, vaultNs } = await run.client();
    const lease = run.status.secretLease;
    const increment = lease.duration ?? 0;
    try {
      const res = await client.request<LeaseResponse>(
        "PUT",
        "sys/leases/renew",
        { namespace: vaultNs, body: { lease_id: lease.id ?? "", increment } },
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

  private async renewed(run: Run, ttl: number, parentUntilMs?: number): Promise<ReconcileResult | undefined> {
    const { status } = run;
    const now = this.now();
    const lease = status.secretLease;
    this.renewedAtMs.set(run.key, now);
    status.lastRenewalTime = Math.floor(now / 1000);
    status.secretLease = { ...lease, duration: ttl };
    status.lastRuntimePodUID = RUNTIME_UID;
    status.conditions = setCondition(status.conditions, {
      type: ConditionType.LeaseRenewal,
      status: "True",
      reason: EventReason.SecretLeaseRenewal,
      message: `lease renewed for ${ttl}s`,
      observedGeneration: run.generation,
    });
    status.conditions = syncConditions(status.conditions, KIND, true, "Secret synced", run.generation, false);
    await this.engine.commit(run);
    this.ctx.recorder(KIND).normal(run.obj, EventReason.SecretLeaseRenewal, `Lease renewed (${ttl}s)`);
    run.log.info({ lease: lease.id, ttlSeconds: ttl }, "lease renewed");
    this.ctx.metrics.leaseRenewals.inc({ result: "success" });
    this.trackLease(run.key, now, ttl);
    const due = renewalDueAt(
      now,
      ttl,
      run.obj.spec.renewalPercent ?? 67,
      leaseJitter(lease.id ?? "", status.lastRenewalTime),
    );
    return this.engine.succeeded(run, this.schedule(run, Math.min(due, parentUntilMs ?? due)));
  }

  /**
   * The auth role's token ends (max TTL) before the lease hanging on it: no
   * credential can outlive its token, so this one is replaced ahead of the
   * token's end, sooner than its own TTL says. Said once per lease and token.
   */
  private warnIfTokenEndsFirst(run: Run, client: VaultClient, leaseEndsAtMs: number): void {
    const end = client.endsAtMs;
    const lease = run.status.secretLease.id ?? "";
    if (end === undefined || leaseEndsAtMs <= end || this.warned.get(run.key) === `${lease}@${client.id}`)
      return;
    this.warned.set(run.key, `${lease}@${client.id}`);
    const nowMs = this.now();
    const margin = tokenEndMarginMs(client.tokenTtlMs);
    const msg =
      `the Vault token this lease hangs on ends in ${Math.round((end - nowMs) / 1000)}s (its max TTL), before ` +
      `the lease's ${run.status.secretLease.duration ?? 0}s: the credentials will be replaced ${Math.round(margin / 1000)}s ` +
      "before the token ends; raise the auth role's token_max_ttl above the lease TTL to avoid early rotations";
    this.ctx.recorder(KIND).warning(run.obj, EventReason.SecretLeaseRenewal, msg);
    run.log.warn({ tokenEndsInS: Math.round((end - nowMs) / 1000) }, "token ends before the lease");
  }

  /** New dynamic credentials: the new lease is current, the one it replaces waits out its grace period. */
  private issue(
    run: Run,
    reason: SyncReason,
    existing: SecretObject | null,
  ): Promise<ReconcileResult | undefined> {
    const spec = run.obj.spec;
    const previousExpiryS =
      Math.floor((this.renewedAtMs.get(run.key) ?? run.status.lastRenewalTime * 1000) / 1000) +
      (run.status.secretLease.duration ?? 0);
    let now = 0;
    let response: LeaseResponse = {};
    /** When the new lease must move again because its token ends first, if that is certain. */
    let tokenDeadline: number | undefined;
    return this.engine.deliver(run, {
      write: reason,
      existing,
      issues: true,
      fetch: async (client, ns) => {
        response = await fetchCredentials(spec, client, ns);
        return fetchedOf(response);
      },
      record: (status, { client }) => {
        const lease = leaseOf(response);
        now = this.now();
        const nowS = Math.floor(now / 1000);
        const previous = status.secretLease;
        if (spec.revoke && previous.id && previous.id !== lease.id) {
          status.pendingRevocations = recordReplaced(
            status.pendingRevocations,
            previous.id,
            nowS,
            REPLACED_LEASE_GRACE_S,
            previousExpiryS,
          );
        }
        this.renewedAtMs.set(run.key, now);
        this.unknownParents.delete(run.key);
        if (lease.id) {
          client.markHoldsCredentials();
          const end = client.endsAtMs;
          tokenDeadline = end === undefined ? undefined : end - tokenEndMarginMs(client.tokenTtlMs);
          this.warnIfTokenEndsFirst(run, client, now + lease.duration * 1000);
        }
        status.lastRenewalTime = nowS;
        status.lastGeneration = run.generation;
        status.lastRuntimePodUID = RUNTIME_UID;
        status.secretLease = lease;
        if (lease.id) this.trackLease(run.key, now, lease.duration);
        status.vaultClientMeta = { cacheKey: client.cacheKey, id: client.id };
        status.conditions = syncConditions(
          status.conditions,
          KIND,
          true,
          `Secret synced (${reason})`,
          run.generation,
        );
        this.ctx.recorder(KIND).normal(run.obj, EventReason.SecretSynced, `Secret synced, reason: ${reason}`);
        run.log.info(
          { lease: lease.id, ttlSeconds: lease.duration, replaced: previous.id, reason },
          "credentials issued",
        );
        return { restart: reason !== "InitialSync" };
      },
      schedule: (status) => {
        const lease = status.secretLease;
        let until: number | undefined;
        if ((lease.duration ?? 0) > 0) {
          until = renewalDueAt(
            now,
            lease.duration ?? 0,
            spec.renewalPercent ?? 67,
            leaseJitter(lease.id ?? "", status.lastRenewalTime),
          );
        } else if (spec.refreshAfter) {
          until = now + jitteredRefresh(parseDuration(spec.refreshAfter));
        }
        if (tokenDeadline !== undefined) until = Math.min(until ?? tokenDeadline, tokenDeadline);
        return this.schedule(run, until);
      },
    });
  }

  /**
   * Static credentials (allowStaticCreds): read on every look, written when
   * they rotated. Reading them issues nothing, but a dynamic role behind
   * allowStaticCreds would: such a response is refused and its lease revoked.
   */
  private syncStatic(run: Run, existing: SecretObject | null): Promise<ReconcileResult | undefined> {
    const { ctx } = this;
    const spec = run.obj.spec;
    const lastMAC = run.status.secretMAC;
    const reason = staticSyncReason({
      lastGeneration: run.status.lastGeneration,
      generation: run.generation,
      metaChanged: run.metaChanged,
      destinationExists: existing !== null,
    });
    let mac = "";
    let rotated = false;
    let meta: NonNullable<VaultDynamicSecretStatus["staticCredsMetaData"]> | undefined;
    let response: LeaseResponse = {};
    return this.engine.deliver(run, {
      existing,
      issues: true,
      fetch: async (client, ns) => {
        response = await fetchCredentials(spec, client, ns);
        return fetchedOf(response);
      },
      check: (fetched) => {
        const mismatch = staticCredsMismatch(true, fetched.credential);
        if (mismatch) throw new StaticCredsMismatchError(mismatch);
      },
      write: (data) => {
        // The MAC ignores the fields that change on every read (ttl) or only describe the rotation.
        const macInput = Object.fromEntries(
          Object.entries(data).filter(([key]) => !STATIC_META_KEYS.includes(key)),
        );
        mac = secretDataMAC(ctx.hmacKey, macInput);
        const decision = staticCredsWrite(reason, mac, lastMAC);
        rotated = decision.rotated;
        return decision.write;
      },
      record: (status, { fetched, wrote, client }) => {
        const secrets = fetched.secrets;
        const num = (v: unknown) => (v === undefined || v === null ? 0 : Number(String(v)));
        meta = {
          lastVaultRotation: secrets.last_vault_rotation
            ? Math.floor(Date.parse(String(secrets.last_vault_rotation)) / 1000)
            : 0,
          rotationPeriod: num(secrets.rotation_period),
          rotationSchedule: secrets.rotation_schedule ? String(secrets.rotation_schedule) : "",
          ttl: num(secrets.ttl),
        };
        if (wrote) {
          ctx
            .recorder(KIND)
            .normal(
              run.obj,
              rotated ? EventReason.SecretRotated : EventReason.SecretSynced,
              rotated ? "Static credentials rotated" : `Secret synced, reason: ${reason ?? "InitialSync"}`,
            );
          if (rotated)
            run.log.info({ lastVaultRotation: meta.lastVaultRotation }, "static credentials rotated");
        }
        const now = this.now();
        this.renewedAtMs.set(run.key, now);
        status.lastRenewalTime = Math.floor(now / 1000);
        status.lastGeneration = run.generation;
        status.lastRuntimePodUID = RUNTIME_UID;
        status.secretMAC = mac;
        status.staticCredsMetaData = meta;
        status.secretLease = leaseOf(response);
        status.vaultClientMeta = { cacheKey: client.cacheKey, id: client.id };
        status.conditions = syncConditions(
          status.conditions,
          KIND,
          true,
          "Secret synced (static credentials)",
          run.generation,
        );
        return { restart: wrote && rotated };
      },
      schedule: () => {
        const poll = spec.refreshAfter ? parseDuration(spec.refreshAfter) : 30_000;
        return { requeueAfterMs: staticCredsNextLookMs(meta ?? {}, poll, Math.random()) };
      },
    });
  }
}

/** The VaultDynamicSecret controller and its watches. */
export const setupVaultDynamicSecret: Setup = (mgr) => {
  const rec = new VaultDynamicSecretReconciler(mgr.ctx);
  const informer = mgr.ctx.informers.dynamicSecrets;
  const c = setupSecretKind(mgr, CONTROLLER, informer, rec.engine, {
    workers: mgr.ctx.cfg.maxConcurrentReconcilesVds,
  });
  // A token that ends (revoked, replaced, retired) reaches every resource whose lease hangs on it,
  // as VSO's client callbacks do; the decision then says whether the credentials must move.
  mgr.ctx.clients.onTokenEnded((ended) => {
    for (const o of informer.list() as VDSObject[]) {
      if (o.status?.vaultClientMeta?.id === ended.id && o.status.secretLease?.id) c.enqueue(keyOf(o), "high");
    }
  });
};
