// A VaultAuth as the Vault client sees it: the resource's spec after merging
// in its VaultAuthGlobal, with the method and mount settled. The operator
// resolves references into this shape; the Vault layer logs in from it, so the
// type lives here, below the operator.
import type { VaultAuth, VaultAuthGlobal, VaultAuthSpec } from "../api/index.ts";

/** The VaultAuth spec after merging in its VaultAuthGlobal, plus where it came from. */
export interface ResolvedAuth {
  auth: VaultAuth;
  spec: VaultAuthSpec & { method: NonNullable<VaultAuthSpec["method"]>; mount: string };
  global?: VaultAuthGlobal;
}
