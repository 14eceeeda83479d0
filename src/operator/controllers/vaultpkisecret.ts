// VaultPKISecret: certificates from a Vault PKI engine, kept fresh.
// - Issued through <mount>/issue/<role>, or <mount>/issuer/<ref>/issue/<role>
//   with issuerRef (the documented path).
// - Re-issued when expiration - expiryOffset is reached (never stuck in the
//   window, VSO #1064), when the spec changes (VSO #465), when labels or
//   annotations change, and when the destination is deleted or its data drifts.
// - kubernetes.io/tls destinations get tls.crt (certificate plus chain),
//   tls.key and ca.crt besides the raw fields.
// - revoke: the previous serial is revoked after a rotation, the current one on
//   delete; clear: the data of a create:false destination is blanked on delete.
// Certificates and keys never reach logs, events or status (the serial does).
import type { VaultPKISecret, VaultPKISecretStatus } from "../../api/index.ts";
import { EventReason, Finalizer, OwnerLabel } from "../../api/index.ts";
import { CORE, type KubeObject } from "../../kube/client.ts";
import type { Controller, ReconcileResult } from "../../runtime/controller.ts";
import type { MultiInformer } from "../../runtime/multi-informer.ts";
import { parseDuration } from "../../util/duration.ts";
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
import { isOwnedBy, type Owner, pruneOrphans, type SecretObject, writeDestination } from "../destination.ts";
import { macEqual, secretDataMAC } from "../hmac.ts";
import { VSO } from "../resources.ts";
import { buildSecretData, fromSecretData } from "../secret-data.ts";
import {
  classify,
  errorField,
  ownerKeyOfSecretEvent,
  restartWorkloads,
  syncConditions,
  vaultClientFor,
} from "./common.ts";
import { renderTransformation } from "./transformation.ts";

const KIND = "VaultPKISecret";

export function pkiIssuePath(spec: VaultPKISecret["spec"]): string {
  const mount = spec.mount.replace(/^\/+|\/+$/g, "");
  return spec.issuerRef
    ? `${mount}/issuer/${spec.issuerRef}/issue/${spec.role}`
    : `${mount}/issue/${spec.role}`;
}

export function pkiRequestBody(spec: VaultPKISecret["spec"]): Record<string, unknown> {
  const body: Record<string, unknown> = { remove_roots_from_chain: true };
  const join = (v?: string[]) => (v && v.length > 0 ? v.join(",") : undefined);
  const fields: Record<string, unknown> = {
    common_name: spec.commonName,
    alt_names: join(spec.altNames),
    ip_sans: join(spec.ipSans),
    uri_sans: join(spec.uriSans),
    other_sans: join(spec.otherSans),
    user_ids: join(spec.userIDs),
    ttl: spec.ttl,
    format: spec.format,
    private_key_format: spec.privateKeyFormat,
    not_after: spec.notAfter,
    exclude_cn_from_sans: spec.excludeCNFromSans || undefined,
  };
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== "") body[k] = v;
  return body;
}

/** Milliseconds until the certificate should be re-issued (at least 1 s), with up to 5 % early jitter. */
export function pkiRenewIn(expirationS: number, offsetMs: number, now = Date.now()): number {
  const horizon = expirationS * 1000 - offsetMs - now;
  if (horizon <= 1000) return 1000;
  return Math.max(1000, Math.round(horizon * (1 - 0.05 * Math.random())));
}

interface IssueResponse {
  data?: {
    certificate?: string;
    private_key?: string;
    issuing_ca?: string;
    ca_chain?: string[];
    serial_number?: string;
    expiration?: number | { valueOf(): number };
    private_key_type?: string;
  };
}

export class VaultPKISecretReconciler {
  private readonly ctx: OperatorContext;
  controller?: Controller;
  private readonly statuses = new StatusMemory<VaultPKISecretStatus>();
  private readonly lastSeenRV = new Map<string, string>();
  private readonly metaSeen = new Map<string, string>();

  constructor(ctx: OperatorContext) {
    this.ctx = ctx;
  }

  private get informer() {
    return this.ctx.informers.pkiSecrets as unknown as MultiInformer<VaultPKISecret & KubeObject>;
  }

  onOwnedSecretEvent(secret: KubeObject, deleted: boolean): void {
    const ns = secret.metadata.namespace ?? "";
    const key = ownerKeyOfSecretEvent(this.informer.list(ns), secret, deleted, this.lastSeenRV);
    if (key) this.controller?.enqueue(key, "high");
  }

  async reconcile(key: { namespace: string; name: string }): Promise<ReconcileResult | undefined> {
    const { ctx } = this;
    const k = `${key.namespace}/${key.name}`;
    const vps = this.informer.get(key.namespace, key.name);
    if (!vps) {
      this.statuses.forget(k);
      this.lastSeenRV.delete(k);
      this.metaSeen.delete(k);
      ctx.metrics.resourceStatus.remove({
        controller: "vaultpkisecret",
        name: key.name,
        namespace: key.namespace,
      });
      return;
    }
    vps.status = this.statuses.freshest(k, vps.metadata.uid, vps.status);
    if (vps.metadata.deletionTimestamp) return await this.finalize(vps, k);
    const spec = vps.spec;
    const generation = vps.metadata.generation ?? 0;
    const status: VaultPKISecretStatus = structuredClone(
      vps.status ?? { lastGeneration: 0, lastRotation: 0, valid: false, error: "" },
    );
    const owner: Owner = {
      apiVersion: vps.apiVersion ?? "secrets.hashicorp.com/v1beta1",
      kind: KIND,
      name: key.name,
      namespace: key.namespace,
      uid: vps.metadata.uid ?? "",
    };
    const metaHash = JSON.stringify([vps.metadata.labels ?? {}, vps.metadata.annotations ?? {}]);
    const prevMeta = this.metaSeen.get(k);
    this.metaSeen.set(k, metaHash);
    try {
      const offsetMs = spec.expiryOffset ? parseDuration(spec.expiryOffset) : 0;
      let reason: string | undefined;
      if (!status.serialNumber || !status.lastGeneration) reason = "InitialSync";
      else if (status.lastGeneration !== generation) reason = "ResourceUpdated";
      else if (prevMeta !== undefined && prevMeta !== metaHash) reason = "ForceSync";
      else if ((status.expiration ?? 0) * 1000 - offsetMs <= Date.now()) reason = "InRenewalWindow";
      else {
        const meta = spec.destination.create
          ? ctx.informers.ownedSecrets.get(key.namespace, spec.destination.name)
          : undefined;
        if (!meta || meta.metadata.resourceVersion !== this.lastSeenRV.get(k)) {
          const live = await ctx.kube.getOrNull<SecretObject>(
            CORE.secrets,
            key.namespace,
            spec.destination.name,
          );
          if (!live) reason = "InexistentDestination";
          else if (
            !macEqual(secretDataMAC(ctx.hmacKey, fromSecretData(live.data)), status.secretMAC) ||
            (spec.destination.create && !isOwnedBy(live, owner))
          ) {
            reason = "SecretDataDrift";
          } else this.lastSeenRV.set(k, live.metadata.resourceVersion ?? "");
        }
      }
      if (!reason) {
        ctx.backoff.reset(k);
        ctx.metrics.resourceStatus.set(
          { controller: "vaultpkisecret", name: key.name, namespace: key.namespace },
          1,
        );
        return { requeueAfterMs: pkiRenewIn(status.expiration ?? 0, offsetMs) };
      }
      return await this.issue(vps, k, owner, status, reason, offsetMs);
    } catch (err) {
      const cls = classify(err);
      const field = errorField(err);
      const message = field ? `${field}: ${errorMessage(err)}` : errorMessage(err);
      const evReason = cls === "config" ? EventReason.InvalidConfiguration : EventReason.VaultClientError;
      ctx.recorder(KIND).warning(vps, evReason, `Failed to issue the certificate: ${message}`);
      status.conditions = syncConditions(status.conditions, KIND, false, message, generation);
      status.valid = false;
      status.error = message;
      this.statuses.remember(k, vps.metadata.uid, status);
      await updateStatus(ctx.kube, VSO.VaultPKISecret, vps, status).catch(() => {});
      ctx.metrics.resourceStatus.set(
        { controller: "vaultpkisecret", name: key.name, namespace: key.namespace },
        0,
      );
      return { requeueAfterMs: cls === "config" ? configErrorRequeue() : ctx.backoff.next(k) };
    }
  }

  private async issue(
    vps: VaultPKISecret & KubeObject,
    k: string,
    owner: Owner,
    status: VaultPKISecretStatus,
    reason: string,
    offsetMs: number,
  ): Promise<ReconcileResult> {
    const { ctx } = this;
    const spec = vps.spec;
    const generation = vps.metadata.generation ?? 0;
    await ensureFinalizer(ctx.kube, VSO.VaultPKISecret, vps, Finalizer.VaultPKISecret);
    const { client, resolved } = await vaultClientFor(ctx, owner.namespace, spec.vaultAuthRef);
    const ns = spec.namespace || resolved.spec.namespace;
    const res = await client.request<IssueResponse>("PUT", pkiIssuePath(spec), {
      namespace: ns,
      body: pkiRequestBody(spec),
    });
    const d = res.json?.data;
    if (!d?.certificate || !d.serial_number) throw new Error(`${pkiIssuePath(spec)} returned no certificate`);
    const expiration = Number(d.expiration ?? 0);
    const secrets: Record<string, unknown> = { ...d, expiration };
    if (Array.isArray(d.ca_chain)) secrets.ca_chain = d.ca_chain.join("\n");
    const tr = spec.destination.transformation;
    const rendered = await renderTransformation(ctx, vps, tr, secrets, {});
    const tls: Record<string, string> = {};
    if (spec.destination.type === "kubernetes.io/tls" && !rendered.values) {
      const chain =
        Array.isArray(d.ca_chain) && d.ca_chain.length > 0 ? d.ca_chain : d.issuing_ca ? [d.issuing_ca] : [];
      tls["tls.crt"] = [d.certificate, ...chain].join("\n");
      tls["tls.key"] = d.private_key ?? "";
      if (d.issuing_ca) tls["ca.crt"] = d.issuing_ca;
    }
    const data = buildSecretData({
      secrets,
      raw: d,
      filter: rendered.filter,
      excludeRaw: Boolean(tr?.excludeRaw) || ctx.cfg.globalTransformationOptions.includes("exclude-raw"),
      rendered: { ...tls, ...(rendered.values ?? {}) },
    });
    const current = await ctx.kube.getOrNull<SecretObject>(
      CORE.secrets,
      owner.namespace,
      spec.destination.name,
    );
    const written = await writeDestination(ctx.kube, owner, spec.destination, data, current);
    this.lastSeenRV.set(k, written.secret.metadata.resourceVersion ?? "");
    ctx.metrics.secretWrites.inc({ controller: "vaultpkisecret", action: written.action });
    const previousSerial = status.serialNumber;
    const first = !previousSerial;
    status.serialNumber = d.serial_number;
    status.expiration = expiration;
    status.lastGeneration = generation;
    status.lastRotation = Math.floor(Date.now() / 1000);
    status.secretMAC = secretDataMAC(ctx.hmacKey, data);
    status.valid = true;
    status.error = "";
    status.conditions = syncConditions(
      status.conditions,
      KIND,
      true,
      `Certificate issued (${reason})`,
      generation,
    );
    const rec = ctx.recorder(KIND);
    rec.normal(
      vps,
      first ? EventReason.SecretSynced : EventReason.SecretRotated,
      `Certificate ${d.serial_number} issued (${reason})`,
    );
    if (!first) {
      status.conditions = await restartWorkloads(
        ctx,
        KIND,
        vps,
        spec.rolloutRestartTargets ?? [],
        status.conditions,
      );
    }
    this.statuses.remember(k, vps.metadata.uid, status);
    await updateStatus(ctx.kube, VSO.VaultPKISecret, vps, status);
    if (previousSerial && spec.revoke && previousSerial !== d.serial_number) {
      await this.revokeSerial(client, ns, spec.mount, previousSerial, vps).catch(() => {});
    }
    const stale = ctx.informers.ownedSecrets
      .list(owner.namespace)
      .filter(
        (s) =>
          s.metadata.labels?.[OwnerLabel.OwnerRefUID] === owner.uid &&
          s.metadata.name !== spec.destination.name,
      );
    if (stale.length > 0) await pruneOrphans(ctx.kube, owner, spec.destination.name, stale);
    ctx.backoff.reset(k);
    ctx.metrics.resourceStatus.set(
      { controller: "vaultpkisecret", name: owner.name, namespace: owner.namespace },
      1,
    );
    return { requeueAfterMs: pkiRenewIn(expiration, offsetMs) };
  }

  private async revokeSerial(
    client: VaultClient,
    ns: string | undefined,
    mount: string,
    serial: string,
    obj: KubeObject,
  ) {
    try {
      await client.request(
        "PUT",
        `${mount.replace(/^\/+|\/+$/g, "")}/revoke`,
        { namespace: ns, body: { serial_number: serial } },
        "revoke",
      );
      this.ctx.recorder(KIND).normal(obj, EventReason.SecretLeaseRevoke, `Revoked certificate ${serial}`);
    } catch (err) {
      this.ctx
        .recorder(KIND)
        .warning(
          obj,
          EventReason.CertificateRevocationError,
          `Could not revoke certificate ${serial}: ${errorMessage(err)}`,
        );
      throw err;
    }
  }

  private async finalize(vps: VaultPKISecret & KubeObject, k: string): Promise<ReconcileResult | undefined> {
    const { ctx } = this;
    const spec = vps.spec;
    const serial = vps.status?.serialNumber;
    if (spec.revoke && serial) {
      try {
        const { client, resolved } = await vaultClientFor(
          ctx,
          vps.metadata.namespace ?? "",
          spec.vaultAuthRef,
        );
        await this.revokeSerial(client, spec.namespace || resolved.spec.namespace, spec.mount, serial, vps);
      } catch (err) {
        if (classify(err) !== "config") return { requeueAfterMs: ctx.backoff.next(k) };
      }
    }
    if (spec.clear && !spec.destination.create) {
      const live = await ctx.kube.getOrNull<SecretObject>(
        CORE.secrets,
        vps.metadata.namespace,
        spec.destination.name,
      );
      if (live) {
        await ctx.kube.patch(
          CORE.secrets,
          vps.metadata.namespace,
          spec.destination.name,
          [{ op: "add", path: "/data", value: {} }],
          "json",
        );
      }
    }
    await removeFinalizer(ctx.kube, VSO.VaultPKISecret, vps, Finalizer.VaultPKISecret);
    this.statuses.forget(k);
    this.lastSeenRV.delete(k);
    return undefined;
  }
}
