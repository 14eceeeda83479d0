// Watches the destination Secrets of the bench namespaces and tells when each holds the data
// expected of it (exact values for static secrets, non-empty fields for issued credentials):
// the cold sync ends when all do, a change has propagated when its Secret shows the new value.
// It also counts every write to a destination Secret (steady state: 0).
import { CORE, type KubeClient, type KubeObject } from "../../src/kube/client.ts";
import { NAMESPACES } from "./workload.ts";

interface SecretObj extends KubeObject {
  data?: Record<string, string>;
}

const benchNs = new Set(NAMESPACES);

type Check = (data: Record<string, string> | undefined) => boolean;

const decode = (v: string | undefined) =>
  v === undefined ? undefined : Buffer.from(v, "base64").toString("utf8");

export class SecretWatch {
  /** namespace/name -> what its data must satisfy. */
  private readonly expected = new Map<string, Check>();
  private readonly correct = new Set<string>();
  /** When each key last became correct (ms). */
  readonly correctAt = new Map<string, number>();
  writes = 0;
  private readonly abort = new AbortController();
  private waiters: (() => void)[] = [];
  private loop?: Promise<void>;
  private rv = "";

  private readonly kube: KubeClient;

  constructor(kube: KubeClient) {
    this.kube = kube;
  }

  /** The Secret must hold exactly these values in these fields (other fields may exist). */
  expect(namespace: string, name: string, data: Record<string, string>): void {
    this.expectCheck(namespace, name, (got) =>
      Object.entries(data).every(([f, v]) => decode(got?.[f]) === v),
    );
  }

  /** The Secret must hold a non-empty value in each of these fields (issued credentials). */
  expectFields(namespace: string, name: string, fields: string[]): void {
    this.expectCheck(namespace, name, (got) => fields.every((f) => !!decode(got?.[f])));
  }

  private expectCheck(namespace: string, name: string, check: Check): void {
    const k = `${namespace}/${name}`;
    this.expected.set(k, check);
    this.correct.delete(k);
    this.correctAt.delete(k);
  }

  get correctCount(): number {
    return this.correct.size;
  }

  async start(): Promise<void> {
    const list = await this.kube.list<SecretObj>(CORE.secrets);
    for (const s of list.items) this.observe(s);
    this.rv = list.metadata.resourceVersion ?? "";
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        await this.kube.watch(
          CORE.secrets,
          undefined,
          { resourceVersion: this.rv, allowWatchBookmarks: true, timeoutSeconds: 3600 },
          (ev) => {
            if (ev.object.metadata.resourceVersion) this.rv = ev.object.metadata.resourceVersion;
            if (ev.type === "ADDED" || ev.type === "MODIFIED") {
              if (benchNs.has(ev.object.metadata.namespace ?? "")) this.writes++;
              this.observe(ev.object as SecretObj);
            }
          },
          this.abort.signal,
        );
      } catch {
        if (this.abort.signal.aborted) return;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  private observe(s: SecretObj): void {
    const k = `${s.metadata.namespace}/${s.metadata.name}`;
    const check = this.expected.get(k);
    if (!check) return;
    const ok = check(s.data);
    if (ok && !this.correct.has(k)) {
      this.correct.add(k);
      this.correctAt.set(k, Date.now());
      if (this.correct.size === this.expected.size) for (const w of this.waiters.splice(0)) w();
    } else if (!ok) {
      this.correct.delete(k);
    }
  }

  /** Pending allCorrect waits, each ended (rejected) by stop(). */
  private readonly cancels = new Set<() => void>();

  /** Resolves when every expected Secret holds its data; rejects after timeoutMs, or when the watch stops. */
  async allCorrect(timeoutMs: number): Promise<void> {
    if (this.correct.size === this.expected.size) return;
    let timer: NodeJS.Timeout | undefined;
    let cancel = () => {};
    await Promise.race([
      new Promise<void>((resolve) => this.waiters.push(resolve)),
      new Promise<void>((_, reject) => {
        const fail = (why: string) =>
          reject(new Error(`only ${this.correct.size}/${this.expected.size} Secrets correct ${why}`));
        timer = setTimeout(() => fail(`after ${timeoutMs} ms`), timeoutMs);
        cancel = () => fail("when the watch stopped");
        this.cancels.add(cancel);
      }),
    ]).finally(() => {
      clearTimeout(timer);
      this.cancels.delete(cancel);
    });
  }

  async stop(): Promise<void> {
    // A wait that lost a race (the operator died first) must not hold the process for its timeout.
    for (const c of [...this.cancels]) c();
    this.abort.abort();
    await this.loop?.catch(() => {});
  }
}
