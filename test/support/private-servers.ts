// A private etcd, kube-apiserver (with the CRDs applied) and OpenBao for one
// test, so the test may freeze or restart them without disturbing the test
// files running concurrently against the shared environment. No
// controller-manager: the API server alone serves everything the operator
// uses (TokenRequest included). Vault is configured with Kubernetes auth
// against this API server and a database connection to the shared PostgreSQL.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { applyCRDs } from "../../src/dev/crds.ts";
import { requireTools } from "../../src/dev/paths.ts";
import { generateControlPlanePki } from "../../src/dev/pki.ts";
import { configureKubernetes, DB_CREATION_STATEMENTS } from "../../src/dev/playground-config.ts";
import { isAlive, stopAll, type TrackedProcess } from "../../src/dev/processes.ts";
import { startEtcd } from "../../src/dev/servers/etcd.ts";
import { adminAgent, startKubeApiserver, writeKubeFiles } from "../../src/dev/servers/kube.ts";
import { startOpenBao } from "../../src/dev/servers/openbao.ts";
import { KubeClient } from "../../src/kube/client.ts";
import { freePort } from "../../src/util/net.ts";
import { VaultHttp } from "../../src/vault/http.ts";
import type { TestEnv } from "./env.ts";

export interface PrivateServers {
  /** A TestEnv whose kubeconfig, API client and Vault are the private ones (PostgreSQL stays shared). */
  env: TestEnv;
  processes: { etcd: TrackedProcess; apiserver: TrackedProcess; vault: TrackedProcess };
  /** SIGKILLs kube-apiserver, waits `downMs`, and starts it again on the same port and etcd. */
  restartApiserver(downMs: number): Promise<void>;
}

export async function startPrivateServers(t: TestContext, shared: TestEnv): Promise<PrivateServers> {
  const dir = mkdtempSync(join(tmpdir(), "vso-private-"));
  const tools = requireTools(["etcd", "kubeApiserver", "bao"]);
  const processes: Partial<PrivateServers["processes"]> = {};
  t.after(async () => {
    // Throwaway servers, some perhaps frozen: killed outright rather than waited for.
    for (const p of Object.values(processes)) {
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {}
    }
    await stopAll(dir);
    rmSync(dir, { recursive: true, force: true });
  });
  const pki = await generateControlPlanePki();
  const apiPort = await freePort();
  const server = `https://127.0.0.1:${apiPort}`;
  const files = writeKubeFiles(dir, pki, server);
  const agent = adminAgent(pki);
  const rootToken = `root-${randomBytes(8).toString("hex")}`;
  const [etcd, bao] = await Promise.all([
    startEtcd(dir, tools.etcd),
    startOpenBao(dir, tools.bao, rootToken),
  ]);
  processes.etcd = etcd.process;
  processes.vault = bao.process;
  const startApiserver = () => startKubeApiserver(dir, tools.kubeApiserver, etcd.url, apiPort, files, agent);
  processes.apiserver = await startApiserver();
  t.after(() => agent.close());
  const kube = await KubeClient.load(files.kubeconfig);
  t.after(() => kube.close());
  const { reviewerJwt } = await configureKubernetes(kube);
  await applyCRDs(kube);

  const vault = new VaultHttp({ address: bao.address });
  const tok = { token: rootToken };
  await vault.call("POST", "sys/auth/kubernetes", { ...tok, body: { type: "kubernetes" } });
  await vault.call("POST", "auth/kubernetes/config", {
    ...tok,
    body: {
      kubernetes_host: server,
      kubernetes_ca_cert: pki.ca.cert,
      token_reviewer_jwt: reviewerJwt,
      disable_local_ca_jwt: true,
    },
  });
  await vault.call("POST", "sys/mounts/database", { ...tok, body: { type: "database" } });
  const pg = shared.state.postgres;
  await vault.call("POST", "database/config/pg", {
    ...tok,
    body: {
      plugin_name: "postgresql-database-plugin",
      allowed_roles: ["*"],
      connection_url: `postgresql://{{username}}:{{password}}@${pg.host}:${pg.port}/${pg.database}?sslmode=disable`,
      username: pg.user,
      password: pg.password,
    },
  });
  await vault.call("POST", "database/roles/app", {
    ...tok,
    body: { db_name: "pg", creation_statements: DB_CREATION_STATEMENTS, default_ttl: "30s", max_ttl: "1h" },
  });
  return {
    env: {
      state: {
        ...shared.state,
        kubeconfig: files.kubeconfig,
        kube: { server, caFile: files.caCert },
        vault: { address: bao.address, token: rootToken },
      },
      kube,
      vault,
      rootToken,
    },
    processes: processes as PrivateServers["processes"],
    async restartApiserver(downMs) {
      const old = processes.apiserver as TrackedProcess;
      process.kill(old.pid, "SIGKILL");
      while (isAlive(old)) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, downMs));
      processes.apiserver = await startApiserver();
    },
  };
}
