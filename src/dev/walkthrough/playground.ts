// The playground the walkthrough's commands expect, on the local node: the
// operator's image loaded (the chart's `vso-ts:<version>` is never pulled),
// Vault as the Pod vault-0, PostgreSQL as the Service postgres, and the chart
// in the Helm repository `hashicorp`.
import { KubeClient } from "../../kube/client.ts";
import { exposeInCluster } from "../cluster-services.ts";
import type { DevState } from "../environment.ts";
import { importImage } from "../node/images.ts";
import { NODE_IP } from "../node/netns.ts";
import { cachedOperatorImage } from "../operator-image.ts";
import { toolPaths } from "../paths.ts";
import { serveChartRepo } from "./chart-repo.ts";
import { deployVault } from "./vault-pod.ts";

export async function preparePlayground(state: DevState, log: (l: string) => void): Promise<void> {
  const node = state.node;
  if (!node) throw new Error("the environment has no node");
  // Independent of each other: the Vault Pod starts while the image and the chart are built.
  await Promise.all([
    (async () => {
      const img = await cachedOperatorImage();
      importImage(toolPaths().ctr, node.containerdSocket, img.file);
      log(`operator image ${img.name} loaded into the node`);
    })(),
    exposePostgres(state).then(() => log("PostgreSQL is the Service postgres (5432) in namespace default")),
    deployVault(state, log),
    serveChartRepo(state, log),
  ]);
}

/**
 * The walkthrough's postgres-deployment.yaml, already running: the environment's
 * PostgreSQL (database mydb, superuser vaultadmin) as the Service postgres in default.
 */
async function exposePostgres(state: DevState): Promise<void> {
  const kube = await KubeClient.load(state.kubeconfig);
  try {
    await exposeInCluster(kube, {
      namespace: "default",
      name: "postgres",
      port: 5432,
      targetIp: NODE_IP,
      targetPort: state.postgres.port,
    });
  } finally {
    await kube.close();
  }
}
