// VaultAuth: validates the method configuration (after merging a
// VaultAuthGlobal) and the connection reference; status.valid, specHash and
// conditions report it. Logins happen per consumer namespace in the client
// factory, not here.
import { ConditionReason, ConditionType, EventReason, Finalizer, type VaultAuth } from "../../api/index.ts";
import type { KubeObject } from "../../kube/client.ts";
import { setCondition } from "../../runtime/conditions.ts";
import type { ReconcileResult } from "../../runtime/controller.ts";
import type { MultiInformer } from "../../runtime/multi-informer.ts";
import {
  ensureFinalizer,
  errorMessage,
  type OperatorContext,
  removeFinalizer,
  updateStatus,
} from "../context.ts";
import { mergeVaultAuthGlobal, RefError, resolveConnection } from "../refs.ts";
import { VSO } from "../resources.ts";
import { legacyVaultAuthSpecHash, vaultAuthSpecForHash, vaultAuthSpecHash } from "../vaultauth-spechash.ts";
import { healthConditions } from "./common.ts";
import { generationChanged, keyOf, type Setup, watchOwnKind } from "./setup.ts";

const KIND = "VaultAuth";
const CONTROLLER = "vaultauth";
const SUPPORTED = ["kubernetes", "jwt", "appRole"];

export class VaultAuthReconciler {
  private readonly ctx: OperatorContext;
  constructor(ctx: OperatorContext) {
    this.ctx = ctx;
  }

  async reconcile(key: { namespace: string; name: string }): Promise<ReconcileResult | undefined> {
    const { ctx } = this;
    const k = `${key.namespace}/${key.name}`;
    const auth = ctx.informers.auths.get(key.namespace, key.name);
    if (!auth) {
      ctx.backoff.reset(CONTROLLER, k);
      return;
    }
    const obj = auth as unknown as KubeObject;
    if (auth.metadata.deletionTimestamp) {
      ctx.clients.purgeFor((c) => c.tags.authUid === auth.metadata.uid);
      await removeFinalizer(ctx.kube, VSO.VaultAuth, obj, Finalizer.VaultAuth);
      return;
    }
    const generation = auth.metadata.generation;
    let valid = true;
    let error = "";
    let conditions = auth.status?.conditions;
    let merged: ReturnType<typeof mergeVaultAuthGlobal> | undefined;
    try {
      const resolved = mergeVaultAuthGlobal(ctx.lookup, auth, ctx.cfg.operatorNamespace, {
        allowDefaultGlobals: ctx.cfg.globalVaultAuthOptions.includes("allow-default-globals"),
      });
      merged = resolved;
      if (!SUPPORTED.includes(resolved.spec.method)) {
        throw new RefError(
          "spec.method",
          `auth method "${resolved.spec.method}" is not supported by this build of vso-ts (supported: ${SUPPORTED.join(", ")})`,
        );
      }
      const m = resolved.spec[resolved.spec.method] as Record<string, unknown> | undefined;
      if (!m)
        throw new RefError(
          `spec.${resolved.spec.method}`,
          `spec.${resolved.spec.method} is required for method ${resolved.spec.method}`,
        );
      if (resolved.spec.method !== "appRole" && !m.role) {
        throw new RefError(
          `spec.${resolved.spec.method}.role`,
          `spec.${resolved.spec.method}.role is required`,
        );
      }
      resolveConnection(ctx.lookup, resolved, ctx.cfg.operatorNamespace);
      if (auth.spec?.vaultAuthGlobalRef) {
        conditions = setCondition(conditions, {
          type: ConditionType.Available,
          status: "True",
          reason: ConditionReason.VaultAuthGlobalRef,
          message: resolved.global
            ? `using VaultAuthGlobal ${resolved.global.metadata.namespace}/${resolved.global.metadata.name}`
            : "",
          observedGeneration: generation,
        });
      }
    } catch (err) {
      valid = false;
      const field = (err as { field?: string }).field;
      error = field ? `${field}: ${errorMessage(err)}` : errorMessage(err);
      if (auth.spec?.vaultAuthGlobalRef && field === "spec.vaultAuthGlobalRef") {
        conditions = setCondition(conditions, {
          type: ConditionType.Available,
          status: "False",
          reason: ConditionReason.VaultAuthGlobalRef,
          message: error,
          observedGeneration: generation,
        });
      }
    }
    // VSO's specHash (the spec after a successful VaultAuthGlobal merge): either operator keeps the
    // other's clients while the VaultAuth is unchanged, and purges them all when it changes.
    // A hash recorded by a vso-ts before this encoding (legacyVaultAuthSpecHash) counts as unchanged
    // once, so an upgrade does not purge every client.
    const specHash = vaultAuthSpecHash(vaultAuthSpecForHash(auth, ctx.cfg.operatorNamespace, merged));
    const last = auth.status?.specHash;
    if (last && last !== specHash && last !== legacyVaultAuthSpecHash(auth.spec)) {
      ctx.clients.purgeFor((c) => c.tags.authUid === auth.metadata.uid);
    }
    conditions = healthConditions(conditions, KIND, valid, error, generation);
    const changed = await updateStatus(ctx.kube, VSO.VaultAuth, obj, { valid, error, specHash, conditions });
    if (changed) {
      const rec = ctx.recorder(KIND);
      if (valid) rec.normal(obj, EventReason.Accepted, "Successfully handled VaultAuth resource request");
      else rec.warning(obj, EventReason.Accepted, `Invalid VaultAuth resource: ${error}`);
    }
    await ensureFinalizer(ctx.kube, VSO.VaultAuth, obj, Finalizer.VaultAuth).catch(() => {});
    ctx.metrics.resourceStatus.set(
      { controller: CONTROLLER, name: key.name, namespace: key.namespace },
      valid ? 1 : 0,
    );
    if (valid) {
      ctx.backoff.reset(CONTROLLER, k);
      return undefined;
    }
    // A VaultConnection or a Secret it names may appear later: rechecked, each time later while the spec stays.
    return { requeueAfterMs: ctx.backoff.configError(CONTROLLER, k, String(generation)) };
  }
}

/**
 * The VaultAuth controller: its own objects, those using a VaultAuthGlobal
 * when one changes, and the invalid ones when a VaultConnection appears or
 * changes (a reference changed: their configuration recheck starts over).
 */
export const setupVaultAuth: Setup = (mgr) => {
  const { informers, backoff } = mgr.ctx;
  const rec = new VaultAuthReconciler(mgr.ctx);
  const c = mgr.addController(CONTROLLER, (k) => rec.reconcile(k));
  watchOwnKind(informers.auths as unknown as MultiInformer<KubeObject>, c);
  const requeue = (which: (a: VaultAuth) => boolean) => {
    for (const a of informers.auths.list()) {
      if (!which(a)) continue;
      const k = keyOf(a as unknown as KubeObject);
      backoff.clearConfig(CONTROLLER, k);
      c.enqueue(k);
    }
  };
  informers.authGlobals.on({ update: () => requeue((a) => Boolean(a.spec?.vaultAuthGlobalRef)) });
  const invalid = (a: VaultAuth) => a.status?.valid === false;
  informers.connections.on({
    add: () => requeue(invalid),
    update: (a, b) =>
      generationChanged(a as unknown as KubeObject, b as unknown as KubeObject) && requeue(invalid),
  });
};
