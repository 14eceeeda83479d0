// The limit: a minimal program doing only the work no operator can avoid for the benchmark's
// workload: one Vault login, N KV v2 reads and N Secret creates, pipelined per secret at a
// given concurrency. Its throughput is the ceiling an operator can approach on this machine.
//   node bench/limit.ts --kubeconfig F --vault URL --n N --concurrency C --prefix P
// Prints one JSON line: { n, concurrency, loginMs, totalMs, perSecond }.
import { parseArgs } from "node:util";
import { ownerLabels } from "../src/api/index.ts";
import { CORE, KubeClient } from "../src/kube/client.ts";
import { VaultHttp } from "../src/vault/http.ts";
import { items, OPERATOR_NS, pool, ROLE, SA } from "./lib/workload.ts";

const { values } = parseArgs({
  options: {
    kubeconfig: { type: "string" },
    vault: { type: "string" },
    n: { type: "string" },
    concurrency: { type: "string" },
    prefix: { type: "string", default: "lim" },
  },
});
const n = Number(values.n);
const concurrency = Number(values.concurrency);
const kube = await KubeClient.load(values.kubeconfig);
const vault = new VaultHttp({ address: values.vault ?? "" });

const t0 = performance.now();
const tr = (await kube.raw("POST", kube.path(CORE.serviceaccounts, OPERATOR_NS, SA, "token"), {
  apiVersion: "authentication.k8s.io/v1",
  kind: "TokenRequest",
  spec: { expirationSeconds: 600 },
})) as { status: { token: string } };
const login = await vault.call<{ auth: { client_token: string } }>("POST", "auth/kubernetes/login", {
  body: { role: ROLE, jwt: tr.status.token },
});
const token = login.json?.auth.client_token ?? "";
const loginMs = performance.now() - t0;

await pool(items(n), concurrency, async (it, i) => {
  const res = await vault.call<{ data: { data: Record<string, string> } }>("GET", `secret/data/${it.path}`, {
    token,
  });
  const kv = res.json?.data.data ?? {};
  const data: Record<string, string> = {
    _raw: Buffer.from(JSON.stringify(res.json?.data)).toString("base64"),
  };
  for (const [k, v] of Object.entries(kv)) data[k] = Buffer.from(String(v)).toString("base64");
  await kube.create(CORE.secrets, it.namespace, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: `${values.prefix}-${i}`, labels: ownerLabels("00000000-0000-0000-0000-000000000000") },
    type: "Opaque",
    data,
  });
});
const totalMs = performance.now() - t0;
await kube.close();
console.log(JSON.stringify({ n, concurrency, loginMs, totalMs, perSecond: n / (totalMs / 1000) }));
