// Installing the operator into the local node the way users do: the image
// loaded into the node's containerd, then the chart with the real helm.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { importImage } from "../../src/dev/node/images.ts";
import { cachedOperatorImage } from "../../src/dev/operator-image.ts";
import { REPO_ROOT, toolPaths } from "../../src/dev/paths.ts";
import type { TestEnv } from "./env.ts";

const execFileP = promisify(execFile);
export const CHART = join(REPO_ROOT, "deploy", "chart", "vault-secrets-operator");

let loaded: Promise<string> | undefined;

/** Builds (or takes from the cache) the operator image and imports it into the node; returns its name. */
export function loadOperatorImage(env: TestEnv): Promise<string> {
  loaded ??= (async () => {
    const node = env.state.node;
    if (!node) throw new Error("no local node");
    const img = await cachedOperatorImage();
    importImage(toolPaths().ctr, node.containerdSocket, img.file);
    return img.name;
  })();
  return loaded;
}

export async function helm(env: TestEnv, args: string[], timeoutMs = 300_000) {
  try {
    return await execFileP(toolPaths().helm, args, {
      env: { ...process.env, KUBECONFIG: env.state.kubeconfig },
      timeout: timeoutMs,
      maxBuffer: 32 << 20,
    });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`helm ${args.join(" ")} failed: ${e.stderr || e.stdout || e.message}`);
  }
}
