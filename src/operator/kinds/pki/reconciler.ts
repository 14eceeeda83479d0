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
//   (the shared pipeline, secret-sync.ts). An expiryOffset not shorter than
//   the certificate's life is clamped and reported (condition
//   ResourceValidation), never looped on.
// Certificates and keys never reach logs, events or status (serials do).
import type { VaultPKISecret, VaultPKISecretStatus } from "../../../api/index.ts";
import { ConditionType, EventReason, Finalizer } from "../../../api/index.ts";
import { CORE, type KubeObject } from "../../../kube/client.ts";
import { type Condition, setCondition } from "../../../runtime/conditions.ts";
import type { ReconcileResult } from "../../../runtime/controller.ts";
import type { MultiInformer } from "../../../runtime/multi-informer.ts";
import { formatSeconds } from "../../../util/duration.ts";
import type { VaultClient } from "../../../vault/client.ts";
import { errorMessage, type OperatorContext } from "../../context.ts";
import { classify, type ErrorClass, syncConditions } from "../../controllers/common.ts";
import { type SecretKind, SecretSync, type SyncRun } from "../../controllers/secret-sync.ts";
import { type Setup, setupSecretKind } from "../../controllers/setup.ts";
import {
  interruptedIssue,
  nextRevocationAt,
  permanentRefusal,
  recordReplaced,
} from "../../credential-ledger.ts";
import type { SecretObject } from "../../destination.ts";
import { secretDataMAC } from "../../hmac.ts";
import { IssueHoldError } from "../../issue-hold.ts";
import { VSO } from "../../resources.ts";
import { decidePKI, offsetInForce, type PKISyncReason } from "./decisions.ts";
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
} from "./pki.ts";

// The pure helpers stay importable from here, where callers first found them.
export { pkiIssuePath, pkiRequestBody, renewalDelayMs as pkiRenewIn } from "./pki.ts";

const KIND = "VaultPKISecret";
const CONTROLLER = "vaultpkisecret";
/** How long a deleted resource waits for Vault to revoke its certificates before letting go. */
const REVOKE_ON_DELETE_GIVE_UP_MS = 60_000;
/** Reason of the ResourceValidation condition when expiryOffset is clamped. */
const OFFSET_CLAMPED = "ExpiryOffsetClamped";

type PKIObject = VaultPKISecret & KubeObject;
type Run = SyncRun<PKIObject, VaultPKISecretStatus>;

function errorClass(err: unknown): ErrorClass {
  return err instanceof PKISpecError || err instanceof IssueHoldError ? "config" : classify(err);
}

function emptyStatus(): VaultPKISecretStatus {
  return { lastGeneration: 0, lastRotation: 0, valid: false, error: "" };
}

async function revokeSerial(
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

export class VaultPKISecretReconciler {
  readonly engine: SecretSync<PKIObject, VaultPKISecretStatus>;
  private readonly ctx: OperatorContext;

  constructor(ctx: OperatorContext, now: () => number = Date.now) {
    this.ctx = ctx;
    this.engine = new SecretSync(ctx, this.kind(), now);
  }

  private now(): number {
    return this.engine.now();
  }

  private kind(): SecretKind<PKIObject, VaultPKISecretStatus> {
    return {
      kind: KIND,
      controller: CONTROLLER,
      resource: VSO.VaultPKISecret,
      finalizer: Finalizer.VaultPKISecret,
      informer: (ctx) => ctx.informers.pkiSecrets as unknown as MultiInformer<PKIObject>,
      emptyStatus,
      failureVerb: "issue the certificate",
      errorClass,
      // The destination keeps whatever it holds; only the status reports the failure.
      failedStatus: (status, message) => ({
        ...status,
        lastGeneration: status.lastGeneration ?? 0,
        lastRotation: status.lastRotation ?? 0,
        valid: false,
        error: message,
      }),
      sync: (run) => this.sync(run),
      credentials: {
        events: {
          noun: "certificate",
          revokedReason: EventReason.SecretLeaseRevoke,
          failedReason: EventReason.CertificateRevocationError,
        },
        revoke: (client, vaultNs, obj, serial) => revokeSerial(client, vaultNs, obj.spec.mount, serial),
        current: (status) => status.serialNumber || undefined,
        giveUpOnDeleteAfterMs: REVOKE_ON_DELETE_GIVE_UP_MS,
      },
      onDelete: (run) => this.clearDestination(run),
    };
  }

  private async sync(run: Run): Promise<ReconcileResult | undefined> {
    const { status } = run;
    const { offsetMs } = validatePKISpec(run.obj.spec);
    // Gather: certificates whose revocation is due go first (a crash may have left one).
    const interrupted = interruptedIssue(status.pendingRevocations);
    await this.engine.revokeDue(run, false);
    const destination = status.serialNumber ? await this.engine.destinationState(run) : undefined;
    const decision = decidePKI({
      nowMs: this.now(),
      generation: run.generation,
      lastGeneration: status.lastGeneration,
      serial: status.serialNumber,
      expiration: status.expiration ?? 0,
      lastRotation: status.lastRotation ?? 0,
      offsetMs,
      metaChanged: run.metaChanged,
      destinationProblem:
        destination?.state === "missing"
          ? EventReason.InexistentDestination
          : destination?.state === "drifted"
            ? EventReason.SecretDataDrift
            : undefined,
      interrupted,
    });
    if (decision.action === "issue")
      return await this.issue(run, decision.reason, offsetMs, destination?.live);

    // Nothing to do but wait for the renewal point.
    if (status.valid !== true || status.error) {
      status.valid = true;
      status.error = "";
      status.conditions = syncConditions(
        status.conditions,
        KIND,
        true,
        "Certificate is current",
        run.generation,
      );
      await this.engine.commit(run);
    }
    const delay = renewalDelayMs(status.expiration ?? 0, decision.offsetMs, this.now());
    return this.engine.succeeded(run, { requeueAfterMs: this.nextLook(run, delay) });
  }

  /** A delay, brought forward to the next pending revocation if that comes first. */
  private nextLook(run: Run, delayMs: number): number {
    const revokeAt = nextRevocationAt(run.status.pendingRevocations);
    if (revokeAt === undefined) return delayMs;
    return Math.max(1000, Math.min(delayMs, revokeAt * 1000 - this.now()));
  }

  private issue(
    run: Run,
    reason: PKISyncReason,
    offsetMs: number,
    live: SecretObject | null | undefined,
  ): Promise<ReconcileResult | undefined> {
    const { ctx } = this;
    const spec = run.obj.spec;
    const rec = ctx.recorder(KIND);
    let issued: IssuedCertificate = {};
    let issuedAt = 0;
    let offset = { offsetMs, clamped: false };
    return this.engine.deliver(run, {
      write: reason,
      existing: live,
      issues: true,
      fetch: async (client, vaultNs) => {
        const path = pkiIssuePath(spec);
        // Taken before the request: the lifetime counts from when it was asked for, issuing takes time.
        issuedAt = Math.floor(this.now() / 1000);
        const res = await client.request<{ data?: IssuedCertificate; warnings?: string[] }>("PUT", path, {
          namespace: vaultNs,
          body: pkiRequestBody(spec),
        });
        const d = res.json?.data;
        if (!d?.certificate || !d.serial_number)
          throw new Error(`Vault PUT /v1/${path} returned no certificate`);
        issued = d;
        const fields = pkiSecretFields(d);
        return {
          secrets: fields,
          raw: d,
          credential: d.serial_number,
          defaultFields: spec.destination.type === "kubernetes.io/tls" ? tlsFields(d) : undefined,
        };
      },
      record: async (status, { data, client }) => {
        const serial = issued.serial_number ?? "";
        status.vaultClientMeta = { cacheKey: client.cacheKey, id: client.id };
        // Its token stays known after the client is let go, to revoke the certificate with.
        if (spec.revoke) client.markHoldsCredentials();
        const expiration = expirationOf(issued);
        // With revoke the previous certificate is revoked right away, or recorded for the next look if Vault did not answer.
        const previousSerial = status.serialNumber;
        const rotated = Boolean(previousSerial);
        if (spec.revoke && previousSerial && previousSerial !== serial) {
          const { vaultNs } = await run.client();
          try {
            await revokeSerial(client, vaultNs, spec.mount, previousSerial);
            rec.normal(run.obj, EventReason.SecretLeaseRevoke, `Revoked certificate ${previousSerial}`);
            run.log.info({ serial: previousSerial }, "certificate revoked");
          } catch (err) {
            rec.warning(
              run.obj,
              EventReason.CertificateRevocationError,
              `Could not revoke certificate ${previousSerial}: ${errorMessage(err)}`,
            );
            run.log.error(
              { serial: previousSerial, err: errorMessage(err) },
              "certificate revocation failed",
            );
            if (!permanentRefusal(err)) {
              status.pendingRevocations = recordReplaced(
                status.pendingRevocations,
                previousSerial,
                issuedAt,
                0,
                status.expiration,
              );
            }
          }
        }
        offset = offsetInForce(offsetMs, expiration, issuedAt);
        let conditions: Condition[] | undefined = syncConditions(
          status.conditions,
          KIND,
          true,
          `Certificate ${serial} issued (${reason})`,
          run.generation,
        );
        conditions = this.offsetCondition(run, conditions, offset.clamped, expiration - issuedAt);
        const expires = new Date(expiration * 1000).toISOString();
        rec.normal(
          run.obj,
          rotated ? EventReason.SecretRotated : EventReason.SecretSynced,
          `Certificate ${serial} issued (${reason}), expires ${expires}`,
        );
        run.log.info({ serial, replaced: previousSerial, expires, reason }, "certificate issued");
        Object.assign(status, {
          serialNumber: serial,
          expiration,
          lastGeneration: run.generation,
          lastRotation: issuedAt,
          secretMAC: secretDataMAC(ctx.hmacKey, data),
          valid: true,
          error: "",
          conditions,
        });
        return { restart: rotated };
      },
      schedule: (status, backoff) => {
        const expiration = status.expiration ?? 0;
        if (inRenewalWindow(expiration, offset.offsetMs, issuedAt, this.now())) {
          // The new certificate is due at once (it lives about a second, or
          // spec.notAfter is upon us): re-issue, but not in a tight loop.
          rec.warning(
            run.obj,
            EventReason.InRenewalWindow,
            `Certificate ${status.serialNumber} is due for renewal as soon as it is issued; retrying with backoff`,
          );
          return { requeueAfterMs: backoff() };
        }
        return {
          requeueAfterMs: this.nextLook(run, renewalDelayMs(expiration, offset.offsetMs, this.now())),
        };
      },
    });
  }

  /** ResourceValidation: False while spec.expiryOffset is clamped, True once it no longer needs to be. */
  private offsetCondition(
    run: Run,
    conditions: Condition[] | undefined,
    clamped: boolean,
    lifetimeS: number,
  ): Condition[] | undefined {
    const spec = run.obj.spec;
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
        observedGeneration: run.generation,
      });
    }
    const message =
      `spec.expiryOffset ${spec.expiryOffset} is not shorter than the certificate's lifetime ` +
      `(${formatSeconds(lifetimeS * 1000)}); renewing at half of the lifetime instead`;
    this.ctx.recorder(KIND).warning(run.obj, EventReason.InRenewalWindow, message);
    run.log.info(
      { field: "spec.expiryOffset" },
      "expiryOffset clamped to half of the certificate's lifetime",
    );
    return setCondition(conditions, {
      type: ConditionType.ResourceValidation,
      status: "False",
      reason: OFFSET_CLAMPED,
      message,
      observedGeneration: run.generation,
    });
  }

  /** clear: a create:false destination is blanked on delete (a created one goes with its owner). */
  private async clearDestination(run: Run): Promise<ReconcileResult | undefined> {
    const spec = run.obj.spec;
    if (!spec.clear || spec.destination.create) return undefined;
    try {
      const live = await this.engine.readDestination(run);
      if (live && Object.keys(live.data ?? {}).length > 0) {
        await this.ctx.kube.patch(
          CORE.secrets,
          run.owner.namespace,
          spec.destination.name,
          [{ op: "add", path: "/data", value: {} }],
          "json",
        );
        run.log.info({ secret: spec.destination.name }, "destination cleared");
      }
    } catch (err) {
      run.log.info({ err: errorMessage(err) }, "clearing the destination failed");
      return { requeueAfterMs: this.ctx.backoff.configError(CONTROLLER, run.key, "clear") };
    }
    return undefined;
  }
}

/** The VaultPKISecret controller and its watches. */
export const setupVaultPKISecret: Setup = (mgr) => {
  const rec = new VaultPKISecretReconciler(mgr.ctx);
  setupSecretKind(mgr, CONTROLLER, mgr.ctx.informers.pkiSecrets, rec.engine);
};
