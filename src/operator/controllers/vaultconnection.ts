// VaultConnection: validates the spec, builds the HTTP layer and pings Vault
// (sys/seal-status) on each generation; status.valid and conditions say how it went.
import type { VaultConnection } from "../../api/index.ts";
import { ConditionType, EventReason, Finalizer } from "../../api/index.ts";
import type { KubeObject } from "../../kube/client.ts";
import { boolStatus, setCondition } from "../../runtime/conditions.ts";
import type { ReconcileResult } from "../../runtime/controller.ts";
import type { MultiInformer } from "../../runtime/multi-informer.ts";
import { ConnectionConfigError } from "../../vault/connection.ts";
import {
  ensureFinalizer,
  errorMessage,
  type OperatorContext,
  removeFinalizer,
  updateStatus,
} from "../context.ts";
import { VSO } from "../resources.ts";
import { healthConditions } from "./common.ts";
import { type Setup, watchOwnKind } from "./setup.ts";

const KIND = "VaultConnection";
const CONTROLLER = "vaultconnection";

export class VaultConnectionReconciler {
  private readonly ctx: OperatorContext;
  constructor(ctx: OperatorContext) {
    this.ctx = ctx;
  }

  async reconcile(key: { namespace: string; name: string }): Promise<ReconcileResult | undefined> {
    const { ctx } = this;
    const conn = ctx.informers.connections.get(key.namespace, key.name);
    const k = `${key.namespace}/${key.name}`;
    if (!conn) {
      ctx.backoff.reset(CONTROLLER, k);
      return;
    }
    const obj = conn as unknown as KubeObject;
    const purge = () => ctx.clients.purgeFor((c) => c.tags.connectionUid === conn.metadata.uid);
    if (conn.metadata.deletionTimestamp) {
      purge();
      await removeFinalizer(ctx.kube, VSO.VaultConnection, obj, Finalizer.VaultConnection);
      return;
    }
    // Clients built from older generations of this connection are dropped.
    ctx.clients.purgeFor(
      (c) =>
        c.tags.connectionUid === conn.metadata.uid &&
        c.tags.connectionGeneration !== conn.metadata.generation,
    );
    const generation = conn.metadata.generation;
    const rec = ctx.recorder(KIND);
    let conditions = conn.status?.conditions;
    let valid = false;
    let message = "";
    try {
      const http = await ctx.clients.connectionHttp(conn as VaultConnection);
      conditions = setCondition(conditions, {
        type: ConditionType.ResourceValidation,
        status: "True",
        reason: EventReason.Accepted,
        message: "",
        observedGeneration: generation,
      });
      conditions = setCondition(conditions, {
        type: ConditionType.VaultClient,
        status: "True",
        reason: EventReason.Accepted,
        message: "",
        observedGeneration: generation,
      });
      try {
        const res = await http.call<{ sealed?: boolean }>("GET", "sys/seal-status");
        if (res.json?.sealed) throw new Error("Vault is sealed");
        valid = true;
      } catch (err) {
        message = `Vault ping (sys/seal-status) failed: ${errorMessage(err)}`;
      }
      conditions = setCondition(conditions, {
        type: ConditionType.VaultPing,
        status: boolStatus(valid),
        reason: valid ? EventReason.Accepted : EventReason.InvalidConfiguration,
        message: valid ? "" : message,
        observedGeneration: generation,
      });
    } catch (err) {
      message = err instanceof ConnectionConfigError ? `${err.field}: ${err.message}` : errorMessage(err);
      conditions = setCondition(conditions, {
        type: ConditionType.ResourceValidation,
        status: "False",
        reason: EventReason.InvalidConfiguration,
        message,
        observedGeneration: generation,
      });
      conditions = setCondition(conditions, {
        type: ConditionType.VaultClient,
        status: "False",
        reason: EventReason.VaultClientConfigError,
        message,
        observedGeneration: generation,
      });
    }
    conditions = healthConditions(conditions, KIND, valid, message, generation);
    const changed = await updateStatus(ctx.kube, VSO.VaultConnection, obj, { valid, conditions });
    if (changed) {
      if (valid) rec.normal(obj, EventReason.Accepted, "VaultConnection accepted");
      else rec.warning(obj, EventReason.InvalidConfiguration, message);
    }
    await ensureFinalizer(ctx.kube, VSO.VaultConnection, obj, Finalizer.VaultConnection).catch(() => {});
    ctx.metrics.resourceStatus.set(
      { controller: CONTROLLER, name: key.name, namespace: key.namespace },
      valid ? 1 : 0,
    );
    if (valid) {
      ctx.backoff.reset(CONTROLLER, k);
      return undefined;
    }
    // Vault unreachable, a CA Secret missing: rechecked, each time later while the spec stays.
    return { requeueAfterMs: ctx.backoff.configError(CONTROLLER, k, String(generation)) };
  }
}

/** The VaultConnection controller: its own objects only. */
export const setupVaultConnection: Setup = (mgr) => {
  const rec = new VaultConnectionReconciler(mgr.ctx);
  const c = mgr.addController(CONTROLLER, (k) => rec.reconcile(k));
  watchOwnKind(mgr.ctx.informers.connections as unknown as MultiInformer<KubeObject>, c);
};
