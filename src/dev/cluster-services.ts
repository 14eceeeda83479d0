// Services inside the local node's cluster for servers that run beside it:
// a selector-less Service with an EndpointSlice pointing at the node address,
// so Pods reach the environment's PostgreSQL as `postgres:5432`, the name the
// walkthrough uses (its Vault is a Pod of its own, see walkthrough/vault-pod.ts).
import { CORE, type KubeClient, type ResourceType } from "../kube/client.ts";

const SERVICES: ResourceType = {
  group: "",
  version: "v1",
  plural: "services",
  kind: "Service",
  namespaced: true,
};
const ENDPOINT_SLICES: ResourceType = {
  group: "discovery.k8s.io",
  version: "v1",
  plural: "endpointslices",
  kind: "EndpointSlice",
  namespaced: true,
};

export interface ExternalService {
  namespace: string;
  name: string;
  /** The port the Service offers. */
  port: number;
  /** Where the server really listens. */
  targetIp: string;
  targetPort: number;
}

/** Creates or updates the Service and its EndpointSlice (server-side apply, so re-running is safe). */
export async function exposeInCluster(kube: KubeClient, s: ExternalService): Promise<void> {
  const opts = { fieldManager: "vso-dev", force: true };
  await kube
    .create(CORE.namespaces, undefined, { metadata: { name: s.namespace } })
    .catch((err: { status?: number }) => {
      if (err.status !== 409) throw err;
    });
  await kube.patch(
    SERVICES,
    s.namespace,
    s.name,
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        name: s.name,
        namespace: s.namespace,
        labels: { "app.kubernetes.io/managed-by": "vso-dev" },
      },
      spec: {
        type: "ClusterIP",
        ports: [{ name: "main", port: s.port, targetPort: s.targetPort, protocol: "TCP" }],
      },
    },
    "apply",
    opts,
  );
  await kube.patch(
    ENDPOINT_SLICES,
    s.namespace,
    `${s.name}-vso-dev`,
    {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: `${s.name}-vso-dev`,
        namespace: s.namespace,
        labels: { "kubernetes.io/service-name": s.name, "endpointslice.kubernetes.io/managed-by": "vso-dev" },
      },
      addressType: "IPv4",
      ports: [{ name: "main", port: s.targetPort, protocol: "TCP" }],
      endpoints: [{ addresses: [s.targetIp], conditions: { ready: true } }],
    },
    "apply",
    opts,
  );
}
