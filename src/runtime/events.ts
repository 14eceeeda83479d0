// Records Kubernetes Events for our resources. Repeats of the same event
// (object, type, reason, message) within ten minutes bump the existing Event's
// count instead of creating a new one, as client-go's recorder does. Messages
// must never contain secret values; callers pass redacted text.
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { CORE, type KubeClient, type KubeObject } from "../kube/client.ts";

interface Seen {
  name: string;
  namespace: string;
  count: number;
  last: number;
}

const AGGREGATE_WINDOW_MS = 10 * 60_000;
const MAX_TRACKED = 10_000;

export class EventRecorder {
  private readonly kube: KubeClient;
  private readonly component: string;
  private readonly log: Logger;
  private readonly seen = new Map<string, Seen>();

  constructor(kube: KubeClient, component: string, log: Logger) {
    this.kube = kube;
    this.component = component;
    this.log = log;
  }

  normal(obj: KubeObject, reason: string, message: string): void {
    this.emit(obj, "Normal", reason, message);
  }

  warning(obj: KubeObject, reason: string, message: string): void {
    this.emit(obj, "Warning", reason, message);
  }

  emit(obj: KubeObject, type: "Normal" | "Warning", reason: string, message: string): void {
    void this.record(obj, type, reason, message.slice(0, 1024)).catch((err) => {
      this.log.warn(
        { reason, err: err instanceof Error ? err.message : String(err) },
        "could not record event",
      );
    });
  }

  private async record(obj: KubeObject, type: string, reason: string, message: string): Promise<void> {
    const ns = obj.metadata.namespace ?? "default";
    const key = `${obj.metadata.uid}|${type}|${reason}|${message}`;
    const now = new Date();
    const ts = now.toISOString().replace(/\.\d{3}Z$/, "Z");
    const prev = this.seen.get(key);
    if (prev && now.getTime() - prev.last < AGGREGATE_WINDOW_MS) {
      prev.count++;
      prev.last = now.getTime();
      try {
        await this.kube.patch(
          CORE.events,
          prev.namespace,
          prev.name,
          { count: prev.count, lastTimestamp: ts },
          "merge",
        );
        return;
      } catch {
        this.seen.delete(key); // the Event expired or was deleted: create a fresh one
      }
    }
    const name = `${obj.metadata.name}.${Date.now().toString(16)}${randomBytes(3).toString("hex")}`;
    await this.kube.create(CORE.events, ns, {
      metadata: { name, namespace: ns },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata.name,
        namespace: ns,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
      },
      reason,
      message,
      type,
      source: { component: this.component },
      reportingComponent: "vso-ts",
      reportingInstance: this.component,
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
    });
    if (this.seen.size >= MAX_TRACKED) this.seen.delete(this.seen.keys().next().value as string);
    this.seen.set(key, { name, namespace: ns, count: 1, last: now.getTime() });
  }
}
