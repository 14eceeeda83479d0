// Helpers shared by the secret controllers: condition sets, error
// classification (configuration problem vs. Vault trouble) and fields.
import type { Logger } from "pino";
import type { RolloutRestartTarget } from "../../api/index.ts";
import { ConditionReason, ConditionType, EventReason, OwnerLabel } from "../../api/index.ts";
import { KubeApiError, type KubeObject } from "../../kube/client.ts";
import { boolStatus, type Condition, type NewCondition, setCondition } from "../../runtime/conditions.ts";
import { ConfigurationError } from "../../runtime/errors.ts";
import type { VaultClient } from "../../vault/client.ts";
import { ConnectionConfigError } from "../../vault/connection.ts";
import { VaultApiError } from "../../vault/http.ts";
import { AuthConfigError } from "../../vault/login.ts";
import { errorMessage, type OperatorContext } from "../context.ts";
import { DestinationError } from "../destination.ts";
import { RefError, type ResolvedAuth, resolveConnection, resolveVaultAuthFor } from "../refs.ts";
import { rolloutRestart } from "../rollout.ts";
import { SecretDataError } from "../secret-data.ts";

export type ErrorClass = "config" | "vault" | "kubernetes";

export class UnsupportedFeatureError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.name = "UnsupportedFeatureError";
    this.field = field;
  }
}

export function classify(err: unknown): ErrorClass {
  if (
    err instanceof ConfigurationError ||
    err instanceof RefError ||
    err instanceof AuthConfigError ||
    err instanceof ConnectionConfigError ||
    err instanceof DestinationError ||
    err instanceof SecretDataError ||
    err instanceof UnsupportedFeatureError
  ) {
    return "config";
  }
  if (err instanceof KubeApiError) return "kubernetes";
  return "vault";
}

/** The spec field an error is about, when known. */
export function errorField(err: unknown): string | undefined {
  return (err as { field?: string }).field;
}

/** What a failed sync reports: the message (prefixed with the spec field when known) and the Event reason for its class. */
export function describeFailure(cls: ErrorClass, err: unknown): { message: string; reason: string } {
  const field = errorField(err);
  const message = field ? `${field}: ${errorMessage(err)}` : errorMessage(err);
  const reason =
    cls === "config"
      ? EventReason.InvalidConfiguration
      : cls === "vault"
        ? EventReason.VaultClientError
        : EventReason.K8sClientError;
  return { message, reason };
}

/**
 * A healthy condition keeps the wording it already has for the same reason:
 * how "healthy" is phrased is not news, and the status VSO wrote ("Secret
 * synced, horizon=5.1s") is accepted as it is at a switch instead of being
 * rewritten. A failure's message is always the latest.
 */
function settled(conditions: Condition[] | undefined, c: NewCondition): Condition[] {
  const prev = conditions?.find((x) => x.type === c.type);
  const same = prev?.status === "True" && c.status === "True" && prev.reason === c.reason;
  return setCondition(conditions, same ? { ...c, message: prev.message } : c);
}

/** Healthy and Ready conditions for a resource that is (or is not) in good shape. */
export function healthConditions(
  conditions: Condition[] | undefined,
  kind: string,
  ok: boolean,
  message: string,
  generation: number | undefined,
): Condition[] {
  const c = settled(conditions, {
    type: ConditionType.Healthy,
    status: boolStatus(ok),
    reason: ok ? "Healthy" : "Unhealthy",
    message: ok ? `${kind}Healthy` : message,
    observedGeneration: generation,
  });
  return settled(c, {
    type: ConditionType.Ready,
    status: boolStatus(ok),
    reason: "Ready",
    message: ok ? `${kind} is ready` : `${kind} is not ready`,
    observedGeneration: generation,
  });
}

/** The logged-in Vault client for a secret resource (its VaultAuth, VaultAuthGlobal and VaultConnection). */
export async function vaultClientFor(
  ctx: OperatorContext,
  namespace: string,
  vaultAuthRef: string | undefined,
): Promise<{ client: VaultClient; resolved: ResolvedAuth }> {
  const resolved = resolveVaultAuthFor(ctx.lookup, namespace, vaultAuthRef, ctx.cfg.operatorNamespace, {
    allowDefaultGlobals: ctx.cfg.globalVaultAuthOptions.includes("allow-default-globals"),
  });
  const connection = resolveConnection(ctx.lookup, resolved, ctx.cfg.operatorNamespace);
  return { client: await ctx.clients.get(resolved, connection, namespace), resolved };
}

/**
 * SecretSynced, Healthy and Ready conditions for the outcome of a sync.
 * `wrote: false` (a look that found nothing to write) keeps a healthy
 * SecretSynced's message, which says what the last write was.
 */
export function syncConditions(
  conditions: Condition[] | undefined,
  kind: string,
  ok: boolean,
  message: string,
  generation: number | undefined,
  wrote = true,
): Condition[] {
  const c = (wrote ? setCondition : settled)(conditions, {
    type: ConditionType.SecretSynced,
    status: boolStatus(ok),
    reason: ConditionReason.Synced,
    message,
    observedGeneration: generation,
  });
  return healthConditions(c, kind, ok, `${kind}Unhealthy: ${message}`, generation);
}

export function isVaultNotFound(err: unknown): boolean {
  return err instanceof VaultApiError && err.status === 404;
}

/**
 * Restarts a resource's rolloutRestartTargets, with events and metrics, and
 * returns the conditions with RolloutRestart set to the outcome.
 */
export async function restartWorkloads(
  ctx: OperatorContext,
  kind: string,
  obj: KubeObject,
  targets: RolloutRestartTarget[],
  conditions: Condition[] | undefined,
  log?: Logger,
): Promise<Condition[] | undefined> {
  if (targets.length === 0) return conditions;
  const rec = ctx.recorder(kind);
  const namespace = obj.metadata.namespace ?? "";
  const failures: string[] = [];
  for (const target of targets) {
    try {
      await rolloutRestart(ctx.kube, namespace, target);
      ctx.metrics.rolloutRestarts.inc({ namespace, kind: target.kind, result: "success" });
      rec.normal(
        obj,
        EventReason.RolloutRestartTriggered,
        `Rollout restart triggered for ${target.kind}/${target.name}`,
      );
      log?.info({ target: `${target.kind}/${target.name}` }, "rollout restarted");
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      failures.push(`${target.kind}/${target.name}: ${why}`);
      ctx.metrics.rolloutRestarts.inc({ namespace, kind: target.kind, result: "error" });
      rec.warning(
        obj,
        EventReason.RolloutRestartFailed,
        `Rollout restart failed for ${target.kind}/${target.name}: ${why}`,
      );
      log?.error({ target: `${target.kind}/${target.name}`, err: why }, "rollout restart failed");
    }
  }
  return setCondition(conditions, {
    type: ConditionType.RolloutRestart,
    status: boolStatus(failures.length === 0),
    reason:
      failures.length === 0 ? EventReason.RolloutRestartTriggered : EventReason.RolloutRestartTriggeredFailed,
    message: failures.length === 0 ? "Rollout restart triggered" : failures.join("; "),
    observedGeneration: obj.metadata.generation,
  });
}

/**
 * The key of the resource that owns a destination Secret from a watch event,
 * or undefined when no resource owns it or the event is our own last write.
 */
export function ownerKeyOfSecretEvent(
  candidates: (KubeObject & { spec: { destination: { name: string } } })[],
  secret: KubeObject,
  deleted: boolean,
  lastSeenRV: Map<string, string>,
): string | undefined {
  const uid = secret.metadata.labels?.[OwnerLabel.OwnerRefUID];
  if (!uid) return undefined;
  const owner = candidates.find((v) => v.metadata.uid === uid);
  if (!owner || owner.spec.destination.name !== secret.metadata.name) return undefined;
  const key = `${owner.metadata.namespace}/${owner.metadata.name}`;
  if (!deleted && lastSeenRV.get(key) === secret.metadata.resourceVersion) return undefined;
  return key;
}
