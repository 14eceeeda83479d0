// `vso doctor [KIND] [NAMESPACE/NAME | NAME -n NAMESPACE]` (also `kubectl vso
// doctor ...` through bin/kubectl-vso): walks the chain for one secret
// resource, or checks the operator itself when no resource is given. Exit
// code 0 only when no step failed.
import { parseArgs } from "node:util";
import { doctorResource, findKind } from "../doctor/doctor.ts";
import { doctorOperator } from "../doctor/operator.ts";
import { renderHuman, renderJson, reportOk } from "../doctor/report.ts";
import { type DoctorOptions, parseKind } from "../doctor/session.ts";
import { CORE, KubeClient } from "../kube/client.ts";
import { loadConnection } from "../kube/kubeconfig.ts";
import { parseGlobalVaultAuthOptions } from "../operator/config.ts";
import { parseDuration } from "../util/duration.ts";

export const DOCTOR_USAGE = `usage: vso doctor [KIND] [NAMESPACE/NAME | NAME] [flags]
       kubectl vso doctor ...          (with bin/kubectl-vso on the PATH)

  With a resource: follows the chain the operator walks for it (VaultAuth, VaultConnection,
  Vault, service account and login, policy, database role, the read, destination Secret,
  rollout targets, the operator's Events and metrics) and prints each step with the fix.
  Without: checks the operator (running, leader, CRDs, RBAC) and lists resources not Ready.
  KIND: VaultStaticSecret|vss, VaultDynamicSecret|vds, VaultPKISecret|vps (found when omitted).

flags:
  -n, --namespace NS          namespace of NAME (default: the kubeconfig context's, else "default");
                              without a resource, limits the not-Ready listing to NS
  -o, --output text|json      human output (default) or JSON for scripts
  --kubeconfig FILE           default: $KUBECONFIG, ~/.kube/config, in-cluster
  --operator-namespace NS     default: $OPERATOR_NAMESPACE, else the namespace holding the leader Lease,
                              else vault-secrets-operator-system
  --operator-service-account SA   for the RBAC check when no operator Deployment is found
  --vault-address URL         reach Vault here instead of the VaultConnection's address
                              (e.g. through kubectl port-forward)
  --metrics-url URL           the operator's /metrics, for what it reports about the resource
  --metrics-token TOKEN       bearer token for a secure metrics endpoint
  --issue                     for dynamic secrets and certificates, issue one and revoke it at once
  --timeout DURATION          per Vault request (default 10s)
  --global-vault-auth-options OPTS  as the operator's flag (default allow-default-globals)
  --leader-election-id ID     default b0d477c0.hashicorp.com`;

const LEADER_ID = "b0d477c0.hashicorp.com";

function contextNamespace(kubeconfig: string | undefined): string {
  try {
    return loadConnection(kubeconfig).namespace || "default";
  } catch {
    return "default";
  }
}

/** Where the operator runs: $OPERATOR_NAMESPACE, the namespace of its leader Lease, or VSO's default. */
async function operatorNamespace(kube: KubeClient, leaderId: string): Promise<string> {
  if (process.env.OPERATOR_NAMESPACE) return process.env.OPERATOR_NAMESPACE;
  try {
    const leases = await kube.list(CORE.leases, undefined, { fieldSelector: `metadata.name=${leaderId}` });
    if (leases.items.length === 1) return leases.items[0].metadata.namespace ?? "";
  } catch {
    // Not allowed to list Leases cluster-wide: fall back to the default.
  }
  return "vault-secrets-operator-system";
}

export async function doctorCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      namespace: { type: "string", short: "n" },
      output: { type: "string", short: "o", default: "text" },
      kubeconfig: { type: "string" },
      "operator-namespace": { type: "string" },
      "operator-service-account": { type: "string" },
      "vault-address": { type: "string" },
      "metrics-url": { type: "string" },
      "metrics-token": { type: "string" },
      issue: { type: "boolean", default: false },
      timeout: { type: "string", default: "10s" },
      "global-vault-auth-options": { type: "string", default: "allow-default-globals" },
      "leader-election-id": { type: "string", default: LEADER_ID },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(DOCTOR_USAGE);
    return 0;
  }
  if (values.output !== "text" && values.output !== "json") {
    console.error(`vso doctor: -o must be text or json\n\n${DOCTOR_USAGE}`);
    return 2;
  }
  if (positionals.length > 2) {
    console.error(`vso doctor: too many arguments\n\n${DOCTOR_USAGE}`);
    return 2;
  }
  const kube = await KubeClient.load(values.kubeconfig);
  try {
    const leaderElectionId = values["leader-election-id"];
    const opts: DoctorOptions = {
      kube,
      operatorNamespace: values["operator-namespace"] ?? (await operatorNamespace(kube, leaderElectionId)),
      allowDefaultGlobals: parseGlobalVaultAuthOptions(values["global-vault-auth-options"]).includes(
        "allow-default-globals",
      ),
      vaultAddress: values["vault-address"],
      metricsUrl: values["metrics-url"],
      metricsToken: values["metrics-token"],
      issue: values.issue,
      timeoutMs: parseDuration(values.timeout),
      leaderElectionId,
    };
    let report: Awaited<ReturnType<typeof doctorOperator>>;
    if (positionals.length === 0) {
      report = await doctorOperator(opts, {
        namespace: values.namespace,
        serviceAccount: values["operator-service-account"],
      });
    } else {
      const ref = positionals[positionals.length - 1];
      const kindArg = positionals.length === 2 ? positionals[0] : undefined;
      const kind = kindArg ? parseKind(kindArg) : undefined;
      if (kindArg && !kind) {
        console.error(`vso doctor: unknown kind "${kindArg}"\n\n${DOCTOR_USAGE}`);
        return 2;
      }
      const slash = ref.indexOf("/");
      const namespace =
        slash >= 0 ? ref.slice(0, slash) : (values.namespace ?? contextNamespace(values.kubeconfig));
      const name = slash >= 0 ? ref.slice(slash + 1) : ref;
      report = await doctorResource(opts, kind ?? (await findKind(opts, namespace, name)), namespace, name);
    }
    console.log(values.output === "json" ? renderJson(report) : renderHuman(report));
    return reportOk(report) ? 0 : 1;
  } finally {
    await kube.close();
  }
}
