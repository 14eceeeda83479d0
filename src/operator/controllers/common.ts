// Helpers shared by the secret controllers: condition sets, error
// classification (configuration problem vs. Vault trouble) and fields.
import { ConditionReason, ConditionType } from "../../api/index.ts";
import { KubeApiError } from "../../kube/client.ts";
import { boolStatus, type Condition, setCondition } from "../../runtime/conditions.ts";
import { ConnectionConfigError } from "../../vault/connection.ts";
import { VaultApiError } from "../../vault/http.ts";
import { AuthConfigError } from "../../vault/login.ts";
import { DestinationError } from "../destination.ts";
import { RefError } from "../refs.ts";
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

/** SecretSynced, Healthy and Ready conditions for the outcome of a sync. */
export function syncConditions(
  conditions: Condition[] | undefined,
  kind: string,
  ok: boolean,
  message: string,
  generation: number | undefined,
): Condition[] {
  let c = setCondition(conditions, {
    type: ConditionType.SecretSynced,
    status: boolStatus(ok),
    reason: ConditionReason.Synced,
    message,
    observedGeneration: generation,
  });
  c = setCondition(c, {
    type: ConditionType.Healthy,
    status: boolStatus(ok),
    reason: ok ? "Healthy" : "Unhealthy",
    message: ok ? `${kind}Healthy` : `${kind}Unhealthy: ${message}`,
    observedGeneration: generation,
  });
  c = setCondition(c, {
    type: ConditionType.Ready,
    status: boolStatus(ok),
    reason: "Ready",
    message: ok ? `${kind} is ready` : `${kind} is not ready`,
    observedGeneration: generation,
  });
  return c;
}

export function isVaultNotFound(err: unknown): boolean {
  return err instanceof VaultApiError && err.status === 404;
}
