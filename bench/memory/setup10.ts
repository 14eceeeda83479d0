// N VaultStaticSecrets on the dev environment $MEMENV (default /tmp/memenv), as bench/harness.ts
// sets them up (no proxy). Run once per environment: the resources are created, not updated.
import { readFileSync } from "node:fs";
import {
  createConnectionAndAuth,
  createStaticSecrets,
  items,
  KV_POLICY,
  putKv,
  setupAuth,
} from "../../bench/lib/workload.ts";
import { applyCRDs } from "../../src/dev/crds.ts";
import { KubeClient } from "../../src/kube/client.ts";
import { VaultHttp } from "../../src/vault/http.ts";

const n = Number(process.argv[2] ?? 10);
const dir = process.env.MEMENV ?? "/tmp/memenv";
const state = JSON.parse(readFileSync(`${dir}/state.json`, "utf8"));
const kube = await KubeClient.load(state.kubeconfig);
const vault = new VaultHttp({ address: state.vault.address });
await applyCRDs(kube);
await setupAuth(kube, vault, state.vault.token, KV_POLICY);
const list = items(n);
await putKv(vault, state.vault.token, list);
await createConnectionAndAuth(kube, state.vault.address);
await createStaticSecrets(kube, list, "60s");
console.log("created", n);
process.exit(0);
