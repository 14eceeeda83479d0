// VaultPKISecret's decisions, as pure functions of the spec, the status, what
// was read from the cluster and the time: issue a certificate (and why) or
// wait until its renewal point, and which expiryOffset is in force.
import { EventReason } from "../../../api/index.ts";
import { effectiveOffsetMs, inRenewalWindow } from "./pki.ts";

export type PKISyncReason =
  | typeof EventReason.InitialSync
  | typeof EventReason.ResourceUpdated
  | typeof EventReason.ForceSync
  | typeof EventReason.InRenewalWindow
  | typeof EventReason.InexistentDestination
  | typeof EventReason.SecretDataDrift
  | "InterruptedSync";

export interface PKIFacts {
  nowMs: number;
  generation: number;
  lastGeneration: number;
  serial?: string;
  /** Unix seconds. */
  expiration: number;
  /** Unix seconds of the last issue. */
  lastRotation: number;
  /** spec.expiryOffset in ms. */
  offsetMs: number;
  metaChanged: boolean;
  /** What is wrong with the live destination, if anything (deleted, drifted, taken over). */
  destinationProblem?: typeof EventReason.InexistentDestination | typeof EventReason.SecretDataDrift;
  /** A sync stopped between Vault and its commit: its certificate is revoked, the destination may hold it. */
  interrupted: boolean;
}

export type PKIDecision =
  | { action: "issue"; reason: PKISyncReason }
  | { action: "wait"; reason: "CertificateCurrent"; offsetMs: number };

/**
 * The expiryOffset in force for a certificate. One that is not shorter than
 * the certificate's lifetime would put every new certificate straight into
 * its renewal window and re-issue in a loop, so it is clamped (to half of
 * the lifetime) and reported, never looped on.
 */
export function offsetInForce(
  offsetMs: number,
  expirationS: number,
  issuedS: number,
): { offsetMs: number; clamped: boolean } {
  const used = effectiveOffsetMs(offsetMs, expirationS, issuedS);
  return { offsetMs: used, clamped: used !== offsetMs };
}

export function decidePKI(f: PKIFacts): PKIDecision {
  if (!f.serial || !f.lastGeneration) return { action: "issue", reason: EventReason.InitialSync };
  if (f.interrupted) return { action: "issue", reason: "InterruptedSync" };
  if (f.lastGeneration !== f.generation) return { action: "issue", reason: EventReason.ResourceUpdated };
  if (f.metaChanged) return { action: "issue", reason: EventReason.ForceSync };
  const { offsetMs } = offsetInForce(f.offsetMs, f.expiration, f.lastRotation);
  if (inRenewalWindow(f.expiration, offsetMs, f.lastRotation, f.nowMs)) {
    return { action: "issue", reason: EventReason.InRenewalWindow };
  }
  if (f.destinationProblem) return { action: "issue", reason: f.destinationProblem };
  return { action: "wait", reason: "CertificateCurrent", offsetMs };
}
