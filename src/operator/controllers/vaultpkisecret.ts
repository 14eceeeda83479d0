// VaultPKISecret: certificates from a Vault PKI engine, kept fresh.
// - Issued through <mount>/issue/<role>, or with issuerRef through the path
//   Vault documents, <mount>/issuer/<ref>/issue/<role>.
// - Re-issued when the renewal point (expiration - expiryOffset) is reached,
//   whatever triggered the reconcile, so a certificate is never left sitting
//   in its renewal window (VSO #1064); when the spec changes (VSO #465); when
//   the resource's labels or annotations change (ForceSync); and when the
//   destination is deleted or its data drifted (HMAC).
// - An operator restart re-reads the status and the live Secret and does not
//   re-issue a certificate that is still good.
// - kubernetes.io/tls destinations without templates get tls.crt (certificate
//   plus chain), tls.key and ca.crt besides VSO's fields.
// - revoke: the previous serial is revoked after a rotation, the current one
//   on delete (finalizer); clear: a create:false destination is blanked on delete.
// - Vault trouble leaves the destination untouched and retries with backoff.
// - No certificate is minted in vain: the destination (ownership, and name and
//   shape through a dry run) and the transformation are checked before Vault
//   is asked; an issued serial is recorded in status.pendingRevocations before
//   anything else can fail, and a certificate that never reaches the
//   destination is revoked at once, with no new one for the same inputs
//   (issue-hold.ts). An expiryOffset not shorter than the certificate's life
//   is clamped and reported (condition ResourceValidation), never looped on.
// Certificates and keys never reach logs, events or status (serials do).
import type { VaultPKISecret, VaultPKISecretStatus } from "../../api/index.ts";
import { ConditionType, EventReason, Finalizer, OwnerLabel } from "../../api/index.ts";
import { CORE, KubeApiError, type KubeObject } from "../../kube/client.ts";
import { type Condition, setCondition } from "../../runtime/conditions.ts";
import type { ReconcileResult } from "../../runtime/controller.ts";
import type { MultiInformer } from "../../runtime/multi-informer.ts";
import { formatSeconds } from "../../util/duration.ts";
import type { VaultClient } from "../../vault/client.ts";
import { configErrorRequeue } from "../backoff.ts";
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
  nextRevocationAt,
  permanentRefusal,
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
import { macEqual, secretDataMAC } from "../hmac.ts";
import { IssueHoldError, IssueHolds, issueInputs } from "../issue-hold.ts";
import { decidePKI, offsetInForce, type PKISyncReason } from "../pki/decisions.ts";
import {
  expirationOf,
  type IssuedCertificate,
  inRenewalWindow,
  PKISpecError,
  pkiIssuePath,
  pkiRequestBody,
  pkiRevokePath,
  pkiSecretFields,
  renewalDelayMs,
  tlsFields,
  validatePKISpec,
} from "../pki/pki.ts";
import { VSO } from "../resources.ts";
import { buildSecretData, fromSecretData } from "../secret-data.ts";
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

// The pure helpers stay importable from here, where callers first found them.
export { pkiIssuePath, pkiRequestBody, renewalDelayMs as pkiRenewIn } from "../pki/pki.ts";

const KIND = "VaultPKISecret";
const CONTROLLER = "vaultpkisecret";
/** How long a deleted resource waits for Vault to revoke its certificates before letting go. */
const REVOKE_ON_DELETE_GIVE_UP_MS = 60_000;
/** Reason of the ResourceValidation condition when expiryOffset is clamped. */
const OFFSET_CLAMPED = "ExpiryOffsetClamped";

type PKIObject = VaultPKISecret & KubeObject;

function errorClass(err: unknown): ErrorClass {
  return err instanceof PKISpecError || err instanceof IssueHoldError ? "config" : classify(err);
}

function metaHashOf(o: KubeObject): string {
  return JSON.stringify([o.metadata.labels ?? {}, o.metadata.annotations ?? {}]);
}

function emptyStatus(): VaultPKISecretStatus {
  return { lastGeneration: 0, lastRotation: 0, valid: false, error: "" };
}

export class VaultPKISecretReconciler {
  private readonly ctx: OperatorContext;
  private readonly statuses = new StatusMemory<VaultPKISecretStatus>();
  /** resourceVersion of the destination Secret as we last wrote or verified it, per resource key. */
  private readonly lastSeenRV = new Map<string, string>();
  /** Labels and annotations at the last successful reconcile, to detect ForceSync. */
  private readonly metaSeen = new Map<string, string>();
  private readonly holds = new IssueHolds();
  /** The clock (injectable for tests). */
  private readonly now: () => number;

  constructor(ctx: OperatorContext, now: () => number = Date.now) {
    this.ctx = ctx;
    this.now = now;
  }

  private get informer() {
    return this.ctx.informers.pkiSecrets as unknown as MultiInformer<PKIObject>;
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
    this.statuses.forget(k);
    this.lastSeenRV.delete(k);
    this.metaSeen.delete(k);
    this.holds.release(k);
    this.ctx.backoff.reset(k);
  }

  private setHealthMetric(key: { namespace: string; name: string }, ok: boolean): void {
    this.ctx.metrics.resourceStatus.set(
      { controller: CONTROLLER, name: key.name, namespace: key.namespace },
      ok ? 1 : 0,
    );
  }

  /** Writes status and remembers it (only once written, so memory never runs ahead of the server). */
  private async commit(vps: PKIObject, k: string, status: VaultPKISecretStatus): Promise<void> {
    // A copy: updateStatus keeps what it wrote as the object's status, and the
    // caller goes on changing its own (a shared object would compare equal and never be written).
    await updateStatus(this.ctx.kube, VSO.VaultPKISecret, vps, structuredClone(status));
    this.statuses.remember(k, vps.metadata.uid, status);
  }

  async reconcile(key: { namespace: string; name: string }): Promise<ReconcileResult | undefined> {
    const { ctx } = this;
    const k = `${key.namespace}/${key.name}`;
    const vps = this.informer.get(key.namespace, key.name);
    if (!vps) {
      this.forget(k);
      ctx.metrics.resourceStatus.remove({ controller: CONTROLLER, name: key.name, namespace: key.namespace });
      return;
    }
    vps.status = this.statuses.freshest(k, vps.metadata.uid, vps.status);
    if (vps.metadata.deletionTimestamp) return await this.finalize(vps, k);

    const spec = vps.spec;
    const generation = vps.metadata.generation ?? 0;
    const status: VaultPKISecretStatus = structuredClone(vps.status ?? emptyStatus());
    const owner: Owner = {
      apiVersion: vps.apiVersion ?? "secrets.hashicorp.com/v1beta1",
      kind: KIND,
      name: key.name,
      namespace: key.namespace,
      uid: vps.metadata.uid ?? "",
    };
    const metaHash = metaHashOf(vps);
    const prevMeta = this.metaSeen.get(k);
    try {
      const { offsetMs } = validatePKISpec(spec);
      // Gather: certificates whose revocation is due go first (a crash may have left one).
      const interrupted = interruptedIssue(status.pendingRevocations);
      if (dueRevocations(status.pendingRevocations, Math.floor(this.now() / 1000)).length > 0) {
        const { client, resolved } = await vaultClientFor(ctx, owner.namespace, spec.vaultAuthRef);
        await this.revokeDue(vps, k, status, client, spec.namespace || resolved.spec.namespace, false);
      }
      const decision = decidePKI({
        nowMs: this.now(),
        generation,
        lastGeneration: status.lastGeneration,
        serial: status.serialNumber,
        expiration: status.expiration ?? 0,
        lastRotation: status.lastRotation ?? 0,
        offsetMs,
        metaChanged: prevMeta !== undefined && prevMeta !== metaHash,
        destinationProblem: status.serialNumber
          ? await this.destinationProblem(vps, k, owner, status)
          : undefined,
        interrupted,
      });
      if (decision.action === "issue") {
        return await this.issue(vps, k, owner, status, decision.reason, offsetMs, metaHash);
      }

      // Nothing to do but wait for the renewal point.
      this.metaSeen.set(k, metaHash);
      if (status.valid !== true || status.error) {
        status.valid = true;
        status.error = "";
        status.conditions = syncConditions(
          status.conditions,
          KIND,
          true,
          "Certificate is current",
          generation,
        );
        await this.commit(vps, k, status);
      }
      ctx.backoff.reset(k);
      this.setHealthMetric(key, true);
      return {
        requeueAfterMs: this.nextLook(renewalDelayMs(status.expiration ?? 0, decision.offsetMs), status),
      };
    } catch (err) {
      return await this.failed(vps, k, err);
    }
  }

  /** A delay, brought forward to the next pending revocation if that comes first. */
  private nextLook(delayMs: number, status: VaultPKISecretStatus): number {
    const revokeAt = nextRevocationAt(status.pendingRevocations);
    if (revokeAt === undefined) return delayMs;
    return Math.max(1000, Math.min(delayMs, revokeAt * 1000 - this.now()));
  }

  /** Why the destination needs a new certificate (deleted, drifted, taken over), if it does. */
  private async destinationProblem(
    vps: PKIObject,
    k: string,
    owner: Owner,
    status: VaultPKISecretStatus,
  ): Promise<typeof EventReason.InexistentDestination | typeof EventReason.SecretDataDrift | undefined> {
    const { ctx } = this;
    const dest = vps.spec.destination;
    // With create: true the owned-Secret informer tells us cheaply whether the
    // Secret is still the one we last wrote or verified.
    const meta = dest.create ? ctx.informers.ownedSecrets.get(owner.namespace, dest.name) : undefined;
    if (meta && meta.metadata.resourceVersion === this.lastSeenRV.get(k)) return undefined;
    const live = await ctx.kube.getOrNull<SecretObject>(CORE.secrets, owner.namespace, dest.name);
    if (!live) return EventReason.InexistentDestination;
    const sameData = macEqual(secretDataMAC(ctx.hmacKey, fromSecretData(live.data)), status.secretMAC);
    const sameShape =
      !dest.create || (isOwnedBy(live, owner) && (live.type || "Opaque") === (dest.type || "Opaque"));
    if (!sameData || !sameShape) return EventReason.SecretDataDrift;
    this.lastSeenRV.set(k, live.metadata.resourceVersion ?? "");
    return undefined;
  }

  private async issue(
    vps: PKIObject,
    k: string,
    owner: Owner,
    status: VaultPKISecretStatus,
    reason: PKISyncReason,
    offsetMs: number,
    metaHash: string,
  ): Promise<ReconcileResult> {
    const { ctx } = this;
    const spec = vps.spec;
    const dest = spec.destination;
    const generation = vps.metadata.generation ?? 0;
    const rec = ctx.recorder(KIND);

    // Preconditions: refuse before issuing when the certificate could not be
    // delivered anyway, so a misconfigured resource does not mint certificates in a loop.
    const current = await ctx.kube.getOrNull<SecretObject>(CORE.secrets, owner.namespace, dest.name);
    // A destination this resource wrote for the same generation needs no dry run: its shape was accepted.
    const shapeAccepted =
      status.lastGeneration === generation && current !== null && isOwnedBy(current, owner);
    await checkDestinationWritable(ctx.kube, owner, dest, current, shapeAccepted);
    const transformation = checkTransformation(ctx, vps, dest.transformation);
    const inputs = issueInputs([generation, metaHash, transformation]);
    const held = this.holds.check(k, inputs);
    if (held) throw held;
    // The finalizer goes on before there is anything in Vault to revoke.
    await ensureFinalizer(ctx.kube, VSO.VaultPKISecret, vps, Finalizer.VaultPKISecret);

    const { client, resolved } = await vaultClientFor(ctx, owner.namespace, spec.vaultAuthRef);
    const vaultNs = spec.namespace || resolved.spec.namespace;
    const path = pkiIssuePath(spec);
    // Taken before the request: the lifetime counts from when it was asked for, issuing takes time.
    const issuedAt = Math.floor(this.now() / 1000);
    const res = await client.request<{ data?: IssuedCertificate; warnings?: string[] }>("PUT", path, {
      namespace: vaultNs,
      body: pkiRequestBody(spec),
    });
    const d = res.json?.data;
    if (!d?.certificate || !d.serial_number) throw new Error(`Vault PUT /v1/${path} returned no certificate`);
    const serial = d.serial_number;
    const expiration = expirationOf(d);
    // Recorded before anything else can fail; if even this fails, the certificate is revoked at once.
    status.pendingRevocations = recordIssued(status.pendingRevocations, serial, issuedAt);
    try {
      await this.commit(vps, k, status);
    } catch (err) {
      await this.revokeSerial(client, vaultNs, spec.mount, serial).catch(() => {});
      throw err;
    }

    let data: Record<string, Buffer>;
    try {
      const fields = pkiSecretFields(d);
      const tr = dest.transformation;
      const rendered = await renderTransformation(ctx, vps, tr, fields, {});
      const tls = dest.type === "kubernetes.io/tls" && !rendered.values ? tlsFields(d) : {};
      data = buildSecretData({
        secrets: fields,
        raw: d,
        filter: rendered.filter,
        excludeRaw: Boolean(tr?.excludeRaw) || ctx.cfg.globalTransformationOptions.includes("exclude-raw"),
        rendered: { ...tls, ...(rendered.values ?? {}) },
      });
      const written = await writeDestination(ctx.kube, owner, dest, data, current);
      this.lastSeenRV.set(k, written.secret.metadata.resourceVersion ?? "");
      ctx.metrics.secretWrites.inc({ controller: CONTROLLER, action: written.action });
    } catch (err) {
      // Nobody will ever hold this certificate: take it back now, whatever spec.revoke says.
      status.pendingRevocations = recordUnused(status.pendingRevocations, serial, issuedAt);
      await this.revokeDue(vps, k, status, client, vaultNs, false).catch(() => {});
      if (errorClass(err) === "config" || (err instanceof KubeApiError && err.status === 422)) {
        this.holds.hold(k, inputs, err);
      }
      throw err;
    }
    this.holds.release(k);

    // Commit: the new certificate is current; with revoke the previous one is
    // revoked right away, or recorded for the next look if Vault did not answer.
    const previousSerial = status.serialNumber;
    const rotated = Boolean(previousSerial);
    let pending = confirmDelivered(status.pendingRevocations, serial);
    if (spec.revoke && previousSerial && previousSerial !== serial) {
      try {
        await this.revokeSerial(client, vaultNs, spec.mount, previousSerial);
        rec.normal(vps, EventReason.SecretLeaseRevoke, `Revoked certificate ${previousSerial}`);
      } catch (err) {
        rec.warning(
          vps,
          EventReason.CertificateRevocationError,
          `Could not revoke certificate ${previousSerial}: ${errorMessage(err)}`,
        );
        if (!permanentRefusal(err)) {
          pending = recordReplaced(pending, previousSerial, issuedAt, 0, status.expiration);
        }
      }
    }
    const offset = offsetInForce(offsetMs, expiration, issuedAt);
    let conditions: Condition[] | undefined = syncConditions(
      status.conditions,
      KIND,
      true,
      `Certificate ${serial} issued (${reason})`,
      generation,
    );
    conditions = this.offsetCondition(vps, conditions, offset.clamped, expiration - issuedAt);
    rec.normal(
      vps,
      rotated ? EventReason.SecretRotated : EventReason.SecretSynced,
      `Certificate ${serial} issued (${reason}), expires ${new Date(expiration * 1000).toISOString()}`,
    );
    if (rotated) {
      conditions = await restartWorkloads(ctx, KIND, vps, spec.rolloutRestartTargets ?? [], conditions);
    }
    const next: VaultPKISecretStatus = {
      ...status,
      serialNumber: serial,
      expiration,
      lastGeneration: generation,
      lastRotation: issuedAt,
      secretMAC: secretDataMAC(ctx.hmacKey, data),
      valid: true,
      error: "",
      pendingRevocations: pending,
      conditions,
    };
    await this.commit(vps, k, next);
    this.metaSeen.set(k, metaHash);

    // Prune Secrets this resource created under an earlier destination.name.
    const stale = ctx.informers.ownedSecrets
      .list(owner.namespace)
      .filter(
        (s) => s.metadata.labels?.[OwnerLabel.OwnerRefUID] === owner.uid && s.metadata.name !== dest.name,
      );
    if (stale.length > 0) {
      const pruned = await pruneOrphans(ctx.kube, owner, dest.name, stale);
      if (pruned.length > 0) {
        rec.normal(vps, EventReason.SecretSynced, `Deleted orphaned Secret(s) ${pruned.join(", ")}`);
      }
    }

    this.setHealthMetric(owner, true);
    if (inRenewalWindow(expiration, offset.offsetMs, issuedAt, this.now())) {
      // The new certificate is due at once (it lives about a second, or
      // spec.notAfter is upon us): re-issue, but not in a tight loop.
      rec.warning(
        vps,
        EventReason.InRenewalWindow,
        `Certificate ${serial} is due for renewal as soon as it is issued; retrying with backoff`,
      );
      return { requeueAfterMs: ctx.backoff.next(k) };
    }
    ctx.backoff.reset(k);
    return { requeueAfterMs: this.nextLook(renewalDelayMs(expiration, offset.offsetMs), next) };
  }

  /** ResourceValidation: False while spec.expiryOffset is clamped, True once it no longer needs to be. */
  private offsetCondition(
    vps: PKIObject,
    conditions: Condition[] | undefined,
    clamped: boolean,
    lifetimeS: number,
  ): Condition[] | undefined {
    const spec = vps.spec;
    const had = conditions?.some(
      (c) => c.type === ConditionType.ResourceValidation && c.reason === OFFSET_CLAMPED,
    );
    if (!clamped && !had) return conditions;
    if (!clamped) {
      return setCondition(conditions, {
        type: ConditionType.ResourceValidation,
        status: "True",
        reason: "Valid",
        message: "spec.expiryOffset is shorter than the certificate's lifetime",
        observedGeneration: vps.metadata.generation,
      });
    }
    const message =
      `spec.expiryOffset ${spec.expiryOffset} is not shorter than the certificate's lifetime ` +
      `(${formatSeconds(lifetimeS * 1000)}); renewing at half of the lifetime instead`;
    this.ctx.recorder(KIND).warning(vps, EventReason.InRenewalWindow, message);
    return setCondition(conditions, {
      type: ConditionType.ResourceValidation,
      status: "False",
      reason: OFFSET_CLAMPED,
      message,
      observedGeneration: vps.metadata.generation,
    });
  }

  private async failed(vps: PKIObject, k: string, err: unknown): Promise<ReconcileResult> {
    const { ctx } = this;
    // Build on the last status written: it holds every serial recorded during the attempt.
    const status = structuredClone(this.statuses.freshest(k, vps.metadata.uid, vps.status) ?? emptyStatus());
    const generation = vps.metadata.generation ?? 0;
    const cls = errorClass(err);
    const { message, reason } = describeFailure(cls, err);
    ctx.recorder(KIND).warning(vps, reason, `Failed to issue the certificate: ${message}`);
    // The destination keeps whatever it holds; only the status reports the failure.
    const next: VaultPKISecretStatus = {
      ...status,
      lastGeneration: status.lastGeneration ?? 0,
      lastRotation: status.lastRotation ?? 0,
      valid: false,
      error: message,
      conditions: syncConditions(status.conditions, KIND, false, message, generation),
    };
    await this.commit(vps, k, next).catch((e) =>
      ctx.log.warn({ key: k, err: errorMessage(e) }, "status update failed"),
    );
    this.setHealthMetric({ namespace: vps.metadata.namespace ?? "", name: vps.metadata.name ?? "" }, false);
    ctx.log.error({ controller: CONTROLLER, key: k, reason, error: message }, "sync failed");
    // The queue owns the retry; pending revocations still bring the resource back when they fall due.
    if (cls === "config")
      return { failure: "configuration", requeueAfterMs: this.nextLook(configErrorRequeue(), next) };
    const revokeAt = nextRevocationAt(next.pendingRevocations);
    return {
      failure: "transient",
      requeueAfterMs: revokeAt === undefined ? undefined : Math.max(1000, revokeAt * 1000 - this.now()),
    };
  }

  private async revokeSerial(
    client: VaultClient,
    vaultNs: string | undefined,
    mount: string,
    serial: string,
  ): Promise<void> {
    await client.request(
      "PUT",
      pkiRevokePath(mount),
      { namespace: vaultNs, body: { serial_number: serial } },
      "revoke",
    );
  }

  /**
   * Revokes the recorded certificates that are due (all of them when `all`),
   * reports each outcome, and commits what is left. Returns whether nothing
   * failed for a reason a retry could cure.
   */
  private async revokeDue(
    vps: PKIObject,
    k: string,
    status: VaultPKISecretStatus,
    client: VaultClient,
    vaultNs: string | undefined,
    all: boolean,
  ): Promise<boolean> {
    const due = dueRevocations(status.pendingRevocations, Math.floor(this.now() / 1000), all);
    const out = await revokeAndReport(
      vps,
      this.ctx.recorder(KIND),
      {
        noun: "certificate",
        revokedReason: EventReason.SecretLeaseRevoke,
        failedReason: EventReason.CertificateRevocationError,
      },
      status.pendingRevocations,
      due,
      (serial) => this.revokeSerial(client, vaultNs, vps.spec.mount, serial),
    );
    if (!out) return true;
    status.pendingRevocations = out.remaining;
    await this.commit(vps, k, status);
    return out.ok;
  }

  private async finalize(vps: PKIObject, k: string): Promise<ReconcileResult | undefined> {
    const { ctx } = this;
    if (!(vps.metadata.finalizers ?? []).includes(Finalizer.VaultPKISecret)) {
      this.forget(k);
      return;
    }
    const spec = vps.spec;
    const status = structuredClone(vps.status ?? emptyStatus());
    // Every recorded certificate that is not current goes whatever spec.revoke
    // says (nobody holds it, or it was replaced under revoke: true); the current one with revoke.
    if (spec.revoke && status.serialNumber) {
      status.pendingRevocations = recordUnused(status.pendingRevocations, status.serialNumber, 0);
    }
    if ((status.pendingRevocations ?? []).length > 0) {
      let failure: unknown;
      try {
        const { client, resolved } = await vaultClientFor(
          ctx,
          vps.metadata.namespace ?? "",
          spec.vaultAuthRef,
        );
        const vaultNs = spec.namespace || resolved.spec.namespace;
        if (!(await this.revokeDue(vps, k, status, client, vaultNs, true))) failure = "Vault did not answer";
      } catch (err) {
        failure = err;
      }
      if (failure !== undefined) {
        const deletedAt = Date.parse(String(vps.metadata.deletionTimestamp ?? ""));
        const waited = Number.isNaN(deletedAt) ? 0 : this.now() - deletedAt;
        const hopeless = errorClass(failure) === "config" || permanentRefusal(failure);
        if (!hopeless && waited < REVOKE_ON_DELETE_GIVE_UP_MS) {
          return { requeueAfterMs: ctx.backoff.next(k) };
        }
        ctx
          .recorder(KIND)
          .warning(
            vps,
            EventReason.CertificateRevocationError,
            `Certificates ${(status.pendingRevocations ?? []).map((e) => e.id).join(", ")} were not revoked; letting the resource go (${errorMessage(failure)})`,
          );
      }
    }
    if (spec.clear && !spec.destination.create) {
      try {
        const live = await ctx.kube.getOrNull<SecretObject>(
          CORE.secrets,
          vps.metadata.namespace,
          spec.destination.name,
        );
        if (live && Object.keys(live.data ?? {}).length > 0) {
          await ctx.kube.patch(
            CORE.secrets,
            vps.metadata.namespace,
            spec.destination.name,
            [{ op: "add", path: "/data", value: {} }],
            "json",
          );
        }
      } catch (err) {
        ctx.log.info(
          { controller: CONTROLLER, key: k, err: errorMessage(err) },
          "clearing the destination failed",
        );
        return { requeueAfterMs: configErrorRequeue() };
      }
    }
    await removeFinalizer(ctx.kube, VSO.VaultPKISecret, vps, Finalizer.VaultPKISecret);
    this.forget(k);
    return undefined;
  }
}

/** The VaultPKISecret controller and its watches. */
export const setupVaultPKISecret: Setup = (mgr) => {
  const rec = new VaultPKISecretReconciler(mgr.ctx);
  setupSecretKind(mgr, CONTROLLER, mgr.ctx.informers.pkiSecrets, rec);
};
