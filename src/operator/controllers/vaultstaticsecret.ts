// VaultStaticSecret: KV v1/v2 secrets synced into a Kubernetes Secret.
// Reads desired state from the informer cache, reads Vault, writes the
// destination only when the data (by HMAC) or the live Secret differs, restarts
// workloads when data changed (never on the first sync), prunes Secrets left by
// a rename, and records the outcome in status.conditions and Events. When
// Vault is unreachable or refuses, the destination is left exactly as it was.
import type { VaultStaticSecret, VaultStaticSecretStatus } from "../../api/index.ts";
import { EventReason, Finalizer, OwnerLabel } from "../../api/index.ts";
import { CORE, type KubeObject } from "../../kube/client.ts";
import type { ReconcileResult } from "../../runtime/controller.ts";
import { parseDuration } from "../../util/duration.ts";
import { configErrorRequeue, jitteredRefresh } from "../backoff.ts";
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
  describeFailure,
  isVaultNotFound,
  ownerKeyOfSecretEvent,
  restartWorkloads,
  syncConditions,
  vaultClientFor,
} from "./common.ts";
import { type Setup, setupSecretKind } from "./setup.ts";
import { renderTransformation } from "./transformation.ts";

const KIND = "VaultStaticSecret";
const CONTROLLER = "vaultstaticsecret";
const DEFAULT_HMAC_REFRESH_MS = 60_000;

export class VaultStaticSecretReconciler {
  private readonly ctx: OperatorContext;
  /** resourceVersion of the destination Secret as we last wrote or verified it, per VSS key. */
  private readonly lastSeenRV = new Map<string, string>();
  private readonly statuses = new StatusMemory<VaultStaticSecretStatus>();

  constructor(ctx: OperatorContext) {
    this.ctx = ctx;
  }

  get informer() {
    return this.ctx.informers
      .staticSecrets as unknown as import("../../runtime/multi-informer.ts").MultiInformer<VaultStaticSecret>;
  }

  ownerOfSecretEvent(secret: KubeObject, deleted: boolean): string | undefined {
    return ownerKeyOfSecretEvent(
      this.informer.list(secret.metadata.namespace ?? ""),
      secret,
      deleted,
      this.lastSeenRV,
    );
  }

  async reconcile(key: { namespace: string; name: string }): Promise<ReconcileResult | undefined> {
    const { ctx } = this;
    const k = `${key.namespace}/${key.name}`;
    const vss = this.informer.get(key.namespace, key.name);
    if (!vss) {
      this.lastSeenRV.delete(k);
      this.statuses.forget(k);
      ctx.metrics.resourceStatus.remove({
        controller: "vaultstaticsecret",
        name: key.name,
        namespace: key.namespace,
      });
      return;
    }
    const obj = vss as unknown as KubeObject;
    vss.status = this.statuses.freshest(k, vss.metadata.uid, vss.status);
    if (vss.metadata.deletionTimestamp) {
      // The destination Secret has an ownerReference: garbage collection removes it.
      await removeFinalizer(ctx.kube, VSO.VaultStaticSecret, obj, Finalizer.VaultStaticSecret);
      this.lastSeenRV.delete(k);
      return;
    }
    const rec = ctx.recorder(KIND);
    const spec = vss.spec;
    const status = structuredClone(vss.status ?? { lastGeneration: 0 });
    const generation = vss.metadata.generation ?? 0;
    const hmacOn = spec.hmacSecretData !== false;
    const refreshMs = spec.refreshAfter
      ? parseDuration(spec.refreshAfter)
      : hmacOn
        ? DEFAULT_HMAC_REFRESH_MS
        : 0;
    const owner: Owner = {
      apiVersion: vss.apiVersion ?? "secrets.hashicorp.com/v1beta1",
      kind: KIND,
      name: key.name,
      namespace: key.namespace,
      uid: vss.metadata.uid ?? "",
    };
    try {
      const { client, resolved } = await vaultClientFor(ctx, key.namespace, spec.vaultAuthRef);

      // Read the KV secret.
      const mount = spec.mount.replace(/^\/+|\/+$/g, "");
      const path = spec.path.replace(/^\/+/, "");
      const apiPath = spec.type === "kv-v2" ? `${mount}/data/${path}` : `${mount}/${path}`;
      const query = spec.type === "kv-v2" && spec.version ? { version: String(spec.version) } : undefined;
      const ns = spec.namespace || resolved.spec.namespace;
      const resp = await client.request<unknown>("GET", apiPath, { namespace: ns, keepNumbers: true, query });
      const body = resp.json as { data?: unknown } | undefined;
      const respData = (body?.data ?? null) as Record<string, unknown> | null;
      let secrets: Record<string, unknown>;
      let metadata: Record<string, unknown> = {};
      if (spec.type === "kv-v2") {
        const d = respData as {
          data?: Record<string, unknown> | null;
          metadata?: Record<string, unknown>;
        } | null;
        if (!d?.data) {
          throw Object.assign(new Error(`no data at ${apiPath} (deleted or destroyed version)`), {
            vaultNotFound: true,
          });
        }
        secrets = d.data;
        metadata = d.metadata ?? {};
      } else {
        secrets = respData ?? {};
      }

      const tr = spec.destination.transformation;
      const rendered = await renderTransformation(ctx, vss as unknown as KubeObject, tr, secrets, metadata);
      const data = buildSecretData({
        secrets,
        raw: respData,
        filter: rendered.filter,
        excludeRaw: Boolean(tr?.excludeRaw) || ctx.cfg.globalTransformationOptions.includes("exclude-raw"),
        rendered: rendered.values,
      });
      const mac = secretDataMAC(ctx.hmacKey, data);
      const prevMAC = status.secretMAC;

      // Decide whether the live destination already holds exactly this data.
      let upToDate = false;
      let existing: SecretObject | null | undefined;
      if (hmacOn && macEqual(mac, prevMAC) && status.lastGeneration === generation) {
        const meta = spec.destination.create
          ? ctx.informers.ownedSecrets.get(key.namespace, spec.destination.name)
          : undefined;
        if (meta && meta.metadata.resourceVersion === this.lastSeenRV.get(k)) {
          upToDate = true;
        } else {
          existing = await ctx.kube.getOrNull<SecretObject>(
            CORE.secrets,
            key.namespace,
            spec.destination.name,
          );
          const sameData =
            existing !== null && macEqual(secretDataMAC(ctx.hmacKey, fromSecretData(existing.data)), mac);
          const sameShape =
            !spec.destination.create ||
            (existing !== null &&
              isOwnedBy(existing, owner) &&
              (existing.type || "Opaque") === (spec.destination.type || "Opaque"));
          if (existing && sameData && sameShape) {
            upToDate = true;
            this.lastSeenRV.set(k, existing.metadata.resourceVersion ?? "");
          }
        }
      }

      let wrote = false;
      if (!upToDate) {
        if (existing === undefined) {
          existing = await ctx.kube.getOrNull<SecretObject>(
            CORE.secrets,
            key.namespace,
            spec.destination.name,
          );
        }
        const result = await writeDestination(ctx.kube, owner, spec.destination, data, existing);
        this.lastSeenRV.set(k, result.secret.metadata.resourceVersion ?? "");
        ctx.metrics.secretWrites.inc({ controller: "vaultstaticsecret", action: result.action });
        wrote = true;
      }

      // Prune Secrets this resource created under an earlier destination.name.
      const ownedHere = ctx.informers.ownedSecrets
        .list(key.namespace)
        .filter(
          (s) =>
            s.metadata.labels?.[OwnerLabel.OwnerRefUID] === owner.uid &&
            s.metadata.name !== spec.destination.name,
        );
      if (ownedHere.length > 0) {
        const pruned = await pruneOrphans(ctx.kube, owner, spec.destination.name, ownedHere);
        if (pruned.length > 0)
          rec.normal(obj, EventReason.SecretSynced, `Deleted orphaned Secret(s) ${pruned.join(", ")}`);
      }

      let conditions = syncConditions(status.conditions, KIND, true, "Secret synced", generation);
      const dataChanged = hmacOn && Boolean(prevMAC) && !macEqual(mac, prevMAC);
      if (dataChanged) {
        conditions =
          (await restartWorkloads(ctx, KIND, obj, spec.rolloutRestartTargets ?? [], conditions)) ??
          conditions;
      }
      if (wrote) {
        rec.normal(
          obj,
          EventReason.SecretSynced,
          prevMAC ? (dataChanged ? "Secret synced: data changed" : "Secret synced") : "Secret synced",
        );
      }
      const next = {
        ...status,
        lastGeneration: generation,
        secretMAC: hmacOn ? mac : undefined,
        vaultClientMeta: { cacheKey: client.cacheKey, id: client.id },
        conditions,
      };
      if (!hmacOn) delete next.secretMAC;
      await updateStatus(ctx.kube, VSO.VaultStaticSecret, obj, next);
      this.statuses.remember(k, vss.metadata.uid, next);
      await ensureFinalizer(ctx.kube, VSO.VaultStaticSecret, obj, Finalizer.VaultStaticSecret).catch(
        () => {},
      );
      ctx.metrics.resourceStatus.set(
        { controller: "vaultstaticsecret", name: key.name, namespace: key.namespace },
        1,
      );
      return refreshMs > 0 ? { requeueAfterMs: jitteredRefresh(refreshMs) } : undefined;
    } catch (err) {
      const cls =
        (err as { vaultNotFound?: boolean }).vaultNotFound || isVaultNotFound(err) ? "vault" : classify(err);
      const { message, reason } = describeFailure(cls, err);
      rec.warning(obj, reason, `Failed to sync the secret: ${message}`);
      const next = {
        ...status,
        lastGeneration: status.lastGeneration ?? 0,
        conditions: syncConditions(status.conditions, KIND, false, message, generation),
      };
      this.statuses.remember(k, vss.metadata.uid, next);
      await updateStatus(ctx.kube, VSO.VaultStaticSecret, obj, next).catch((e) =>
        ctx.log.warn({ key: k, err: errorMessage(e) }, "status update failed"),
      );
      ctx.metrics.resourceStatus.set(
        { controller: "vaultstaticsecret", name: key.name, namespace: key.namespace },
        0,
      );
      ctx.log.error({ controller: "vaultstaticsecret", key: k, reason, error: message }, "sync failed");
      return cls === "config"
        ? { failure: "configuration", requeueAfterMs: configErrorRequeue() }
        : { failure: "transient" };
    }
  }
}

/** The VaultStaticSecret controller and its watches. */
export const setupVaultStaticSecret: Setup = (mgr) => {
  const rec = new VaultStaticSecretReconciler(mgr.ctx);
  setupSecretKind(mgr, CONTROLLER, mgr.ctx.informers.staticSecrets, rec);
};
