// Pods on the local node consume what vso-ts writes: a Secret as an
// environment variable and as a volume, a Deployment replaced by a rollout
// restart only when the Vault data changes, and in-cluster access to the API
// server (service-account token, verified TLS through the `kubernetes`
// Service) and to cluster DNS. Values never appear in logs: Pods print
// SHA-256 fingerprints, which the tests compute from what they put in Vault.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "../../src/dev/paths.ts";
import { CORE, type ResourceType } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { eventually, isolatedNamespace, testEnv } from "../support/env.ts";
import { allPods, podLogs, requireNode, runningPods, waitPodPhase } from "../support/node.ts";
import {
  decoded,
  defaultConnectionAndAuth,
  kvPut,
  startOperator,
  vaultRoleFor,
  waitForSecret,
} from "../support/operator.ts";

const services: ResourceType = {
  group: "",
  version: "v1",
  plural: "services",
  kind: "Service",
  namespaced: true,
};
const fingerprint = (v: string) => createHash("sha256").update(v).digest("hex").slice(0, 16);
const BUSYBOX = "docker.io/library/busybox:1.35";
const NODE = "vso-dev.local/node:24";

function vss(name: string, path: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultStaticSecret",
    metadata: { name },
    spec: {
      mount: "secret",
      type: "kv-v2",
      path,
      refreshAfter: "1s",
      destination: { name, create: true },
      ...extra,
    },
  };
}

test("a Pod reads a Secret written by vso-ts as an environment variable and as a volume", async (t) => {
  const env = await testEnv();
  if (!requireNode(t, env)) return;
  const ns = await isolatedNamespace(t, env, "pod");
  const role = await vaultRoleFor(env, ns);
  await defaultConnectionAndAuth(env, ns, role);
  const password = `pw-${randomBytes(12).toString("hex")}`;
  await kvPut(env, `${ns}/db`, { username: "app", password });
  await startOperator(t, env, { namespaces: [ns] });
  await env.kube.create(VSO.VaultStaticSecret, ns, vss("db", `${ns}/db`));
  await waitForSecret(env, ns, "db", (s) => decoded(s).password === password);

  const script = [
    'echo "env=$(printf %s "$PASSWORD" | sha256sum | cut -c1-16)"',
    'echo "file=$(cat /secret/password | sha256sum | cut -c1-16)"',
    'echo "user=$(cat /secret/username)"',
  ].join("; ");
  await env.kube.create(CORE.pods, ns, {
    metadata: { name: "reader" },
    spec: {
      restartPolicy: "Never",
      containers: [
        {
          name: "reader",
          image: BUSYBOX,
          imagePullPolicy: "Never",
          command: ["sh", "-c", script],
          env: [{ name: "PASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "password" } } }],
          volumeMounts: [{ name: "secret", mountPath: "/secret", readOnly: true }],
        },
      ],
      volumes: [{ name: "secret", secret: { secretName: "db" } }],
    },
  });
  await waitPodPhase(env, ns, "reader", ["Succeeded"]);
  const logs = await podLogs(env, ns, "pod/reader");
  assert.match(logs, new RegExp(`^env=${fingerprint(password)}$`, "m"));
  assert.match(logs, new RegExp(`^file=${fingerprint(password)}$`, "m"));
  assert.match(logs, /^user=app$/m);
  assert.ok(!logs.includes(password), "the value itself never reaches the logs");
});

test("a Deployment in rolloutRestartTargets gets new Pods when the Vault data changes, and only then", async (t) => {
  const env = await testEnv();
  if (!requireNode(t, env)) return;
  const ns = await isolatedNamespace(t, env, "roll");
  const role = await vaultRoleFor(env, ns);
  await defaultConnectionAndAuth(env, ns, role);
  await kvPut(env, `${ns}/app`, { token: "one" });
  await env.kube.create(CORE.deployments, ns, {
    metadata: { name: "web" },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: "web",
              image: BUSYBOX,
              imagePullPolicy: "Never",
              command: [
                "sh",
                "-c",
                'echo "token=$(printf %s "$TOKEN" | sha256sum | cut -c1-16)"; exec sleep 3600',
              ],
              env: [{ name: "TOKEN", valueFrom: { secretKeyRef: { name: "app", key: "token" } } }],
            },
          ],
        },
      },
    },
  });
  await startOperator(t, env, { namespaces: [ns] });
  await env.kube.create(
    VSO.VaultStaticSecret,
    ns,
    vss("app", `${ns}/app`, { rolloutRestartTargets: [{ kind: "Deployment", name: "web" }] }),
  );
  await waitForSecret(env, ns, "app");
  const before = await eventually(
    "one running web Pod",
    async () => {
      const pods = await runningPods(env, ns, "web");
      return pods.length === 1 ? pods : null;
    },
    90_000,
  );
  assert.match(await podLogs(env, ns, `pod/${before[0]}`), new RegExp(`token=${fingerprint("one")}`));

  // Unchanged data, several refreshes: the same Pod keeps running.
  await new Promise((r) => setTimeout(r, 5000));
  assert.deepEqual(await allPods(env, ns, "web"), before, "no restart without a change");

  await kvPut(env, `${ns}/app`, { token: "two" });
  const after = await eventually(
    "a new web Pod, the old one gone",
    async () => {
      const all = await allPods(env, ns, "web");
      const running = await runningPods(env, ns, "web");
      return all.length === 1 && running.length === 1 && running[0] !== before[0] ? running : null;
    },
    90_000,
    500,
  );
  assert.match(await podLogs(env, ns, `pod/${after[0]}`), new RegExp(`token=${fingerprint("two")}`));
});

test("a Pod reaches the API server through the kubernetes Service with verified TLS, and resolves Services by DNS", async (t) => {
  const env = await testEnv();
  if (!requireNode(t, env)) return;
  const ns = await isolatedNamespace(t, env, "incl");
  const rbac = (plural: string, kind: string): ResourceType => ({
    group: "rbac.authorization.k8s.io",
    version: "v1",
    plural,
    kind,
    namespaced: true,
  });
  await env.kube.create(CORE.configmaps, ns, {
    metadata: { name: "probe" },
    data: { hello: "from-the-api" },
  });
  await env.kube.create(rbac("roles", "Role"), ns, {
    metadata: { name: "read-probe" },
    rules: [{ apiGroups: [""], resources: ["configmaps"], resourceNames: ["probe"], verbs: ["get"] }],
  });
  await env.kube.create(rbac("rolebindings", "RoleBinding"), ns, {
    metadata: { name: "read-probe" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "read-probe" },
    subjects: [{ kind: "ServiceAccount", name: "default", namespace: ns }],
  });
  const svc = (await env.kube.create(services, ns, {
    metadata: { name: "probe" },
    spec: { ports: [{ port: 8200, targetPort: 8200 }] },
  })) as unknown as { spec: { clusterIP: string } };

  // Runs in the Pod with Node.js: resolve through cluster DNS, then GET the ConfigMap through the
  // kubernetes Service with the service-account token, verifying the certificate against the SA's CA
  // both for the Service IP and for the DNS name kubernetes.default.svc.
  const script = `
const fs = require("node:fs"), https = require("node:https"), dns = require("node:dns").promises;
const sa = "/var/run/secrets/kubernetes.io/serviceaccount/";
const token = fs.readFileSync(sa + "token", "utf8"), ca = fs.readFileSync(sa + "ca.crt"), ns = fs.readFileSync(sa + "namespace", "utf8");
const get = (host, servername) => new Promise((res, rej) => https.get({ host, port: 443, servername, ca,
  path: "/api/v1/namespaces/" + ns + "/configmaps/probe", headers: { authorization: "Bearer " + token } },
  (r) => { const tls = r.socket.authorized; let b = ""; r.on("data", (c) => (b += c)); r.on("end", () => res(r.statusCode + " " + tls + " " + JSON.parse(b).data.hello)); }).on("error", rej));
(async () => {
  console.log("svc " + (await dns.resolve4("probe." + ns + ".svc.cluster.local")).join(","));
  const api = (await dns.resolve4("kubernetes.default.svc.cluster.local"))[0];
  console.log("kubernetes " + api);
  console.log("by-ip " + (await get(process.env.KUBERNETES_SERVICE_HOST)));
  console.log("by-name " + (await get(api, "kubernetes.default.svc")));
  try { await dns.resolve4("example.com"); console.log("outside resolved"); } catch (e) { console.log("outside " + e.code); }
})().catch((e) => { console.log("error " + e.message); process.exit(1); });`;
  await env.kube.create(CORE.pods, ns, {
    metadata: { name: "incluster" },
    spec: {
      restartPolicy: "Never",
      containers: [{ name: "probe", image: NODE, imagePullPolicy: "Never", args: ["-e", script] }],
    },
  });
  const pod = await waitPodPhase(env, ns, "incluster", ["Succeeded", "Failed"], 90_000);
  const logs = await podLogs(env, ns, "pod/incluster");
  assert.equal(pod.status?.phase, "Succeeded", logs);
  assert.match(logs, new RegExp(`^svc ${svc.spec.clusterIP.replaceAll(".", "\\.")}$`, "m"));
  assert.match(logs, /^kubernetes 10\.0\.0\.1$/m);
  assert.match(logs, /^by-ip 200 true from-the-api$/m);
  assert.match(logs, /^by-name 200 true from-the-api$/m);
  // Nothing is forwarded outside the cluster domain.
  assert.match(logs, /^outside E[A-Z]+$/m);
  assert.ok(!(pod.status?.podIP ?? "").startsWith("10.200."), "an ordinary (not hostNetwork) Pod");
});

test("a Service's ClusterIP answers from the node's network namespace (vso dev exec), as on a node", async (t) => {
  const env = await testEnv();
  if (!requireNode(t, env)) return;
  const ns = await isolatedNamespace(t, env, "svcip");
  const marker = `hello-${randomBytes(6).toString("hex")}`;
  await env.kube.create(CORE.pods, ns, {
    metadata: { name: "web", labels: { app: "web" } },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: "web",
          image: BUSYBOX,
          imagePullPolicy: "Never",
          command: [
            "sh",
            "-c",
            `mkdir -p /www && echo ${marker} > /www/index.html && exec httpd -f -p 8080 -h /www`,
          ],
        },
      ],
    },
  });
  const svc = (await env.kube.create(services, ns, {
    metadata: { name: "web" },
    spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080 }] },
  })) as unknown as { spec: { clusterIP: string } };
  await waitPodPhase(env, ns, "web", ["Running"]);
  // The user's way in: `bin/vso dev exec -- curl http://<ClusterIP>/`, retried until kube-proxy has the rules.
  const body = await eventually(
    `curl http://${svc.spec.clusterIP}/ through vso dev exec`,
    async () => {
      const r = spawnSync(
        join(REPO_ROOT, "bin", "vso"),
        [
          "dev",
          "exec",
          "--dir",
          String(process.env.VSO_TEST_ENV_DIR),
          "--",
          "curl",
          "-sS",
          "--max-time",
          "3",
          `http://${svc.spec.clusterIP}/`,
        ],
        { encoding: "utf8" },
      );
      return r.status === 0 ? r.stdout.trim() : undefined;
    },
    60_000,
    1_000,
  );
  assert.equal(body, marker);
});
