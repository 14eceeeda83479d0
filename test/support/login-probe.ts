// An app that logs in to PostgreSQL with whatever a destination Secret holds,
// every second, as a workload re-reading its Secret would: what the
// credential tests count across a fault.
import { setTimeout as sleep } from "node:timers/promises";
import { CORE } from "../../src/kube/client.ts";
import { pgQuery, type TestEnv } from "./env.ts";
import { decoded } from "./operator.ts";

export interface ProbeSummary {
  attempts: number;
  failures: number;
  /** The longest run of failed logins, in ms (first failure to next success). */
  longestOutageMs: number;
  usernames: Set<string>;
}

/** Logs in with the Secret's current credentials every `everyMs` until stopped. */
export function loginProbe(env: TestEnv, ns: string, secret: string, everyMs = 1000) {
  const results: { t: number; ok: boolean; user: string }[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t = Date.now();
      let ok = false;
      let user = "";
      try {
        const d = decoded((await env.kube.get(CORE.secrets, ns, secret)) as never);
        user = d.username ?? "";
        ok = (await pgQuery(env, d.username, d.password)).ok;
      } catch {
        ok = false;
      }
      results.push({ t, ok, user });
      // Unreferenced: a test that fails before stop() must not be held open by its probe.
      await sleep(Math.max(0, everyMs - (Date.now() - t)), undefined, { ref: false });
    }
  })();
  return {
    async stop(): Promise<ProbeSummary> {
      running = false;
      await loop;
      let longest = 0;
      let since: number | undefined;
      for (const r of results) {
        if (!r.ok) since ??= r.t;
        else if (since !== undefined) {
          longest = Math.max(longest, r.t - since);
          since = undefined;
        }
      }
      if (since !== undefined) longest = Math.max(longest, Date.now() - since);
      return {
        attempts: results.length,
        failures: results.filter((r) => !r.ok).length,
        longestOutageMs: longest,
        usernames: new Set(results.map((r) => r.user).filter(Boolean)),
      };
    },
  };
}
