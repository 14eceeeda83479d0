// `vso doctor KIND NAMESPACE/NAME`: walks the chain the operator walks for one
// secret resource (resource → VaultAuth/VaultConnection → Vault → credentials
// and login → policy → database role → read → destination → rollout targets
// → what the operator reports), one step per link, and stops asking Vault
// once a link it depends on is broken.
import { VSO } from "../operator/resources.ts";
import { checkDatabase } from "./check-database.ts";
import { checkDestination, checkRolloutTargets } from "./check-destination.ts";
import { checkLogin, revokeDoctorToken } from "./check-login.ts";
import { checkEvents, checkMetrics } from "./check-operator-view.ts";
import { checkPolicy } from "./check-policy.ts";
import { checkRead } from "./check-read.ts";
import { checkRefs } from "./check-refs.ts";
import { checkResource } from "./check-resource.ts";
import { checkVault } from "./check-vault.ts";
import { guarded, type Report, type Step, skip } from "./report.ts";
import { type DoctorOptions, SECRET_KINDS, type SecretKind, type Session } from "./session.ts";

/** The kind of NAMESPACE/NAME when KIND was not given: the one secret kind that has it. */
export async function findKind(opts: DoctorOptions, namespace: string, name: string): Promise<SecretKind> {
  const kinds = Object.keys(SECRET_KINDS) as SecretKind[];
  const found = (
    await Promise.all(
      kinds.map(async (k) => ((await opts.kube.getOrNull(VSO[k], namespace, name)) ? k : undefined)),
    )
  ).filter((k): k is SecretKind => k !== undefined);
  if (found.length === 1) return found[0];
  if (found.length === 0) {
    throw new Error(`no VaultStaticSecret, VaultDynamicSecret or VaultPKISecret ${namespace}/${name}`);
  }
  throw new Error(
    `${namespace}/${name} exists as ${found.join(" and ")}: give the kind (vso doctor KIND ${namespace}/${name})`,
  );
}

export async function doctorResource(
  opts: DoctorOptions,
  kind: SecretKind,
  namespace: string,
  name: string,
): Promise<Report> {
  const s: Session = { opts, kind, namespace, name };
  const report: Report = { target: `${kind} ${namespace}/${name}`, steps: [] };
  const add = (...steps: Step[]) => report.steps.push(...steps);
  add(...(await guarded("resource", "resource", () => checkResource(s))));
  if (!s.obj) return report;
  try {
    add(...(await guarded("vault-auth", "VaultAuth", () => checkRefs(s))));
    if (s.connection) {
      add(...(await guarded("vault-reachable", "Vault reachable", () => checkVault(s))));
    } else {
      add(skip("vault-reachable", "Vault reachable", "skipped: no VaultConnection resolved"));
    }
    if (s.resolved) {
      add(...(await guarded("vault-login", "Vault login", () => checkLogin(s))));
    }
    if (s.resolved && s.connection) {
      add(...(await guarded("policy", "policy", () => checkPolicy(s))));
      add(...(await guarded("database-role", "database role", () => checkDatabase(s))));
      add(...(await guarded("read", "read", () => checkRead(s))));
    }
  } finally {
    await revokeDoctorToken(s);
  }
  add(...(await guarded("destination", "destination Secret", () => checkDestination(s))));
  add(...(await guarded("rollout-targets", "rollout targets", () => checkRolloutTargets(s))));
  add(...(await guarded("events", "operator Events", () => checkEvents(s))));
  add(...(await guarded("metrics", "operator metrics", () => checkMetrics(s))));
  return report;
}
