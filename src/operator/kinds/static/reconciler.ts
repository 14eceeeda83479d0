// VaultStaticSecret: KV v1/v2 secrets synced into a Kubernetes Secret.
// Reading a KV secret issues nothing, so every reconcile reads Vault and the
// decision (decisions.ts, beside this file) is only whether to write: the destination
// is written when the data (by HMAC) or the live Secret differs from what was
// last written, workloads restart when the data changed (never on the first
// sync), Secrets left by a rename are pruned, and the outcome is recorded in
// status.conditions and Events. When Vault is unreachable or refuses, the
// destination is left exactly as it was. The sync itself is the shared
// pipeline (controllers/secret-sync.ts).
import type { VaultStaticSecret, VaultStaticSecretStatus } from "../../../api/index.ts";
import { EventReason, Finalizer } from "../../../api/index.ts";
import type { KubeObject } from "../../../kube/client.ts";
import type { ReconcileResult } from "../../../runtime/controller.ts";
import type { MultiInformer } from "../../../runtime/multi-informer.ts";
import type { VaultClient } from "../../../vault/client.ts";
import type { OperatorContext } from "../../context.ts";
import { classify, isVaultNotFound, syncConditions } from "../../controllers/common.ts";
import { type Fetched, type SecretKind, SecretSync, type SyncRun } from "../../controllers/secret-sync.ts";
import { type Setup, setupSecretKind } from "../../controllers/setup.ts";
import { secretDataMAC } from "../../hmac.ts";
import { VSO } from "../../resources.ts";
import { decideStaticWrite, kvReadPath, type StaticDecision, staticNextLookMs } from "./decisions.ts";

const KIND = "VaultStaticSecret";
const CONTROLLER = "vaultstaticsecret";

type VSSObject = VaultStaticSecret & KubeObject;
type Run = SyncRun<VSSObject, VaultStaticSecretStatus>;

/** A KV v2 read that found no data (a deleted or destroyed version): Vault trouble, not configuration. */
class KVNoDataError extends Error {}

async function readKV(spec: VaultStaticSecret["spec"], client: VaultClient, vaultNs: string | undefined) {
  const { path, query } = kvReadPath(spec);
  const resp = await client.request<unknown>("GET", path, { namespace: vaultNs, keepNumbers: true, query });
  const respData = ((resp.json as { data?: unknown } | undefined)?.data ?? null) as Record<
    string,
    unknown
  > | null;
  if (spec.type !== "kv-v2") return { secrets: respData ?? {}, raw: respData, metadata: {} };
  const d = respData as { data?: Record<string, unknown> | null; metadata?: Record<string, unknown> } | null;
  if (!d?.data) throw new KVNoDataError(`no data at ${path} (deleted or destroyed version)`);
  return { secrets: d.data, raw: respData, metadata: d.metadata ?? {} };
}

export class VaultStaticSecretReconciler {
  readonly engine: SecretSync<VSSObject, VaultStaticSecretStatus>;

  constructor(ctx: OperatorContext, now: () => number = Date.now) {
    this.engine = new SecretSync(ctx, this.kind(), now);
  }

  private kind(): SecretKind<VSSObject, VaultStaticSecretStatus> {
    return {
      kind: KIND,
      controller: CONTROLLER,
      resource: VSO.VaultStaticSecret,
      finalizer: Finalizer.VaultStaticSecret,
      informer: (ctx) => ctx.informers.staticSecrets as unknown as MultiInformer<VSSObject>,
      emptyStatus: () => ({ lastGeneration: 0 }),
      failureVerb: "sync the secret",
      errorClass: (err) => (err instanceof KVNoDataError || isVaultNotFound(err) ? "vault" : classify(err)),
      sync: (run) => this.sync(run),
    };
  }

  /** Gather the destination, then deliver: the decision to write needs the data just read. */
  private async sync(run: Run): Promise<ReconcileResult | undefined> {
    const { ctx } = this.engine;
    const spec = run.obj.spec;
    const hmacOn = spec.hmacSecretData !== false;
    // Reading KV issues nothing, so a destination the cache lacks is presumed absent.
    const destination = await this.engine.destinationState(run, { presumeAbsent: true });
    const lastMAC = run.status.secretMAC;
    let decision: StaticDecision | undefined;
    let mac = "";
    return await this.engine.deliver(run, {
      existing: destination.live,
      issues: false,
      fetch: async (client, vaultNs): Promise<Fetched> => readKV(spec, client, vaultNs),
      write: (data) => {
        mac = secretDataMAC(ctx.hmacKey, data);
        decision = decideStaticWrite({
          hmacOn,
          generation: run.generation,
          lastGeneration: run.status.lastGeneration,
          mac,
          lastMAC,
          destination: destination.state,
        });
        return decision.action === "write" ? decision.reason : undefined;
      },
      record: (status, { wrote, client }) => {
        const restart = decision?.action === "write" && decision.restart;
        if (wrote) {
          ctx
            .recorder(KIND)
            .normal(
              run.obj,
              EventReason.SecretSynced,
              restart ? "Secret synced: data changed" : "Secret synced",
            );
        }
        status.lastGeneration = run.generation;
        if (hmacOn) status.secretMAC = mac;
        else delete status.secretMAC;
        status.vaultClientMeta = { cacheKey: client.cacheKey, id: client.id };
        status.conditions = syncConditions(
          status.conditions,
          KIND,
          true,
          "Secret synced",
          run.generation,
          wrote,
        );
        return { restart };
      },
      schedule: () => {
        const ms = staticNextLookMs(spec, Math.random());
        return ms === undefined ? undefined : { requeueAfterMs: ms };
      },
    });
  }
}

/** The VaultStaticSecret controller and its watches. */
export const setupVaultStaticSecret: Setup = (mgr) => {
  const rec = new VaultStaticSecretReconciler(mgr.ctx);
  setupSecretKind(mgr, CONTROLLER, mgr.ctx.informers.staticSecrets, rec.engine);
};
