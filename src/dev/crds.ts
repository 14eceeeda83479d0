// Installs or upgrades the CRDs shipped in deploy/crds (server-side apply) and
// waits until the API server serves them.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parse } from "yaml";
import { CORE, type KubeClient, type KubeObject } from "../kube/client.ts";
import { REPO_ROOT } from "./paths.ts";

export const CRD_DIR = join(REPO_ROOT, "deploy", "crds");

export async function applyCRDs(kube: KubeClient, dir = CRD_DIR): Promise<string[]> {
  const names: string[] = [];
  for (const f of readdirSync(dir)
    .filter((x) => x.endsWith(".yaml"))
    .sort()) {
    const crd = parse(readFileSync(join(dir, f), "utf8")) as KubeObject;
    const name = crd.metadata.name ?? "";
    await kube.patch(CORE.crds, undefined, name, crd, "apply", { fieldManager: "vso-ts", force: true });
    names.push(name);
  }
  const deadline = Date.now() + 60_000;
  for (const name of names) {
    for (;;) {
      const c = (await kube.get(CORE.crds, undefined, name)) as KubeObject & {
        status?: { conditions?: { type: string; status: string }[] };
      };
      if (c.status?.conditions?.some((x) => x.type === "Established" && x.status === "True")) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} was not established within 60s`);
      await sleep(100);
    }
  }
  return names;
}
