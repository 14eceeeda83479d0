// `vso doctor` without a resource: is the operator running and leading, are
// its CRDs the ones this version serves, may its service account do what it
// needs, and which resources are not Ready.
import { isDeepStrictEqual } from "node:util";
import { ALL_KINDS } from "../api/schema/index.ts";
import { crdName, openAPIV3Schema } from "../api/schema/render.ts";
import { CORE, KubeApiError, type KubeObject } from "../kube/client.ts";
import { VSO } from "../operator/resources.ts";
import { fail, guarded, pass, type Report, type Step, skip, warn } from "./report.ts";
import { type DoctorOptions, errText } from "./session.ts";

interface Deployment extends KubeObject {
  spec?: { replicas?: number; template?: { spec?: { serviceAccountName?: string } } };
  status?: { readyReplicas?: number };
}

async function checkDeployment(opts: DoctorOptions): Promise<{ step: Step; serviceAccount?: string }> {
  const title = "operator running";
  const ns = opts.operatorNamespace;
  const list = await opts.kube.list<Deployment>(CORE.deployments, ns, {
    labelSelector: "control-plane=controller-manager,app.kubernetes.io/name=vault-secrets-operator",
  });
  const d = list.items[0];
  if (!d) {
    return {
      step: warn(
        "operator-running",
        title,
        `no operator Deployment in namespace ${ns} (label app.kubernetes.io/name=vault-secrets-operator); the leader Lease below tells whether one runs elsewhere`,
        "if it is installed in another namespace, pass --operator-namespace",
      ),
    };
  }
  const want = d.spec?.replicas ?? 1;
  const ready = d.status?.readyReplicas ?? 0;
  const sa = d.spec?.template?.spec?.serviceAccountName;
  const name = `Deployment ${ns}/${d.metadata.name}`;
  return {
    serviceAccount: sa,
    step:
      ready >= 1
        ? pass("operator-running", title, `${name}: ${ready}/${want} replicas ready`)
        : fail(
            "operator-running",
            title,
            `${name}: ${ready}/${want} replicas ready`,
            `see why: kubectl describe deployment ${d.metadata.name} -n ${ns}; kubectl logs -n ${ns} deployment/${d.metadata.name}`,
          ),
  };
}

async function checkLeader(opts: DoctorOptions): Promise<Step> {
  const title = "leader";
  const ns = opts.operatorNamespace;
  const lease = await opts.kube.getOrNull<
    KubeObject & { spec?: { holderIdentity?: string; renewTime?: string; leaseDurationSeconds?: number } }
  >(CORE.leases, ns, opts.leaderElectionId);
  if (!lease) {
    return fail(
      "leader",
      title,
      `no Lease ${ns}/${opts.leaderElectionId}: no operator has become leader`,
      "start the operator with --leader-elect (the chart does), or pass --operator-namespace if it runs in another namespace",
    );
  }
  const sp = lease.spec ?? {};
  const renewed = Date.parse(sp.renewTime ?? "") || 0;
  const ageS = Math.round((Date.now() - renewed) / 1000);
  if (!sp.holderIdentity || Date.now() > renewed + (sp.leaseDurationSeconds ?? 15) * 1000) {
    return fail(
      "leader",
      title,
      `Lease ${ns}/${opts.leaderElectionId} is not held (holder "${sp.holderIdentity ?? ""}", renewed ${ageS}s ago, duration ${sp.leaseDurationSeconds}s)`,
      `no operator is leading, so nothing syncs: check the operator Pods (kubectl get pods -n ${ns}) and their logs`,
    );
  }
  return pass("leader", title, `held by ${sp.holderIdentity}, renewed ${ageS}s ago`);
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

async function checkCrds(opts: DoctorOptions): Promise<Step> {
  const title = "CRDs";
  const problems: string[] = [];
  const stale: string[] = [];
  for (const kind of ALL_KINDS) {
    const name = crdName(kind);
    const crd = await opts.kube.getOrNull<
      KubeObject & {
        spec?: {
          versions?: {
            name: string;
            served: boolean;
            storage: boolean;
            schema?: { openAPIV3Schema?: unknown };
          }[];
        };
        status?: { conditions?: { type: string; status: string }[] };
      }
    >(CORE.crds, undefined, name);
    if (!crd) {
      problems.push(`${name} is not installed`);
      continue;
    }
    const v = crd.spec?.versions?.find((x) => x.name === "v1beta1");
    if (!v?.served || !v.storage) {
      problems.push(
        `${name}: v1beta1 is not served and stored (versions: ${(crd.spec?.versions ?? []).map((x) => x.name).join(", ")})`,
      );
      continue;
    }
    if (crd.status?.conditions?.find((c) => c.type === "Established")?.status !== "True") {
      problems.push(`${name} is not Established`);
      continue;
    }
    if (
      !isDeepStrictEqual(
        canonical(v.schema?.openAPIV3Schema),
        canonical(JSON.parse(JSON.stringify(openAPIV3Schema(kind)))),
      )
    ) {
      stale.push(name);
    }
  }
  const fix =
    "apply the CRDs of this version before the operator: kubectl apply -f deploy/crds/ (helm upgrade does not update CRDs; see docs/install.md)";
  if (problems.length > 0) return fail("crds", title, problems.join("\n"), fix);
  if (stale.length > 0) {
    return warn("crds", title, `schema differs from this vso-ts version's for: ${stale.join(", ")}`, fix);
  }
  return pass(
    "crds",
    title,
    `all ${ALL_KINDS.length} kinds installed, v1beta1 served and stored, schemas match this version`,
  );
}

/** What the operator's code calls (docs/install.md, "RBAC"), checked for its service account. */
const NEEDED: { verb: string; group: string; resource: string; subresource?: string }[] = [
  ...["get", "list", "watch", "create", "update", "patch", "delete"].map((verb) => ({
    verb,
    group: "",
    resource: "secrets",
  })),
  { verb: "get", group: "", resource: "serviceaccounts" },
  { verb: "create", group: "", resource: "serviceaccounts", subresource: "token" },
  { verb: "create", group: "", resource: "events" },
  { verb: "patch", group: "", resource: "events" },
  ...["deployments", "statefulsets", "daemonsets"].flatMap((resource) =>
    ["get", "patch"].map((verb) => ({ verb, group: "apps", resource })),
  ),
  ...ALL_KINDS.flatMap((k) =>
    ["list", "watch"].map((verb) => ({ verb, group: "secrets.hashicorp.com", resource: k.plural })),
  ),
  ...[
    "vaultconnections",
    "vaultauths",
    "vaultstaticsecrets",
    "vaultdynamicsecrets",
    "vaultpkisecrets",
  ].flatMap((resource) => [
    { verb: "patch", group: "secrets.hashicorp.com", resource },
    { verb: "patch", group: "secrets.hashicorp.com", resource, subresource: "status" },
  ]),
  { verb: "get", group: "coordination.k8s.io", resource: "leases" },
  { verb: "update", group: "coordination.k8s.io", resource: "leases" },
  { verb: "create", group: "coordination.k8s.io", resource: "leases" },
];

async function checkRbac(opts: DoctorOptions, serviceAccount: string | undefined): Promise<Step> {
  const title = "operator RBAC";
  if (!serviceAccount)
    return skip(
      "rbac",
      title,
      "skipped: the operator's service account is unknown (no Deployment found; pass --operator-service-account)",
    );
  const ns = opts.operatorNamespace;
  const user = `system:serviceaccount:${ns}:${serviceAccount}`;
  let denied: string[];
  try {
    const allowed = await Promise.all(
      NEEDED.map(async (n) => {
        const r = (await opts.kube.raw("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SubjectAccessReview",
          spec: {
            user,
            groups: ["system:serviceaccounts", `system:serviceaccounts:${ns}`, "system:authenticated"],
            resourceAttributes: {
              verb: n.verb,
              group: n.group,
              resource: n.resource,
              subresource: n.subresource,
              // Leases only in the operator's namespace; everything else cluster-wide (or per watched namespace).
              namespace: n.resource === "leases" ? ns : undefined,
            },
          },
        })) as { status?: { allowed?: boolean } };
        return r.status?.allowed === true;
      }),
    );
    denied = NEEDED.filter((_n, i) => !allowed[i]).map(
      (n) =>
        `${n.verb} ${n.group ? `${n.group}/` : ""}${n.resource}${n.subresource ? `/${n.subresource}` : ""}`,
    );
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 403) {
      return warn(
        "rbac",
        title,
        `your user may not create SubjectAccessReviews, so ${user}'s permissions are not checked`,
        `ask an admin, or: kubectl auth can-i --list --as=${user}`,
      );
    }
    return warn("rbac", title, `cannot check: ${errText(err)}`);
  }
  if (denied.length > 0) {
    return fail(
      "rbac",
      title,
      `${user} may not: ${denied.join(", ")}`,
      "restore the chart's ClusterRole manager-role and its binding (helm upgrade), or grant these verbs to the service account",
    );
  }
  return pass("rbac", title, `${user} has all ${NEEDED.length} permissions the operator uses`);
}

interface Conditioned extends KubeObject {
  status?: { conditions?: { type: string; status: string; message?: string }[] };
}

async function checkNotReady(opts: DoctorOptions, namespace: string | undefined): Promise<Step[]> {
  const kinds = [
    "VaultConnection",
    "VaultAuth",
    "VaultStaticSecret",
    "VaultDynamicSecret",
    "VaultPKISecret",
  ] as const;
  const steps: Step[] = [];
  let total = 0;
  for (const kind of kinds) {
    let items: Conditioned[];
    try {
      items = (await opts.kube.list<Conditioned>(VSO[kind], namespace)).items;
    } catch (err) {
      steps.push(warn("not-ready", `${kind}s`, `cannot list: ${errText(err)}`));
      continue;
    }
    total += items.length;
    for (const o of items) {
      const conds = o.status?.conditions ?? [];
      const ready = conds.find((c) => c.type === "Ready");
      if (ready?.status === "True") continue;
      const why =
        conds.find((c) => c.status === "False" && c.type !== "Ready" && c.message)?.message ?? ready?.message;
      const id = `${o.metadata.namespace}/${o.metadata.name}`;
      const secretKind = kind !== "VaultConnection" && kind !== "VaultAuth";
      steps.push(
        fail(
          "not-ready",
          `${kind} ${id}`,
          ready ? `not Ready: ${why ?? ""}` : "no Ready condition: not reconciled yet",
          secretKind
            ? `vso doctor ${kind.toLowerCase()} ${id}`
            : `kubectl describe ${kind.toLowerCase()} ${o.metadata.name} -n ${o.metadata.namespace}`,
        ),
      );
    }
  }
  if (!steps.some((s) => s.status === "fail")) {
    steps.push(
      pass(
        "not-ready",
        "resources",
        `all ${total} resources${namespace ? ` in ${namespace}` : ""} are Ready`,
      ),
    );
  }
  return steps;
}

export async function doctorOperator(
  opts: DoctorOptions,
  extra: { namespace?: string; serviceAccount?: string },
): Promise<Report> {
  let serviceAccount = extra.serviceAccount;
  const running = await guarded("operator-running", "operator running", async () => {
    const dep = await checkDeployment(opts);
    serviceAccount ??= dep.serviceAccount;
    return dep.step;
  });
  return {
    target: `operator (namespace ${opts.operatorNamespace})`,
    steps: [
      ...running,
      ...(await guarded("leader", "leader", () => checkLeader(opts))),
      ...(await guarded("crds", "CRDs", () => checkCrds(opts))),
      ...(await guarded("rbac", "operator RBAC", () => checkRbac(opts, serviceAccount))),
      ...(await guarded("not-ready", "resources", () => checkNotReady(opts, extra.namespace))),
    ],
  };
}
