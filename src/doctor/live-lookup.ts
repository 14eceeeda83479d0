// The operator resolves references against its informer caches through a
// synchronous ObjectLookup. The doctor has no caches: it runs the operator's
// own resolution (refs.ts) against a lookup that records what it was asked
// for and did not have, fetches those objects from the API server, and runs
// the resolution again, until nothing new is asked for. So the doctor follows
// exactly the operator's rules (defaults, VaultAuthGlobal, allowedNamespaces).
import type { VaultAuth, VaultAuthGlobal, VaultConnection } from "../api/index.ts";
import type { KubeClient, KubeObject, ResourceType } from "../kube/client.ts";
import type { ObjectLookup } from "../operator/refs.ts";
import { VSO } from "../operator/resources.ts";

type Kind = "VaultAuth" | "VaultAuthGlobal" | "VaultConnection";

export class LiveLookup {
  private readonly kube: KubeClient;
  private readonly known = new Map<string, KubeObject | null>();
  private missing = new Map<string, { kind: Kind; namespace: string; name: string }>();
  /** Every object fetched, for the report ("resolved VaultAuth ns/name"). */
  readonly fetched: string[] = [];

  constructor(kube: KubeClient) {
    this.kube = kube;
  }

  private get<T>(kind: Kind, namespace: string, name: string): T | undefined {
    const key = `${kind}/${namespace}/${name}`;
    if (this.known.has(key)) return (this.known.get(key) ?? undefined) as T | undefined;
    this.missing.set(key, { kind, namespace, name });
    return undefined;
  }

  private readonly lookup: ObjectLookup = {
    vaultAuth: (ns, n) => this.get<VaultAuth>("VaultAuth", ns, n),
    vaultAuthGlobal: (ns, n) => this.get<VaultAuthGlobal>("VaultAuthGlobal", ns, n),
    vaultConnection: (ns, n) => this.get<VaultConnection>("VaultConnection", ns, n),
  };

  /** Runs `resolve` until every object it looked up has been fetched (or is known not to exist). */
  async resolve<T>(resolve: (lookup: ObjectLookup) => T): Promise<T> {
    for (let round = 0; round < 10; round++) {
      this.missing = new Map();
      let result: { ok: true; value: T } | { ok: false; err: unknown };
      try {
        result = { ok: true, value: resolve(this.lookup) };
      } catch (err) {
        result = { ok: false, err };
      }
      if (this.missing.size === 0) {
        if (result.ok) return result.value;
        throw result.err;
      }
      await Promise.all(
        [...this.missing.entries()].map(async ([key, m]) => {
          const rt: ResourceType = VSO[m.kind];
          const obj = await this.kube.getOrNull(rt, m.namespace, m.name);
          this.known.set(key, obj);
          if (obj) this.fetched.push(`${m.kind} ${m.namespace}/${m.name}`);
        }),
      );
    }
    throw new Error("reference resolution did not settle after 10 rounds");
  }
}
