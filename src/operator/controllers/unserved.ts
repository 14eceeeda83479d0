// Kinds whose CRDs install but that this build does not act on (HCPAuth,
// HCPVaultSecretsApp, CSISecrets): each resource gets a clear condition and
// a Warning event saying so, instead of silently doing nothing.
import { ConditionType } from "../../api/index.ts";
import type { KubeObject } from "../../kube/client.ts";
import type { Condition } from "../../runtime/conditions.ts";
import { setCondition } from "../../runtime/conditions.ts";
import type { ReconcileResult } from "../../runtime/controller.ts";
import type { MultiInformer } from "../../runtime/multi-informer.ts";
import type { OperatorContext } from "../context.ts";
import { updateStatus } from "../context.ts";
import { VSO } from "../resources.ts";
import { type Setup, watchOwnKind } from "./setup.ts";

export const UNSERVED_KINDS = ["HCPAuth", "HCPVaultSecretsApp", "CSISecrets"] as const;
export type UnservedKind = (typeof UNSERVED_KINDS)[number];

export function unsupportedMessage(kind: string): string {
  return `${kind} is not supported by this build of vso-ts: the resource is stored but not acted on`;
}

export class UnservedKindReconciler {
  private readonly ctx: OperatorContext;
  private readonly kind: UnservedKind;
  private readonly informer: MultiInformer<
    KubeObject & { status?: { conditions?: Condition[] } & Record<string, unknown> }
  >;

  constructor(ctx: OperatorContext, kind: UnservedKind, informer: MultiInformer<KubeObject>) {
    this.ctx = ctx;
    this.kind = kind;
    this.informer = informer as typeof this.informer;
  }

  async reconcile(key: { namespace: string; name: string }): Promise<ReconcileResult | undefined> {
    const obj = this.informer.get(key.namespace, key.name);
    if (!obj || obj.metadata.deletionTimestamp) return;
    const message = unsupportedMessage(this.kind);
    let conditions = setCondition(obj.status?.conditions, {
      type: ConditionType.Healthy,
      status: "False",
      reason: "Unsupported",
      message,
      observedGeneration: obj.metadata.generation,
    });
    conditions = setCondition(conditions, {
      type: ConditionType.Ready,
      status: "False",
      reason: "Unsupported",
      message,
      observedGeneration: obj.metadata.generation,
    });
    const status: Record<string, unknown> = { ...(obj.status ?? {}), conditions };
    if (this.kind === "HCPAuth") {
      status.valid = false;
      status.error = message;
    }
    if (await updateStatus(this.ctx.kube, VSO[this.kind], obj, status)) {
      this.ctx.recorder(this.kind).warning(obj, "Unsupported", message);
    }
    return undefined;
  }
}

/** One controller per unserved kind, each on its own objects. */
export const setupUnservedKinds: Setup = (mgr) => {
  for (const kind of UNSERVED_KINDS) {
    const informer = mgr.ctx.informers.unserved[kind];
    const rec = new UnservedKindReconciler(mgr.ctx, kind, informer);
    const c = mgr.addController(kind.toLowerCase(), (k) => rec.reconcile(k));
    watchOwnKind(informer, c);
  }
};
