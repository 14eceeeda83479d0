// The walkthrough's Vault: OpenBao as the StatefulSet `vault` (Pod `vault-0`)
// in namespace `vault`, behind the Service `vault` on 8200, from an image built
// on this machine. It is the playground's only: the test suite keeps using the
// OpenBao process beside the cluster, which this Vault never touches.
//
// It is configured with what the walkthrough takes as given (KV v2 with the
// myapp secrets, Kubernetes auth with myapp-role, the policy myapp-policy);
// the database engine, myapp-db-policy and the role's update are the
// walkthrough's own commands, so they are left for it to run.
import { randomBytes } from "node:crypto";
import { VaultHttp } from "../../vault/http.ts";
import type { DevState } from "../environment.ts";
import { cachedArchive, importImage, OPENBAO_IMAGE, openbaoImage } from "../node/images.ts";
import { toolPaths } from "../paths.ts";
import { configureSampleSecrets } from "../playground-config.ts";
import { runTool, until } from "./tools.ts";

export const VAULT_NAMESPACE = "vault";
const LABELS = "app.kubernetes.io/name: vault";

/** The objects, as a user would write them for a dev-mode Vault. */
export function vaultManifest(rootToken: string): string {
  return `apiVersion: v1
kind: Namespace
metadata:
  name: ${VAULT_NAMESPACE}
---
# Vault checks the Kubernetes logins it receives with TokenReview, as its own service account.
apiVersion: v1
kind: ServiceAccount
metadata:
  name: vault
  namespace: ${VAULT_NAMESPACE}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: vault-server-binding
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:auth-delegator
subjects:
  - kind: ServiceAccount
    name: vault
    namespace: ${VAULT_NAMESPACE}
---
apiVersion: v1
kind: Secret
metadata:
  name: vault-root-token
  namespace: ${VAULT_NAMESPACE}
stringData:
  token: ${rootToken}
---
apiVersion: v1
kind: Service
metadata:
  name: vault
  namespace: ${VAULT_NAMESPACE}
spec:
  selector:
    ${LABELS}
  ports:
    - name: http
      port: 8200
      targetPort: 8200
---
apiVersion: v1
kind: Service
metadata:
  name: vault-internal
  namespace: ${VAULT_NAMESPACE}
spec:
  clusterIP: None
  selector:
    ${LABELS}
  ports:
    - name: http
      port: 8200
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: vault
  namespace: ${VAULT_NAMESPACE}
spec:
  serviceName: vault-internal
  replicas: 1
  selector:
    matchLabels:
      ${LABELS}
  template:
    metadata:
      labels:
        ${LABELS}
    spec:
      serviceAccountName: vault
      containers:
        - name: vault
          image: ${OPENBAO_IMAGE}
          imagePullPolicy: Never
          # Dev mode: in memory, unsealed, KV v2 at secret/. The root token is the Pod's
          # VAULT_TOKEN, so \`kubectl exec -n vault vault-0 -- vault ...\` is authenticated.
          args:
            - server
            - -dev
            - -dev-root-token-id=$(VAULT_TOKEN)
            - -dev-listen-address=0.0.0.0:8200
            - -dev-no-store-token
          env:
            - name: VAULT_TOKEN
              valueFrom:
                secretKeyRef:
                  name: vault-root-token
                  key: token
            - name: VAULT_ADDR
              value: http://127.0.0.1:8200
          ports:
            - name: http
              containerPort: 8200
          readinessProbe:
            httpGet:
              path: /v1/sys/health
              port: 8200
            periodSeconds: 2
`;
}

/** The image archive, built once from the OpenBao binary `make deps` installed. */
export function vaultImageArchive(): string {
  const { bao, busybox } = toolPaths();
  return cachedArchive(OPENBAO_IMAGE, [bao, busybox], () => openbaoImage(bao, busybox));
}

async function existingRootToken(state: DevState): Promise<string | undefined> {
  const { kubectl } = toolPaths();
  const out = await runTool(state, kubectl, [
    "get",
    "secret",
    "vault-root-token",
    "-n",
    VAULT_NAMESPACE,
    "-o",
    "jsonpath={.data.token}",
    "--ignore-not-found",
  ]);
  return out ? Buffer.from(out, "base64").toString() : undefined;
}

/**
 * Runs vault-0 and configures it; safe to run again (a second run keeps the
 * root token and finds the configuration in place). Returns the Pod's address.
 */
export async function deployVault(state: DevState, log: (l: string) => void): Promise<string> {
  const node = state.node;
  if (!node) throw new Error("the environment has no node");
  const { kubectl, ctr } = toolPaths();
  importImage(ctr, node.containerdSocket, vaultImageArchive());
  const rootToken = (await existingRootToken(state)) ?? `root-${randomBytes(12).toString("hex")}`;
  await runTool(state, kubectl, ["apply", "-f", "-"], vaultManifest(rootToken));
  await runTool(state, kubectl, [
    "rollout",
    "status",
    "statefulset/vault",
    "-n",
    VAULT_NAMESPACE,
    "--timeout=180s",
  ]);
  const podIp = await until(
    "vault-0's address",
    async () =>
      (await runTool(state, kubectl, [
        "get",
        "pod",
        "vault-0",
        "-n",
        VAULT_NAMESPACE,
        "-o",
        "jsonpath={.status.podIP}",
      ])) || undefined,
    60_000,
  );
  const address = `http://${podIp}:8200`;
  await configureWalkthroughVault(new VaultHttp({ address }), rootToken);
  log(`Vault runs as vault-0 in namespace vault (Service vault:8200), image ${OPENBAO_IMAGE}`);
  return address;
}

/** What the walkthrough finds in place before its first `vault` command. */
export async function configureWalkthroughVault(vault: VaultHttp, token: string): Promise<void> {
  const t = { token };
  await configureSampleSecrets(vault, token);
  const auths = (await vault.call<Record<string, unknown>>("GET", "sys/auth", t)).json ?? {};
  if (!auths["kubernetes/"]) {
    await vault.call("POST", "sys/auth/kubernetes", { ...t, body: { type: "kubernetes" } });
  }
  // In a Pod, Vault reads the cluster's CA and its own service account token from the
  // mounted files and reviews logins with that token (its ServiceAccount may TokenReview).
  await vault.call("POST", "auth/kubernetes/config", {
    ...t,
    body: { kubernetes_host: "https://kubernetes.default.svc" },
  });
  await vault.call("POST", "auth/kubernetes/role/myapp-role", {
    ...t,
    body: {
      bound_service_account_names: ["myapp-sa"],
      bound_service_account_namespaces: ["default"],
      policies: ["myapp-policy"],
      ttl: "24h",
    },
  });
}
