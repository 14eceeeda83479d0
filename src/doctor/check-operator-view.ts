// Step 9: what the operator itself says about the resource: its latest Events
// and, when its /metrics is reachable, controller_resource_status and (for a
// dynamic secret) the lease's time to expiry.
import { CORE, type KubeObject } from "../kube/client.ts";
import { scrape } from "./prom-text.ts";
import { fail, pass, type Step, skip, warn } from "./report.ts";
import { errText, SECRET_KINDS, type Session } from "./session.ts";

interface EventObj extends KubeObject {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  lastTimestamp?: string;
  eventTime?: string;
  series?: { lastObservedTime?: string };
}

function when(e: EventObj): number {
  const t =
    e.series?.lastObservedTime ??
    e.lastTimestamp ??
    e.eventTime ??
    String(e.metadata.creationTimestamp ?? "");
  return Date.parse(t) || 0;
}

export async function checkEvents(s: Session): Promise<Step> {
  const title = "operator Events";
  let events: EventObj[];
  try {
    events = (
      await s.opts.kube.list<EventObj>(CORE.events, s.namespace, {
        fieldSelector: `involvedObject.kind=${s.kind},involvedObject.name=${s.name}`,
      })
    ).items.filter(
      (e) => (e as { involvedObject?: { uid?: string } }).involvedObject?.uid === s.obj?.metadata.uid,
    );
  } catch (err) {
    return warn("events", title, `cannot list Events in ${s.namespace}: ${errText(err)}`);
  }
  if (events.length === 0) return pass("events", title, "no Events for this resource");
  events.sort((a, b) => when(b) - when(a));
  const latest = events[0];
  const recent = events
    .slice(0, 3)
    .map((e) => `${e.type} ${e.reason}${e.count && e.count > 1 ? ` (x${e.count})` : ""}: ${e.message ?? ""}`)
    .join("\n");
  if (latest.type === "Warning") {
    return fail(
      "events",
      title,
      `latest Event is a Warning:\n${recent}`,
      "the Warning names the failing part; the steps above give its fix (the operator retries with backoff)",
    );
  }
  return pass("events", title, `latest Events:\n${recent}`);
}

export async function checkMetrics(s: Session): Promise<Step> {
  const title = "operator metrics";
  if (!s.opts.metricsUrl) {
    return skip(
      "metrics",
      title,
      "not read: pass --metrics-url (e.g. https://127.0.0.1:8443/metrics after kubectl port-forward of the metrics Service, with --metrics-token)",
    );
  }
  let samples: Awaited<ReturnType<typeof scrape>>;
  try {
    samples = await scrape(s.opts.metricsUrl, s.opts.metricsToken, s.opts.timeoutMs);
  } catch (err) {
    return warn("metrics", title, `cannot scrape ${s.opts.metricsUrl}: ${errText(err)}`);
  }
  const controller = SECRET_KINDS[s.kind].controller;
  const mine = (name: string) =>
    samples.find((x) => x.name === name && x.labels.namespace === s.namespace && x.labels.name === s.name);
  const status = samples.find(
    (x) =>
      x.name === "controller_resource_status" &&
      x.labels.controller === controller &&
      x.labels.namespace === s.namespace &&
      x.labels.name === s.name,
  );
  const expiry = s.kind === "VaultDynamicSecret" ? mine("vso_lease_expiration_timestamp_seconds") : undefined;
  const lease = expiry ? `; lease expires in ${Math.round(expiry.value - Date.now() / 1000)}s` : "";
  if (!status) {
    return warn(
      "metrics",
      title,
      `the operator at ${s.opts.metricsUrl} exports no controller_resource_status for this resource: it has not reconciled it (another replica leads, or it does not watch ${s.namespace})`,
    );
  }
  if (status.value !== 1) {
    return fail(
      "metrics",
      title,
      `controller_resource_status{controller="${controller}"} is 0: the operator's last sync failed${lease}`,
      "the steps above give the cause and its fix",
    );
  }
  return pass("metrics", title, `controller_resource_status{controller="${controller}"} is 1${lease}`);
}
