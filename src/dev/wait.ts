// Polling a server until it is healthy, with an error that shows the server's log.
import { setTimeout as sleep } from "node:timers/promises";
import { isAlive, type TrackedProcess, tailFile } from "./processes.ts";

export class ServerStartError extends Error {
  constructor(what: string, reason: string, logFile?: string) {
    const tail = logFile ? `\n--- last lines of ${logFile} ---\n${tailFile(logFile)}` : "";
    super(`${what} did not become healthy: ${reason}${tail}`);
    this.name = "ServerStartError";
  }
}

export async function waitHealthy(
  what: string,
  proc: TrackedProcess | undefined,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "not ready";
  while (Date.now() < deadline) {
    if (proc && !isAlive(proc)) throw new ServerStartError(what, "the process exited", proc.logFile);
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    await sleep(250);
  }
  throw new ServerStartError(what, `timed out after ${timeoutMs / 1000}s (${lastError})`, proc?.logFile);
}
