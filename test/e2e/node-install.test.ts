// The operator installed in the cluster the way the walkthrough does it:
// `helm install vault-secrets-operator ... --namespace
// vault-secrets-operator-system --create-namespace`, the locally built image
// on the real node, in-cluster configuration, Kubernetes auth with its own
// service account, a Secret synced and read by a Pod. Limited to the test's
// namespace (--watch-namespaces) so it leaves the other tests' resources alone.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { test } from "node:test";
import { Agent, request } from "undici";
import { BUSYBOX_IMAGE } from "../../src/dev/node/images.ts";
import { CORE } from "../../src/kube/client.ts";
import { eventually, isolatedNamespace, testEnv } from "../support/env.ts";
import { CHART, helm, inClusterStaticSecret, loadOperatorImage } from "../support/incluster.ts";
import { kubectl } from "../support/kubectl.ts";
import { podLogs, requireNode, waitPodPhase } from "../support/node.ts";
import { decoded, kvPut, waitForSecret } from "../support/operator.ts";

const OP_NS = "vault-secrets-operator-system";
const fingerprint = (v: string) => createHash("sha256").update(v).digest("hex").slice(0, 16);
const RELEASE = "vault-secrets-operator";

interface DeploymentLike {
  status?: { readyReplicas?: number; availableReplicas?: number };
}

test("helm install runs the operator in the cluster, and it syncs with its own service account", {
  timeout: 600_000,
}, async (t) => {
  const env = await testEnv();
  if (!requireNode(t, env)) return;
  const image = await loadOperatorImage(env);
  const ns = await isolatedNamespace(t, env, "incl");
  const [repository, tag] = [image.slice(0, image.lastIndexOf(":")), image.slice(image.lastIndexOf(":") + 1)];

  await helm(env, [
    "install",
    RELEASE,
    CHART,
    "--namespace",
    OP_NS,
    "--create-namespace",
    "--set",
    `controller.manager.image.repository=${repository}`,
    "--set",
    `controller.manager.image.tag=${tag}`,
    "--set",
    "controller.manager.image.pullPolicy=Never",
    "--set-json",
    `controller.manager.extraArgs=["--watch-namespaces=${ns}"]`,
    "--wait",
    "--timeout",
    "3m",
  ]);
  t.after(async () => {
    await helm(env, ["uninstall", RELEASE, "--namespace", OP_NS, "--wait", "--timeout", "2m"]).catch(
      () => {},
    );
  });
  const dep = await env.kube.get<DeploymentLike & { metadata: { name?: string } }>(
    CORE.deployments,
    OP_NS,
    "vault-secrets-operator-controller-manager",
  );
  assert.equal(dep.status?.readyReplicas, 1, "the operator Pod is Ready");

  const password = `pw-${randomBytes(10).toString("hex")}`;
  const rel = {
    name: RELEASE,
    namespace: OP_NS,
    deployment: "vault-secrets-operator-controller-manager",
    selector: "app.kubernetes.io/name=vault-secrets-operator",
  };
  await inClusterStaticSecret(env, ns, password, rel);

  // A change in Vault reaches the Secret through the in-cluster operator.
  await kvPut(env, `${ns}/db`, { password: `${password}-2` });
  await waitForSecret(env, ns, "db", (s) => decoded(s).password === `${password}-2`, 30_000);

  // A Pod reads the Secret the in-cluster operator synced, as a variable and as a file, and
  // prints only fingerprints of what it read.
  await env.kube.create(CORE.pods, ns, {
    metadata: { name: "reader" },
    spec: {
      restartPolicy: "Never",
      containers: [
        {
          name: "reader",
          image: BUSYBOX_IMAGE,
          imagePullPolicy: "Never",
          command: [
            "sh",
            "-c",
            'echo "env=$(printf %s "$PASSWORD" | sha256sum | cut -c1-16)"; ' +
              'echo "file=$(cat /secret/password | sha256sum | cut -c1-16)"',
          ],
          env: [{ name: "PASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "password" } } }],
          volumeMounts: [{ name: "secret", mountPath: "/secret", readOnly: true }],
        },
      ],
      volumes: [{ name: "secret", secret: { secretName: "db" } }],
    },
  });
  await waitPodPhase(env, ns, "reader", ["Succeeded"]);
  const read = await podLogs(env, ns, "pod/reader");
  assert.match(read, new RegExp(`^env=${fingerprint(`${password}-2`)}$`, "m"));
  assert.match(read, new RegExp(`^file=${fingerprint(`${password}-2`)}$`, "m"));
  assert.ok(!read.includes(password), "the value itself never reaches the Pod's log");

  const logs = await kubectl(env, [
    "logs",
    "-n",
    OP_NS,
    "deployment/vault-secrets-operator-controller-manager",
  ]);
  assert.equal(logs.code, 0, logs.stderr);
  assert.ok(logs.stdout.length > 0, "the operator logs");
  assert.ok(!logs.stdout.includes(password), "no secret value in the operator's log");
  // Metrics on 8443: HTTPS, refused without a token or without RBAC, served to an authorized scraper.
  const pods = await env.kube.list<{ metadata: { name?: string }; status?: { podIP?: string } }>(
    CORE.pods,
    OP_NS,
    {
      labelSelector: "app.kubernetes.io/name=vault-secrets-operator",
    },
  );
  const podIP = pods.items.find((p) => p.status?.podIP)?.status?.podIP;
  assert.ok(podIP, "the operator Pod has an IP");
  const scrape = async (token?: string) => {
    const res = await request(`https://${podIP}:8443/metrics`, {
      dispatcher: insecure,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    return { status: res.statusCode, body: await res.body.text() };
  };
  const tokenFor = async (sa: string) => {
    await env.kube.create(CORE.serviceaccounts, ns, { metadata: { name: sa } });
    const tr = (await env.kube.raw("POST", env.kube.path(CORE.serviceaccounts, ns, sa, "token"), {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { expirationSeconds: 600 },
    })) as { status: { token: string } };
    return tr.status.token;
  };
  const insecure = new Agent({ connect: { rejectUnauthorized: false } });
  t.after(() => insecure.close());
  assert.equal((await scrape()).status, 401, "anonymous scrape refused");
  assert.equal(
    (await scrape(await tokenFor("nobody"))).status,
    403,
    "a service account without RBAC is refused",
  );
  const scraper = await tokenFor("scraper");
  await env.kube.create(CORE.clusterrolebindings, undefined, {
    metadata: { name: `metrics-${ns}` },
    roleRef: {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "ClusterRole",
      name: "vault-secrets-operator-metrics-reader",
    },
    subjects: [{ kind: "ServiceAccount", name: "scraper", namespace: ns }],
  });
  t.after(() => env.kube.delete(CORE.clusterrolebindings, undefined, `metrics-${ns}`).catch(() => {}));
  const ok = await eventually("an authorized scrape", async () => {
    const r = await scrape(scraper);
    return r.status === 200 ? r : null;
  });
  for (const name of ["controller_runtime_reconcile_total", "vso_build_info"]) {
    assert.match(ok.body, new RegExp(`^${name}`, "m"), `${name} is exported`);
  }

  await eventually("operator still Ready", async () => {
    const d = await env.kube.get<DeploymentLike & { metadata: { name?: string } }>(
      CORE.deployments,
      OP_NS,
      "vault-secrets-operator-controller-manager",
    );
    return d.status?.availableReplicas === 1;
  });
});
