// kube-apiserver and kube-controller-manager for the local control plane.
// Without the local node (src/dev/node) Pods never run, but every API object,
// watch, TokenRequest and TokenReview is real, and the controller-manager makes
// ownerReference garbage collection and namespace deletion real. With the node
// the API server also serves Pods through the `kubernetes` Service and the
// controller-manager runs its whole default controller set.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Agent, request } from "undici";
import { stringify } from "yaml";
import { freePort } from "../../util/net.ts";
import type { ControlPlanePki } from "../pki.ts";
import { startDaemon, type TrackedProcess } from "../processes.ts";
import { waitHealthy } from "../wait.ts";

export interface KubeFiles {
  dir: string;
  caCert: string;
  servingCert: string;
  servingKey: string;
  saPublicKey: string;
  saPrivateKey: string;
  kubeconfig: string;
}

/** Writes certificates and the admin kubeconfig (credentials embedded) into the state directory. */
export function writeKubeFiles(stateDir: string, pki: ControlPlanePki, server: string): KubeFiles {
  const dir = join(stateDir, "pki");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files: KubeFiles = {
    dir,
    caCert: join(dir, "ca.crt"),
    servingCert: join(dir, "apiserver.crt"),
    servingKey: join(dir, "apiserver.key"),
    saPublicKey: join(dir, "sa.pub"),
    saPrivateKey: join(dir, "sa.key"),
    kubeconfig: join(stateDir, "kubeconfig"),
  };
  writeFileSync(files.caCert, pki.ca.cert);
  writeFileSync(files.servingCert, pki.serving.cert);
  writeFileSync(files.servingKey, pki.serving.key, { mode: 0o600 });
  writeFileSync(files.saPublicKey, pki.serviceAccount.publicKey);
  writeFileSync(files.saPrivateKey, pki.serviceAccount.privateKey, { mode: 0o600 });
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const kubeconfig = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "vso-dev", cluster: { server, "certificate-authority-data": b64(pki.ca.cert) } }],
    users: [
      {
        name: "vso-dev-admin",
        user: { "client-certificate-data": b64(pki.admin.cert), "client-key-data": b64(pki.admin.key) },
      },
    ],
    contexts: [
      { name: "vso-dev", context: { cluster: "vso-dev", user: "vso-dev-admin", namespace: "default" } },
    ],
    "current-context": "vso-dev",
  };
  writeFileSync(files.kubeconfig, stringify(kubeconfig), { mode: 0o600 });
  return files;
}

/** Service accounts' API requests (metadata only), one JSON event per line. */
export function auditLogPath(stateDir: string): string {
  return join(stateDir, "logs", "kube-apiserver-audit.log");
}

export function adminAgent(pki: ControlPlanePki): Agent {
  return new Agent({ connect: { ca: pki.ca.cert, cert: pki.admin.cert, key: pki.admin.key } });
}

export async function startKubeApiserver(
  stateDir: string,
  binary: string,
  etcdUrl: string,
  port: number,
  files: KubeFiles,
  agent: Agent,
  /** The node's address when a local node runs: the API server listens there and advertises it. */
  nodeIp?: string,
): Promise<TrackedProcess> {
  const server = `https://127.0.0.1:${port}`;
  // Inside the environment's isolated network namespace, 0.0.0.0 reaches only loopback and its bridges.
  // An audit log of what service accounts do (the controllers' own identities excluded), so tests
  // can list the verbs an in-cluster operator really used and compare them with its RBAC.
  const auditPolicy = join(stateDir, "audit-policy.yaml");
  writeFileSync(
    auditPolicy,
    stringify({
      apiVersion: "audit.k8s.io/v1",
      kind: "Policy",
      omitStages: ["RequestReceived", "ResponseStarted"],
      rules: [
        { level: "None", userGroups: ["system:serviceaccounts:kube-system"] },
        { level: "Metadata", userGroups: ["system:serviceaccounts"] },
        { level: "None" },
      ],
    }),
  );
  const network = nodeIp
    ? [
        "--bind-address=0.0.0.0",
        `--advertise-address=${nodeIp}`,
        "--kubelet-preferred-address-types=InternalIP",
      ]
    : ["--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none"];
  const proc = startDaemon(stateDir, {
    name: "kube-apiserver",
    command: binary,
    args: [
      `--etcd-servers=${etcdUrl}`,
      ...network,
      `--audit-policy-file=${auditPolicy}`,
      `--audit-log-path=${auditLogPath(stateDir)}`,
      "--audit-log-maxsize=200",
      "--audit-log-maxbackup=1",
      `--secure-port=${port}`,
      `--cert-dir=${files.dir}`,
      `--tls-cert-file=${files.servingCert}`,
      `--tls-private-key-file=${files.servingKey}`,
      `--client-ca-file=${files.caCert}`,
      "--authorization-mode=RBAC",
      "--service-cluster-ip-range=10.0.0.0/24",
      "--allow-privileged=true",
      `--service-account-issuer=${server}`,
      `--service-account-key-file=${files.saPublicKey}`,
      `--service-account-signing-key-file=${files.saPrivateKey}`,
      "--v=1",
    ],
  });
  await waitHealthy(
    "kube-apiserver",
    proc,
    async () => {
      const res = await request(`${server}/readyz`, { dispatcher: agent });
      await res.body.text();
      return res.statusCode === 200;
    },
    120_000,
  );
  return proc;
}

export async function startKubeControllerManager(
  stateDir: string,
  binary: string,
  files: KubeFiles,
  /** All default controllers (deployments, replica sets, endpoints, root CA publisher, ...) for a local node. */
  allControllers = false,
): Promise<TrackedProcess> {
  const port = await freePort();
  // The controller-manager serves health checks with a self-signed certificate of its own.
  const insecure = new Agent({ connect: { rejectUnauthorized: false } });
  const proc = startDaemon(stateDir, {
    name: "kube-controller-manager",
    command: binary,
    args: [
      `--kubeconfig=${files.kubeconfig}`,
      `--authentication-kubeconfig=${files.kubeconfig}`,
      `--authorization-kubeconfig=${files.kubeconfig}`,
      "--leader-elect=false",
      allControllers
        ? "--controllers=*"
        : "--controllers=garbage-collector-controller,namespace-controller,serviceaccount-controller,serviceaccount-token-controller",
      `--service-account-private-key-file=${files.saPrivateKey}`,
      `--root-ca-file=${files.caCert}`,
      `--use-service-account-credentials=${allControllers}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${port}`,
      `--cert-dir=${join(stateDir, "kcm-certs")}`,
      "--v=1",
    ],
  });
  await waitHealthy(
    "kube-controller-manager",
    proc,
    async () => {
      const res = await request(`https://127.0.0.1:${port}/healthz`, {
        dispatcher: insecure,
      });
      await res.body.text();
      return res.statusCode === 200;
    },
    60_000,
  );
  await insecure.close();
  return proc;
}
