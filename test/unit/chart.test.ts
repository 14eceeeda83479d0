// The Helm chart rendered by the real helm (no cluster needed): a table of
// values to the objects and fields they must produce, the flags it passes
// checked by the operator's own flag parser, values the schema must refuse with
// a message naming the key, `helm lint --strict`, and the drift check of the
// generated deploy/install.yaml.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { parse, parseAllDocuments, stringify } from "yaml";
import { CHART_NODE_FLAGS } from "../../bench/lib/node-flags.ts";
import { KINDS } from "../../src/api/index.ts";
import { toolPaths } from "../../src/dev/paths.ts";
import { parseOperatorConfig } from "../../src/operator/config.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const CHART = join(ROOT, "deploy/chart/vault-secrets-operator");
const HELM = toolPaths().helm;
const RELEASE = "vault-secrets-operator";
const NS = "vault-secrets-operator-system";
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const tmp = mkdtempSync(join(tmpdir(), "vso-chart-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are walked freely in assertions
type Obj = Record<string, any>;

interface Rendered {
  status: number | null;
  stderr: string;
  objects: Obj[];
  get(kind: string, name: string): Obj;
  find(kind: string, name: string): Obj | undefined;
  all(kind: string): Obj[];
}

let valuesFiles = 0;
function render(values: Obj = {}, opts: { release?: string; noHooks?: boolean } = {}): Rendered {
  const file = join(tmp, `values-${valuesFiles++}.yaml`);
  writeFileSync(file, stringify(values));
  const args = ["template", opts.release ?? RELEASE, CHART, "--namespace", NS, "-f", file];
  if (opts.noHooks) args.push("--no-hooks");
  const r = spawnSync(HELM, args, { encoding: "utf8" });
  const objects =
    r.status === 0
      ? parseAllDocuments(r.stdout)
          .map((d) => d.toJS() as Obj | null)
          .filter((o): o is Obj => o !== null)
      : [];
  const find = (kind: string, name: string) =>
    objects.find((o) => o.kind === kind && o.metadata?.name === name);
  return {
    status: r.status,
    stderr: r.stderr,
    objects,
    find,
    get(kind, name) {
      const o = find(kind, name);
      assert.ok(
        o,
        `no ${kind} ${name} among: ${objects.map((x) => `${x.kind}/${x.metadata?.name}`).join(", ")}`,
      );
      return o;
    },
    all: (kind) => objects.filter((o) => o.kind === kind),
  };
}

const DEPLOYMENT = "vault-secrets-operator-controller-manager";
const manager = (r: Rendered) =>
  r.get("Deployment", DEPLOYMENT).spec.template.spec.containers.find((c: Obj) => c.name === "manager");
/** The manager's `vso run` flags as the operator parses them. */
const operatorConfig = (r: Rendered) => {
  const args = manager(r).args as string[];
  assert.equal(args[0], "run");
  return parseOperatorConfig(args.slice(1), {});
};

describe("chart rendering: values to objects", () => {
  it("defaults: the walkthrough's names, image, flags, downward API, probes, hardening", () => {
    const r = render();
    assert.equal(r.status, 0, r.stderr);
    const sa = r.get("ServiceAccount", DEPLOYMENT);
    assert.equal(sa.metadata.namespace, NS);
    const d = r.get("Deployment", DEPLOYMENT);
    assert.equal(d.metadata.namespace, NS);
    assert.equal(d.spec.replicas, 1);
    const pod = d.spec.template.spec;
    assert.equal(pod.serviceAccountName, DEPLOYMENT);
    assert.deepEqual(d.spec.selector.matchLabels, {
      "control-plane": "controller-manager",
      "app.kubernetes.io/name": "vault-secrets-operator",
      "app.kubernetes.io/instance": RELEASE,
    });
    for (const [k, v] of Object.entries(d.spec.selector.matchLabels)) {
      assert.equal(d.spec.template.metadata.labels[k], v);
    }
    const m = manager(r);
    assert.equal(m.image, `vso-ts:${VERSION}`);
    assert.equal(m.imagePullPolicy, "IfNotPresent");
    assert.deepEqual(m.args.slice(0, 5), [
      "run",
      "--health-probe-bind-address=:8081",
      "--metrics-bind-address=:8443",
      "--metrics-secure",
      "--leader-elect",
    ]);
    const cfg = operatorConfig(r);
    assert.equal(cfg.leaderElect, true);
    assert.equal(cfg.metricsBindAddress, ":8443");
    assert.equal(cfg.metricsSecure, true, "metrics on 8443 are HTTPS with authentication and authorization");
    assert.deepEqual(cfg.globalVaultAuthOptions, ["allow-default-globals"]);
    assert.deepEqual(cfg.globalTransformationOptions, []);
    const env = Object.fromEntries(
      m.env.map((e: Obj) => [e.name, e.valueFrom?.fieldRef?.fieldPath ?? e.value]),
    );
    assert.deepEqual(
      { ns: env.OPERATOR_NAMESPACE, pod: env.OPERATOR_POD_NAME, uid: env.OPERATOR_POD_UID },
      { ns: "metadata.namespace", pod: "metadata.name", uid: "metadata.uid" },
    );
    const ports = Object.fromEntries(m.ports.map((p: Obj) => [p.name, p.containerPort]));
    assert.deepEqual(ports, { https: 8443, health: 8081 });
    assert.deepEqual(
      [m.livenessProbe.httpGet, m.readinessProbe.httpGet],
      [
        { path: "/healthz", port: "health" },
        { path: "/readyz", port: "health" },
      ],
    );
    // The operator serves exactly these paths on the health port.
    const managerSrc = readFileSync(join(ROOT, "src/operator/manager.ts"), "utf8");
    assert.match(managerSrc, /req\.url === "\/healthz" \|\| req\.url === "\/readyz"/);
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(m.securityContext.readOnlyRootFilesystem, true);
    assert.equal(m.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(m.securityContext.capabilities.drop, ["ALL"]);
    assert.equal(pod.terminationGracePeriodSeconds, 120);
    assert.ok(m.resources.limits.memory);

    const svc = r.get("Service", "vault-secrets-operator-controller-manager-metrics-service");
    assert.deepEqual(svc.spec.ports, [{ name: "https", port: 8443, protocol: "TCP", targetPort: "https" }]);
    assert.deepEqual(svc.spec.selector, d.spec.selector.matchLabels);

    for (const kind of ["PodDisruptionBudget", "ServiceMonitor", "VaultConnection", "VaultAuth"]) {
      assert.deepEqual(r.all(kind), [], `${kind} rendered by default`);
    }
  });

  it("Node's flags: V8's optimizing compilers off by default, on with v8Compilers: optimizing (ours)", () => {
    const noCompilers = ["--no-opt", "--no-maglev", "--liftoff-only"];
    const base = manager(render()).command as string[];
    // The bench measures the operator with the flags the chart ships.
    assert.deepEqual(base.slice(1, 1 + CHART_NODE_FLAGS.length), CHART_NODE_FLAGS);
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(join(ROOT, "Dockerfile"), "utf8"))?.[1];
    assert.deepEqual(JSON.parse(entrypoint ?? "[]"), base, "the image starts as the chart does");
    for (const f of noCompilers) assert.ok(base.includes(f), `${f} by default`);
    const fast = manager(render({ controller: { manager: { v8Compilers: "optimizing" } } }))
      .command as string[];
    assert.deepEqual(
      fast,
      base.filter((f) => !noCompilers.includes(f)),
    );
    const bad = render({ controller: { manager: { v8Compilers: "fast" } } });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /v8Compilers/);
  });

  it("another release name prefixes every name", () => {
    const r = render({}, { release: "acme" });
    r.get("Deployment", "acme-vault-secrets-operator-controller-manager");
    r.get("Service", "acme-vault-secrets-operator-controller-manager-metrics-service");
    r.get("ClusterRole", "acme-vault-secrets-operator-manager-role");
  });

  it("replicas and image", () => {
    const r = render({
      controller: {
        replicas: 2,
        manager: { image: { repository: "registry.example/vso-ts", tag: "9.9.9", pullPolicy: "Always" } },
      },
    });
    assert.equal(r.get("Deployment", DEPLOYMENT).spec.replicas, 2);
    assert.equal(manager(r).image, "registry.example/vso-ts:9.9.9");
    assert.equal(manager(r).imagePullPolicy, "Always");
    const job = r.get("Job", "vault-secrets-operator-pre-delete-controller-cleanup");
    assert.equal(job.spec.template.spec.containers[0].image, "registry.example/vso-ts:9.9.9");
  });

  it("every manager option becomes a flag the operator accepts, with the value intended", () => {
    const r = render({
      controller: {
        manager: {
          clientCache: { persistenceModel: "direct-unencrypted", cacheSize: 500, numLocks: 0 },
          maxConcurrentReconciles: 7,
          globalTransformationOptions: { excludeRaw: true },
          globalVaultAuthOptions: { allowDefaultGlobals: false },
          backoffOnSecretSourceError: {
            initialInterval: "2s",
            maxInterval: "1m30s",
            maxElapsedTime: "10m",
            randomizationFactor: 0.25,
            multiplier: 2,
          },
          kubeClient: { qps: 50, burst: 100 },
          logging: { level: "debug", timeEncoding: "iso8601", stacktraceLevel: "error" },
        },
      },
    });
    const args = manager(r).args as string[];
    for (const flag of [
      "--client-cache-persistence-model=direct-unencrypted",
      "--client-cache-size=500",
      "--client-cache-num-locks=0",
      "--max-concurrent-reconciles=7",
      "--global-transformation-options=exclude-raw",
      "--global-vault-auth-options=",
      "--kube-client-qps=50",
      "--kube-client-burst=100",
      "--zap-log-level=debug",
      "--zap-time-encoding=iso8601",
      "--zap-stacktrace-level=error",
    ]) {
      assert.ok(args.includes(flag), `${flag} not in ${args.join(" ")}`);
    }
    const cfg = operatorConfig(r);
    assert.equal(cfg.clientCachePersistenceModel, "direct-unencrypted");
    assert.equal(cfg.clientCacheSize, 500);
    assert.equal(cfg.maxConcurrentReconciles, 7);
    assert.deepEqual(cfg.globalTransformationOptions, ["exclude-raw"]);
    assert.deepEqual(cfg.globalVaultAuthOptions, []);
    assert.deepEqual(cfg.backoff, {
      initialIntervalMs: 2000,
      maxIntervalMs: 90_000,
      maxElapsedMs: 600_000,
      randomizationFactor: 0.25,
      multiplier: 2,
    });
    assert.equal(cfg.kubeClientQps, 50);
    assert.equal(cfg.kubeClientBurst, 100);
    assert.equal(cfg.logging.level, "debug");
  });

  it("every logging value the schema allows is one the operator accepts", () => {
    const schema = JSON.parse(readFileSync(join(CHART, "values.schema.json"), "utf8")) as Obj;
    const top = (schema as { properties: Obj }).properties as Obj;
    const props = (((top.controller as Obj).properties as Obj).manager as Obj).properties as Obj;
    const keys = (props.logging as Obj).properties as Record<string, { enum: string[] }>;
    for (const [key, def] of Object.entries(keys)) {
      for (const value of def.enum.filter(Boolean)) {
        const r = render({ controller: { manager: { logging: { [key]: value } } } });
        assert.doesNotThrow(() => operatorConfig(r), `logging.${key}=${value}`);
      }
    }
  });

  it("extraArgs come last and override the logging values; extraEnv is appended", () => {
    const r = render({
      controller: {
        manager: {
          logging: { level: "debug" },
          extraArgs: [
            "--zap-log-level=error",
            "--watch-namespaces=a,b",
            "--leader-election-id=other.example",
          ],
          extraEnv: [{ name: "HTTPS_PROXY", value: "http://proxy:3128" }],
        },
      },
    });
    const args = manager(r).args as string[];
    assert.equal(args.filter((a) => a.startsWith("--zap-log-level")).length, 1);
    assert.deepEqual(args.slice(-3), [
      "--zap-log-level=error",
      "--watch-namespaces=a,b",
      "--leader-election-id=other.example",
    ]);
    assert.equal(operatorConfig(r).logging.level, "error");
    assert.ok(manager(r).env.some((e: Obj) => e.name === "HTTPS_PROXY" && e.value === "http://proxy:3128"));
    // The cleanup hook clears finalizers where the operator works, and watches its Lease.
    const job = r.get("Job", "vault-secrets-operator-pre-delete-controller-cleanup");
    const hookCfg = parseOperatorConfig(job.spec.template.spec.containers[0].args.slice(1), {});
    assert.deepEqual(hookCfg.watchNamespaces, ["a", "b"]);
    assert.equal(hookCfg.leaderElection.id, "other.example");
    assert.equal(hookCfg.logging.level, "info");
  });

  it("Pod placement and metadata options", () => {
    const placement = {
      nodeSelector: { "kubernetes.io/os": "linux" },
      tolerations: [{ key: "dedicated", operator: "Equal", value: "ops", effect: "NoSchedule" }],
      affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [] } },
    };
    const r = render({
      controller: {
        ...placement,
        priorityClassName: "system-cluster-critical",
        strategy: { type: "Recreate" },
        hostAliases: [{ ip: "10.0.0.1", hostnames: ["vault.example"] }],
        topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "zone", whenUnsatisfiable: "ScheduleAnyway" }],
        extraLabels: { team: "platform" },
        annotations: { "example.com/a": "b" },
        imagePullSecrets: ["regcred", { name: "other" }],
        terminationGracePeriodSeconds: 30,
        securityContext: { readOnlyRootFilesystem: true, runAsUser: 1000 },
      },
    });
    const d = r.get("Deployment", DEPLOYMENT);
    const pod = d.spec.template.spec;
    assert.deepEqual(
      { nodeSelector: pod.nodeSelector, tolerations: pod.tolerations, affinity: pod.affinity },
      placement,
    );
    assert.equal(pod.priorityClassName, "system-cluster-critical");
    assert.deepEqual(d.spec.strategy, { type: "Recreate" });
    assert.deepEqual(pod.hostAliases, [{ ip: "10.0.0.1", hostnames: ["vault.example"] }]);
    assert.deepEqual(pod.topologySpreadConstraints[0].labelSelector.matchLabels, d.spec.selector.matchLabels);
    assert.equal(d.spec.template.metadata.labels.team, "platform");
    assert.equal(d.spec.template.metadata.annotations["example.com/a"], "b");
    assert.deepEqual(pod.imagePullSecrets, [{ name: "regcred" }, { name: "other" }]);
    assert.equal(pod.terminationGracePeriodSeconds, 30);
    // Helm merges maps with the defaults: the hardening stays unless a key is set to null.
    assert.deepEqual(manager(r).securityContext, {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      readOnlyRootFilesystem: true,
      runAsUser: 1000,
    });
    const job = r.get("Job", "vault-secrets-operator-pre-delete-controller-cleanup").spec.template.spec;
    assert.deepEqual(
      { nodeSelector: job.nodeSelector, tolerations: job.tolerations, affinity: job.affinity },
      placement,
    );
  });

  it("PodDisruptionBudget only when enabled, with one of maxUnavailable/minAvailable", () => {
    const r = render({
      controller: { replicas: 2, podDisruptionBudget: { enabled: true, maxUnavailable: 1 } },
    });
    const pdb = r.get("PodDisruptionBudget", DEPLOYMENT);
    assert.equal(pdb.spec.maxUnavailable, 1);
    assert.equal(pdb.spec.minAvailable, undefined);
    assert.deepEqual(
      pdb.spec.selector.matchLabels,
      r.get("Deployment", DEPLOYMENT).spec.selector.matchLabels,
    );
    const pct = render({ controller: { podDisruptionBudget: { enabled: true, minAvailable: "50%" } } });
    assert.equal(pct.get("PodDisruptionBudget", DEPLOYMENT).spec.minAvailable, "50%");
    const both = render({
      controller: { podDisruptionBudget: { enabled: true, maxUnavailable: 1, minAvailable: 1 } },
    });
    assert.notEqual(both.status, 0);
    assert.match(
      both.stderr,
      /controller\.podDisruptionBudget: set only one of maxUnavailable and minAvailable/,
    );
    const none = render({ controller: { podDisruptionBudget: { enabled: true } } });
    assert.match(none.stderr, /controller\.podDisruptionBudget: set maxUnavailable or minAvailable/);
  });

  it("ServiceMonitor only when enabled, scraping the metrics Service over HTTPS", () => {
    const r = render({
      telemetry: { serviceMonitor: { enabled: true, selectors: { release: "prom" }, interval: "15s" } },
    });
    const sm = r.get("ServiceMonitor", "vault-secrets-operator-controller-manager-metrics-monitor");
    assert.equal(sm.metadata.labels.release, "prom");
    const ep = sm.spec.endpoints[0];
    assert.deepEqual(
      [ep.port, ep.scheme, ep.path, ep.interval, ep.bearerTokenFile],
      ["https", "https", "/metrics", "15s", "/var/run/secrets/kubernetes.io/serviceaccount/token"],
    );
    const svc = r.get("Service", "vault-secrets-operator-controller-manager-metrics-service");
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels))
      assert.equal(svc.metadata.labels[k], v);
    assert.deepEqual(sm.spec.namespaceSelector.matchNames, [NS]);
  });

  it("metrics Service type and ports", () => {
    const r = render({
      metricsService: {
        type: "NodePort",
        ports: [{ name: "https", port: 9443, targetPort: "https", nodePort: 30443 }],
      },
    });
    const svc = r.get("Service", "vault-secrets-operator-controller-manager-metrics-service");
    assert.equal(svc.spec.type, "NodePort");
    assert.deepEqual(svc.spec.ports, [{ name: "https", port: 9443, targetPort: "https", nodePort: 30443 }]);
  });

  it("defaultVaultConnection renders the VaultConnection `default` in the operator namespace", () => {
    const r = render({
      defaultVaultConnection: {
        enabled: true,
        address: "http://vault.vault.svc.cluster.local:8200",
        skipTLSVerify: true,
        caCertSecret: "vault-ca",
        tlsServerName: "vault.internal",
        headers: { "X-Team": "ops" },
      },
    });
    const c = r.get("VaultConnection", "default");
    assert.equal(c.apiVersion, "secrets.hashicorp.com/v1beta1");
    assert.equal(c.metadata.namespace, NS);
    assert.deepEqual(c.spec, {
      address: "http://vault.vault.svc.cluster.local:8200",
      skipTLSVerify: true,
      caCertSecretRef: "vault-ca",
      tlsServerName: "vault.internal",
      headers: { "X-Team": "ops" },
    });
  });

  it("defaultAuthMethod renders the VaultAuth `default` for each supported method", () => {
    const k8s = render({
      defaultVaultConnection: { enabled: true, address: "https://vault:8200" },
      defaultAuthMethod: {
        enabled: true,
        namespace: "team-a",
        allowedNamespaces: ["*"],
        kubernetes: { role: "myapp-role", serviceAccount: "myapp-sa", tokenAudiences: ["vault"] },
        headers: { "X-A": "b" },
        vaultAuthGlobalRef: {
          enabled: true,
          name: "global",
          allowDefault: true,
          mergeStrategy: { headers: "union" },
        },
      },
    }).get("VaultAuth", "default");
    assert.equal(k8s.metadata.namespace, NS);
    assert.deepEqual(k8s.spec, {
      vaultConnectionRef: "default",
      allowedNamespaces: ["*"],
      method: "kubernetes",
      mount: "kubernetes",
      namespace: "team-a",
      kubernetes: { role: "myapp-role", serviceAccount: "myapp-sa", audiences: ["vault"] },
      headers: { "X-A": "b" },
      vaultAuthGlobalRef: { name: "global", allowDefault: true, mergeStrategy: { headers: "union" } },
    });
    const jwt = render({
      defaultAuthMethod: {
        enabled: true,
        method: "jwt",
        mount: "jwt",
        jwt: { role: "r", secretRef: "jwt-token" },
      },
    }).get("VaultAuth", "default");
    assert.deepEqual(jwt.spec.jwt, { role: "r", secretRef: "jwt-token" });
    const approle = render({
      defaultAuthMethod: {
        enabled: true,
        method: "appRole",
        mount: "approle",
        appRole: { roleId: "id-1", secretRef: "approle-secret" },
        params: { a: "b" },
      },
    }).get("VaultAuth", "default");
    assert.deepEqual(
      [approle.spec.method, approle.spec.appRole, approle.spec.params],
      ["appRole", { roleId: "id-1", secretRef: "approle-secret" }, { a: "b" }],
    );
  });

  it("clientCache.storageEncryption renders the Transit VaultAuth for direct-encrypted", () => {
    const r = render({
      defaultVaultConnection: { enabled: true, address: "https://vault:8200" },
      controller: {
        manager: {
          clientCache: {
            persistenceModel: "direct-encrypted",
            storageEncryption: {
              enabled: true,
              keyName: "vso-client-cache",
              transitMount: "transit",
              kubernetes: { role: "op" },
            },
          },
        },
      },
    });
    const a = r.get("VaultAuth", "vault-secrets-operator-default-transit-auth");
    assert.equal(a.metadata.labels.cacheStorageEncryption, "true");
    assert.deepEqual(a.spec.storageEncryption, { mount: "transit", keyName: "vso-client-cache" });
    // Without a serviceAccount, the operator logs in as itself.
    assert.deepEqual(a.spec.kubernetes, { role: "op", serviceAccount: DEPLOYMENT });
  });

  it("RBAC: least-privilege manager role, leader election Role, per-kind viewer/editor roles, aggregation", () => {
    const r = render({
      controller: {
        rbac: {
          clusterRoleAggregation: {
            viewerRoles: ["*"],
            editorRoles: ["VaultStaticSecret", "VaultAuth"],
            userFacingRoles: { view: true, edit: false },
          },
        },
      },
    });
    const rules = (o: Obj) =>
      (o.rules as Obj[]).flatMap((rule) =>
        (rule.resources ?? rule.nonResourceURLs).flatMap((res: string) =>
          (rule.verbs as string[]).map((v) => `${rule.apiGroups?.[0] ?? ""}/${res}:${v}`),
        ),
      );
    const granted = new Set(rules(r.get("ClusterRole", "vault-secrets-operator-manager-role")));
    // The set derived in docs/install.md from every Kubernetes call in src/.
    const expected = new Set([
      ...["get", "list", "watch", "create", "update", "patch", "delete"].map((v) => `/secrets:${v}`),
      "/serviceaccounts:get",
      "/serviceaccounts/token:create",
      "/events:create",
      "/events:patch",
      ...["deployments", "statefulsets", "daemonsets"].flatMap((w) => [`apps/${w}:get`, `apps/${w}:patch`]),
      "argoproj.io/rollouts:get",
      "argoproj.io/rollouts:patch",
      ...KINDS.flatMap((k) => [
        `secrets.hashicorp.com/${k.plural}:list`,
        `secrets.hashicorp.com/${k.plural}:watch`,
      ]),
      ...[
        "vaultconnections",
        "vaultauths",
        "vaultstaticsecrets",
        "vaultdynamicsecrets",
        "vaultpkisecrets",
      ].map((p) => `secrets.hashicorp.com/${p}:patch`),
      ...KINDS.filter((k) => k.kind !== "VaultAuthGlobal").map(
        (k) => `secrets.hashicorp.com/${k.plural}/status:patch`,
      ),
    ]);
    assert.deepEqual([...granted].sort(), [...expected].sort());
    for (const role of [...r.all("ClusterRole"), ...r.all("Role")]) {
      for (const rule of role.rules ?? []) {
        for (const field of ["apiGroups", "resources", "verbs"]) {
          assert.ok(!(rule[field] ?? []).includes("*"), `${role.metadata.name} grants * in ${field}`);
        }
      }
    }
    assert.deepEqual(rules(r.get("Role", "vault-secrets-operator-leader-election-role")), [
      "coordination.k8s.io/leases:get",
      "coordination.k8s.io/leases:create",
      "coordination.k8s.io/leases:update",
    ]);
    const binding = r.get("RoleBinding", "vault-secrets-operator-leader-election-rolebinding");
    assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: DEPLOYMENT, namespace: NS }]);
    assert.deepEqual(
      r.get("ClusterRoleBinding", "vault-secrets-operator-manager-rolebinding").subjects,
      binding.subjects,
    );
    assert.deepEqual(rules(r.get("ClusterRole", "vault-secrets-operator-metrics-auth-role")), [
      "authentication.k8s.io/tokenreviews:create",
      "authorization.k8s.io/subjectaccessreviews:create",
    ]);
    for (const k of KINDS) {
      const viewer = r.get("ClusterRole", `vault-secrets-operator-${k.kind.toLowerCase()}-viewer-role`);
      assert.deepEqual(viewer.rules[0].verbs, ["get", "list", "watch"]);
      assert.equal(viewer.metadata.labels["vso.hashicorp.com/aggregate-to-viewer"], "true");
      r.get("ClusterRole", `vault-secrets-operator-${k.kind.toLowerCase()}-editor-role`);
    }
    const aggView = r.get("ClusterRole", "vault-secrets-operator-aggregate-role-viewer");
    assert.equal(aggView.metadata.labels["rbac.authorization.k8s.io/aggregate-to-view"], "true");
    assert.equal(
      aggView.aggregationRule.clusterRoleSelectors[0].matchLabels["vso.hashicorp.com/aggregate-to-viewer"],
      "true",
    );
    const aggEdit = r.get("ClusterRole", "vault-secrets-operator-aggregate-role-editor");
    assert.equal(aggEdit.metadata.labels["rbac.authorization.k8s.io/aggregate-to-edit"], undefined);
    assert.deepEqual(
      aggEdit.aggregationRule.clusterRoleSelectors.map(
        (s: Obj) => s.matchLabels["vso.hashicorp.com/role-instance"],
      ),
      ["vaultstaticsecret-editor-role", "vaultauth-editor-role"],
    );
  });

  it("the pre-delete hook Job runs `vso run --uninstall` under its own hook-scoped ServiceAccount", () => {
    const r = render({
      controller: { preDeleteHookTimeoutSeconds: 90 },
      hooks: { resources: { limits: { memory: "99Mi" } } },
    });
    const name = "vault-secrets-operator-pre-delete-controller-cleanup";
    const job = r.get("Job", name);
    for (const o of [
      job,
      r.get("ServiceAccount", name),
      r.get("ClusterRole", name),
      r.get("ClusterRoleBinding", name),
      r.get("Role", name),
      r.get("RoleBinding", name),
    ]) {
      assert.equal(o.metadata.annotations["helm.sh/hook"], "pre-delete", `${o.kind} ${name}`);
      assert.equal(
        o.metadata.annotations["helm.sh/hook-delete-policy"],
        "before-hook-creation,hook-succeeded",
      );
    }
    // RBAC first, then the Job.
    assert.ok(Number(r.get("ServiceAccount", name).metadata.annotations["helm.sh/hook-weight"]) < 0);
    assert.equal(job.metadata.annotations["helm.sh/hook-weight"], "0");
    const pod = job.spec.template.spec;
    assert.equal(pod.serviceAccountName, name);
    assert.equal(pod.restartPolicy, "Never");
    assert.equal(job.spec.activeDeadlineSeconds, 90);
    const c = pod.containers[0];
    assert.deepEqual(c.args, ["run", "--uninstall", "--pre-delete-hook-timeout-seconds=90"]);
    assert.ok(parseOperatorConfig(c.args.slice(1), {}).uninstall);
    assert.ok(c.env.some((e: Obj) => e.name === "OPERATOR_DEPLOYMENT_NAME" && e.value === DEPLOYMENT));
    assert.equal(c.resources.limits.memory, "99Mi");
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    // It may scale only the operator Deployment.
    const scale = r.get("Role", name).rules.find((x: Obj) => x.resources.includes("deployments"));
    assert.deepEqual(scale.resourceNames, [DEPLOYMENT]);
    // Not part of the kubectl install.
    assert.equal(render({}, { noHooks: true }).find("Job", name), undefined);
  });
});

describe("chart values schema refuses what vso-ts does not support", () => {
  const cases: [string, Obj, RegExp][] = [
    [
      "an unknown top-level key",
      { controler: { replicas: 1 } },
      /additional properties 'controler' not allowed/,
    ],
    [
      "kube-rbac-proxy (metrics are served by the operator)",
      { controller: { kubeRbacProxy: { image: {} } } },
      /at '\/controller': additional properties 'kubeRbacProxy' not allowed/,
    ],
    [
      "an unknown manager key",
      { controller: { manager: { volumes: [] } } },
      /at '\/controller\/manager': additional properties 'volumes' not allowed/,
    ],
    [
      "controllerConfigMapYaml",
      { controller: { controllerConfigMapYaml: {} } },
      /additional properties 'controllerConfigMapYaml' not allowed/,
    ],
    [
      "replicas of the wrong type",
      { controller: { replicas: "two" } },
      /at '\/controller\/replicas': got string, want integer/,
    ],
    [
      "an unknown persistence model",
      { controller: { manager: { clientCache: { persistenceModel: "disk" } } } },
      /at '\/controller\/manager\/clientCache\/persistenceModel': value must be one of/,
    ],
    [
      "an unsupported auth method",
      { defaultAuthMethod: { method: "aws" } },
      /at '\/defaultAuthMethod\/method': value must be one of 'kubernetes', 'jwt', 'appRole'/,
    ],
    [
      "aws settings",
      { defaultAuthMethod: { aws: { role: "r" } } },
      /at '\/defaultAuthMethod': additional properties 'aws' not allowed/,
    ],
    [
      "an unknown log level",
      { controller: { manager: { logging: { level: "trace" } } } },
      /at '\/controller\/manager\/logging\/level': value must be one of/,
    ],
    [
      "a malformed duration",
      { controller: { manager: { backoffOnSecretSourceError: { maxInterval: "1y" } } } },
      /at '\/controller\/manager\/backoffOnSecretSourceError\/maxInterval': '1y' does not match pattern/,
    ],
    [
      "the CRD upgrade hook",
      { hooks: { upgradeCRDs: { enabled: true } } },
      /at '\/hooks\/upgradeCRDs\/enabled': value must be false/,
    ],
    ["the CSI driver", { csi: { enabled: true } }, /at '\/csi\/enabled': value must be false/],
    [
      "a default connection without address",
      { defaultVaultConnection: { enabled: true } },
      /at '\/defaultVaultConnection\/address'/,
    ],
    [
      "a default auth method without role",
      { defaultAuthMethod: { enabled: true } },
      /at '\/defaultAuthMethod\/kubernetes\/role'/,
    ],
    [
      "an unknown kind to aggregate",
      { controller: { rbac: { clusterRoleAggregation: { viewerRoles: ["VaultTransit"] } } } },
      /at '\/controller\/rbac\/clusterRoleAggregation\/viewerRoles\/0': value must be one of/,
    ],
  ];
  for (const [what, values, message] of cases) {
    it(what, () => {
      const r = render(values);
      assert.notEqual(r.status, 0, `accepted: ${JSON.stringify(values)}`);
      assert.match(r.stderr, message);
    });
  }
});

describe("chart lint and generated install.yaml", () => {
  it("helm lint --strict is clean with the defaults and with every optional object enabled", () => {
    const all = join(tmp, "all.yaml");
    writeFileSync(
      all,
      stringify({
        controller: {
          podDisruptionBudget: { enabled: true, maxUnavailable: 1 },
          rbac: { clusterRoleAggregation: { viewerRoles: ["*"], editorRoles: ["*"] } },
        },
        telemetry: { serviceMonitor: { enabled: true } },
        defaultVaultConnection: { enabled: true, address: "http://vault:8200" },
        defaultAuthMethod: { enabled: true, kubernetes: { role: "r" } },
      }),
    );
    for (const extra of [[], ["-f", all]]) {
      const r = spawnSync(HELM, ["lint", "--strict", CHART, ...extra], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      assert.doesNotMatch(r.stdout, /\[(WARNING|ERROR)\]/);
    }
  });

  it("Chart.yaml appVersion is the package version", () => {
    const chart = parse(readFileSync(join(CHART, "Chart.yaml"), "utf8")) as {
      name: string;
      appVersion: string;
    };
    assert.deepEqual([chart.name, chart.appVersion], ["vault-secrets-operator", VERSION]);
  });

  it("deploy/install.yaml is up to date, and the check fails when the chart changes", () => {
    const gen = join(ROOT, "scripts/generate-install.ts");
    const ok = spawnSync(process.execPath, [gen, "--check"], { encoding: "utf8" });
    assert.equal(ok.status, 0, `deploy/install.yaml is stale:\n${ok.stderr}`);
    const copy = join(tmp, "root");
    mkdirSync(join(copy, "deploy"), { recursive: true });
    cpSync(join(ROOT, "deploy/chart"), join(copy, "deploy/chart"), { recursive: true });
    cpSync(join(ROOT, "deploy/install.yaml"), join(copy, "deploy/install.yaml"));
    assert.equal(
      spawnSync(process.execPath, [gen, "--check", "--root", copy], { encoding: "utf8" }).status,
      0,
    );
    const values = join(copy, "deploy/chart/vault-secrets-operator/values.yaml");
    writeFileSync(values, readFileSync(values, "utf8").replace("replicas: 1", "replicas: 2"));
    const stale = spawnSync(process.execPath, [gen, "--check", "--root", copy], { encoding: "utf8" });
    assert.equal(stale.status, 1);
    assert.match(stale.stderr, /stale: deploy\/install\.yaml/);
  });

  it("deploy/install.yaml: the namespace first, CRDs, the chart's objects, no hook", () => {
    const text = readFileSync(join(ROOT, "deploy/install.yaml"), "utf8");
    assert.ok(text.startsWith("# Code generated by scripts/generate-install.ts"));
    const objs = parseAllDocuments(text)
      .map((d) => d.toJS() as Obj | null)
      .filter((o): o is Obj => o !== null);
    assert.deepEqual([objs[0].kind, objs[0].metadata.name], ["Namespace", NS]);
    assert.equal(objs.filter((o) => o.kind === "CustomResourceDefinition").length, KINDS.length);
    assert.ok(
      objs.some(
        (o) => o.kind === "Deployment" && o.metadata.name === DEPLOYMENT && o.metadata.namespace === NS,
      ),
    );
    assert.ok(!objs.some((o) => o.metadata?.annotations?.["helm.sh/hook"]));
  });
});
