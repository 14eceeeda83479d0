// VaultConnection spec.caCertPath names a file inside the operator's Pod. A
// tenant who may create VaultConnections must not be able to make the operator
// read (or probe for) any file of its Pod, such as its own ServiceAccount token
// (issue 22). So the path is honoured only for VaultConnections in the
// operator's namespace, and only under one directory the cluster admin chose
// (--vault-ca-cert-dir, which the chart mounts), never under the kernel's or
// the kubelet's trees. A refused path gets the same error whether or not a file
// is there.
import { readFileSync, realpathSync, statSync } from "node:fs";
import { isAbsolute, resolve, sep } from "node:path";

/** Where spec.caCertPath may point, and for whom. Absent: caCertPath is never read (vso doctor). */
export interface CaCertPathPolicy {
  /** The operator's namespace: the only one whose VaultConnections may use spec.caCertPath. */
  operatorNamespace: string;
  /** The one directory spec.caCertPath may name files under. */
  dir: string;
}

export const DEFAULT_VAULT_CA_CERT_DIR = "/vault/ca";
/** A CA bundle larger than this is refused (the biggest public bundles are about 250 KiB). */
export const CA_FILE_MAX_BYTES = 1024 * 1024;

/** Directories no spec may ever read from, whatever --vault-ca-cert-dir says. */
const FORBIDDEN_ROOTS = ["/proc", "/sys", "/dev", "/var/run/secrets", "/run/secrets", "/etc"];

function within(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** Refuses a --vault-ca-cert-dir that is not absolute or that would expose the Pod's own secrets. */
export function validateCaCertDir(dir: string): string {
  if (!isAbsolute(dir)) throw new Error(`--vault-ca-cert-dir "${dir}" must be an absolute path`);
  const d = resolve(dir);
  if (d === "/") throw new Error(`--vault-ca-cert-dir must not be "/"`);
  for (const root of FORBIDDEN_ROOTS) {
    if (within(d, root) || within(root, d))
      throw new Error(`--vault-ca-cert-dir "${dir}" must not contain or lie under ${root}`);
  }
  return d;
}

export class CaCertPathRefused extends Error {
  readonly field = "spec.caCertPath";
}

/** Reads the CA file named by a VaultConnection, or throws CaCertPathRefused saying why not. */
export function readCaCertPath(
  path: string,
  connNamespace: string,
  policy: CaCertPathPolicy | undefined,
): string {
  if (!policy) throw new CaCertPathRefused("spec.caCertPath (a file of the operator's Pod) is not read here");
  if (connNamespace !== policy.operatorNamespace) {
    throw new CaCertPathRefused(
      `spec.caCertPath is honoured only for VaultConnections in the operator's namespace ${policy.operatorNamespace}; ` +
        "put the CA in a Secret of this namespace under key ca.crt and set spec.caCertSecretRef",
    );
  }
  const outside = new CaCertPathRefused(
    `spec.caCertPath must name a readable file of at most ${CA_FILE_MAX_BYTES / 1024} KiB under ${policy.dir} ` +
      "(the operator's --vault-ca-cert-dir); otherwise use spec.caCertSecretRef",
  );
  if (!isAbsolute(path) || !within(resolve(path), policy.dir)) throw outside;
  let real: string;
  try {
    // Symbolic links are followed (a mounted Secret's files are links into ..data) but must stay inside.
    real = realpathSync(path);
    if (!within(real, realpathSync(policy.dir)) || !statSync(real).isFile()) throw outside;
    if (statSync(real).size > CA_FILE_MAX_BYTES) throw outside;
    return readFileSync(real, "utf8");
  } catch {
    throw outside;
  }
}
