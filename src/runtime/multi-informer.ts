// One logical informer over several namespaces (or the whole cluster): the
// operator can be limited to a set of namespaces with --watch-namespaces, in
// which case it lists and watches each one instead of the whole cluster.
import type { KubeClient, KubeObject, ResourceType } from "../kube/client.ts";
import { Informer, type InformerHandlers, type InformerOptions } from "./informer.ts";

export class MultiInformer<T extends KubeObject = KubeObject> {
  readonly resource: ResourceType;
  private readonly parts: Informer<T>[];

  constructor(
    kube: KubeClient,
    rt: ResourceType,
    namespaces: string[],
    opts: Omit<InformerOptions, "namespace"> = {},
  ) {
    this.resource = rt;
    this.parts =
      namespaces.length === 0
        ? [new Informer<T>(kube, rt, opts)]
        : [...new Set(namespaces)].map((ns) => new Informer<T>(kube, rt, { ...opts, namespace: ns }));
  }

  on(h: InformerHandlers<T>): void {
    for (const p of this.parts) p.on(h);
  }

  get(namespace: string, name: string): T | undefined {
    for (const p of this.parts) {
      if (p.namespace !== undefined && p.namespace !== namespace) continue;
      const o = p.get(`${namespace}/${name}`);
      if (o) return o;
    }
    return undefined;
  }

  list(namespace?: string): T[] {
    if (namespace === undefined) return this.parts.flatMap((p) => p.list());
    // Only the part that watches this namespace (or the cluster-wide one) can hold its objects.
    return this.parts.flatMap((p) =>
      p.namespace === undefined || p.namespace === namespace ? p.list(namespace) : [],
    );
  }

  start(): void {
    for (const p of this.parts) p.start();
  }

  hasSynced(): boolean {
    return this.parts.every((p) => p.hasSynced());
  }

  async waitForSync(): Promise<void> {
    await Promise.all(this.parts.map((p) => p.waitForSync()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.parts.map((p) => p.stop()));
  }
}
