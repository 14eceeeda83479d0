// Helpers for tests that need Pods: the shared environment's local node
// (scripts/run-tests.ts starts it where the machine allows), Pods running the
// locally imported images, and their logs read through the real kubectl.
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { CORE } from "../../src/kube/client.ts";
import { eventually, type TestEnv } from "./env.ts";
import { kubectl } from "./kubectl.ts";

const NO_NODE = "no local node in this environment (needs root on Linux; see the test runner's first lines)";

/**
 * True when the environment has a node; otherwise skips the test, saying why.
 * With VSO_REQUIRE_NODE=1 (set by .ci/run, which runs as root on Linux) a
 * missing node fails the test instead: a run that is expected to exercise the
 * node must not turn green by skipping every test that needs it.
 */
export function requireNode(t: TestContext, env: TestEnv): boolean {
  if (env.state.node) return true;
  if (nodeRequired()) assert.fail(`${NO_NODE}, and VSO_REQUIRE_NODE=1 requires one`);
  t.skip(NO_NODE);
  return false;
}

/** VSO_REQUIRE_NODE=1: tests that need the local node fail rather than skip without one. */
export function nodeRequired(): boolean {
  return process.env.VSO_REQUIRE_NODE === "1";
}

export interface PodLike {
  metadata: { name?: string; uid?: string; labels?: Record<string, string>; deletionTimestamp?: string };
  status?: {
    phase?: string;
    podIP?: string;
    containerStatuses?: { ready?: boolean; state?: { waiting?: { reason?: string; message?: string } } }[];
  };
}

export async function waitPodPhase(
  env: TestEnv,
  ns: string,
  name: string,
  phases: string[],
  timeoutMs = 60_000,
): Promise<PodLike> {
  return await eventually(
    `Pod ${ns}/${name} in ${phases.join("/")}`,
    async () => {
      const p = await env.kube.getOrNull<PodLike>(CORE.pods, ns, name);
      const waiting = p?.status?.containerStatuses?.[0]?.state?.waiting;
      if (
        waiting?.reason &&
        /ErrImage|CrashLoop|CreateContainerConfigError|InvalidImageName/.test(waiting.reason)
      ) {
        throw new Error(`Pod ${ns}/${name}: ${waiting.reason} ${waiting.message ?? ""}`);
      }
      return p && phases.includes(p.status?.phase ?? "") ? p : null;
    },
    timeoutMs,
    500,
  );
}

/** `kubectl logs`, through the API server and the kubelet, as a user would read them. */
export async function podLogs(env: TestEnv, ns: string, target: string): Promise<string> {
  const res = await kubectl(env, ["logs", "-n", ns, target]);
  if (res.code !== 0) throw new Error(`kubectl logs ${target}: ${res.stderr}`);
  return res.stdout;
}

/** The names of the running, not terminating Pods with the label app=<app>. */
export async function runningPods(env: TestEnv, ns: string, app: string): Promise<string[]> {
  const list = await env.kube.list<PodLike>(CORE.pods, ns, { labelSelector: `app=${app}` });
  return list.items
    .filter((p) => p.status?.phase === "Running" && !p.metadata.deletionTimestamp)
    .map((p) => p.metadata.name ?? "")
    .sort();
}

/** All Pods with app=<app>, terminating ones included. */
export async function allPods(env: TestEnv, ns: string, app: string): Promise<string[]> {
  const list = await env.kube.list<PodLike>(CORE.pods, ns, { labelSelector: `app=${app}` });
  return list.items.map((p) => p.metadata.name ?? "").sort();
}
