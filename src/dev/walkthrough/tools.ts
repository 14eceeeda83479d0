// The real kubectl and helm, run for the playground the way a user runs them:
// with the environment's kubeconfig and helm directories.
import { execFile } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { type DevState, envVars } from "../environment.ts";

export async function runTool(state: DevState, bin: string, args: string[], stdin?: string): Promise<string> {
  const env = { ...process.env, ...envVars(state) };
  return await new Promise((resolve, reject) => {
    const child = execFile(
      bin,
      args,
      { env, maxBuffer: 16 << 20, timeout: 300_000 },
      (err, stdout, stderr) =>
        err
          ? reject(new Error(`${bin.split("/").pop()} ${args.join(" ")}: ${stderr || err.message}`))
          : resolve(stdout),
    );
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

/** Polls `fn` until it gives a value; errors count as "not yet". */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? `: ${last.message}` : "";
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${why}`);
    }
    await sleep(500);
  }
}
