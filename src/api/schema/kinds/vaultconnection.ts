// Spec §1.2 VaultConnection.
import { COL_AGE, COL_HEALTHY, COL_READY, conditions, duration } from "../common.ts";
import { bool, map, mutuallyExclusive, obj, req, str } from "../dsl.ts";
import { defineKind } from "../kind.ts";

export const VaultConnection = defineKind({
  kind: "VaultConnection",
  description: "VaultConnection describes how to reach a Vault (or OpenBao) server.",
  served: true,
  printerColumns: [COL_HEALTHY, COL_READY, COL_AGE],
  spec: obj(
    {
      address: req(str("Vault address, e.g. https://vault.vault.svc:8200.", { minLength: 1 })),
      headers: map(
        str(),
        "Headers added to every Vault request. X-Vault-Namespace is refused: set the Vault namespace on the VaultAuth or the secret resource instead.",
        {
          rules: [
            {
              rule: "self.all(k, k.lowerAscii() != 'x-vault-namespace')",
              message:
                "the X-Vault-Namespace header is not allowed; set spec.namespace on VaultAuth or the secret resource",
            },
          ],
        },
      ),
      tlsServerName: str("TLS server name (SNI) used when connecting to Vault."),
      caCertSecretRef: str(
        "Secret in the VaultConnection's namespace holding the CA certificate under key ca.crt. Mutually exclusive with caCertPath.",
      ),
      caCertPath: str(
        "Path of a CA certificate file inside the operator pod. vso-ts reads it only for VaultConnections in the operator's namespace and only under the operator's --vault-ca-cert-dir (default /vault/ca). Mutually exclusive with caCertSecretRef.",
      ),
      skipTLSVerify: bool("Skip TLS certificate verification (insecure).", { default: false }),
      timeout: duration("Per-request timeout, e.g. 30s; the Vault client default when unset."),
    },
    "VaultConnectionSpec defines the connection to Vault.",
    { rules: [mutuallyExclusive("caCertSecretRef", "caCertPath")] },
  ),
  status: obj(
    {
      valid: req(bool("Whether the last validation (configuration and health call) succeeded.")),
      conditions,
    },
    "VaultConnectionStatus is the observed state of the connection.",
  ),
});
