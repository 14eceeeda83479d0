// VaultAuth: validates the method configuration (after merging a
// VaultAuthGlobal) and the connection reference; status.valid, specHash and
// conditions report it. Logins happen per consumer namespace in the client
// factory, not here.
import { blake2b } from "@noble/hashes/blake2.js";
import { ConditionReason, ConditionType, EventReason, Finalizer } from "../../api/index.ts";
import type { KubeObject } from "../../kube/client.ts";
import { setCondition } from "../../runtime/conditions.ts";
import type { ReconcileResult } from "../../runtime/controller.ts";
import type { MultiInformer } from "../../runtime/multi-informer.ts";
import { goMarshal } from "../../util/gojson.ts";
import { configErrorRequeue } from "../backoff.ts";
import {
  ensureFinalizer,
  errorMessage,
  type OperatorContext,
  removeFinalizer,
  updateStatus,
} from "../context.ts";
import { mergeVaultAuthGlobal, RefError, resolveConnection } from "../refs.ts";
import { VSO } from "../resources.ts";
import { healthConditions } from "./common.ts";
import { keyOf, type Setup, watchOwnKind } from "./setup.ts";

const KIND = "VaultAuth";
const SUPPORTED = ["kubernetes", "jwt", "appRole"];

export class VaultAuthReconciler {
  private readonly ctx: OperatorContext;
  constructor(ctx: OperatorContext) {
    this.ctx = ctx;
  }

  async reconcile(key: { namespace: string; name: string }): Promise<ReconcileResult | undefined> {
    const { ctx } = this;
    const auth = ctx.informers.auths.get(key.namespace, key.name);
    if (!auth) return;
    const obj = auth as unknown as KubeObject;
    if (auth.metadata.deletionTimestamp) {
      ctx.clients.purgeFor((c) => c.tags.authUid === auth.metadata.uid);
      await removeFinalizer(ctx.kube, VSO.VaultAuth, obj, Finalizer.VaultAuth);
      return;
    }
    const specHash = Buffer.from(
      blake2b(new TextEncoder().encode(goMarshal(auth.spec ?? {})), { dkLen: 32 }),
    ).toString("hex");
    if (auth.status?.specHash && auth.status.specHash !== specHash) {
      ctx.clients.purgeFor((c) => c.tags.authUid === auth.metadata.uid);
    }
    const generation = auth.metadata.generation;
    let valid = true;
    let error = "";
    let conditions = auth.status?.conditions;
    try {
      const resolved = mergeVaultAuthGlobal(ctx.lookup, auth, ctx.cfg.operatorNamespace, {
        allowDefaultGlobals: ctx.cfg.globalVaultAuthOptions.includes("allow-default-globals"),
      });
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
    conditions = healthConditions(conditions, KIND, valid, error, generation);
    const changed = await updateStatus(ctx.kube, VSO.VaultAuth, obj, { valid, error, specHash, conditions });
    if (changed) {
      const rec = ctx.recorder(KIND);
      if (valid) rec.normal(obj, EventReason.Accepted, "Successfully handled VaultAuth resource request");
      else rec.warning(obj, EventReason.Accepted, `Invalid VaultAuth resource: ${error}`);
    }
    await ensureFinalizer(ctx.kube, VSO.VaultAuth, obj, Finalizer.VaultAuth).catch(() => {});
    ctx.metrics.resourceStatus.set(
      { controller: "vaultauth", name: key.name, namespace: key.namespace },
      valid ? 1 : 0,
    );
    return valid ? undefined : { requeueAfterMs: configErrorRequeue() };
  }
}

/** The VaultAuth controller: its own objects, and those using a VaultAuthGlobal when one changes. */
export const setupVaultAuth: Setup = (mgr) => {
  const { informers } = mgr.ctx;
  const rec = new VaultAuthReconciler(mgr.ctx);
  const c = mgr.addController("vaultauth", (k) => rec.reconcile(k));
  watchOwnKind(informers.auths as unknown as MultiInformer<KubeObject>, c);
  informers.authGlobals.on({
    update: () => {
      for (const a of informers.auths.list()) {
        if (a.spec?.vaultAuthGlobalRef) c.enqueue(keyOf(a as unknown as KubeObject));
      }
    },
  });
};
