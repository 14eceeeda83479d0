// Starting and stopping the playground's server processes. Each process is
// tracked by a pid file that also records the kernel's start time of that pid,
// so a stale pid file never makes us signal an unrelated process that reused
// the pid. Processes are never looked up or stopped by name.
import { spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface DaemonSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  uid?: number;
  gid?: number;
  /** Signal that asks this server for a clean, fast shutdown. */
  stopSignal?: NodeJS.Signals;
}

export interface TrackedProcess {
  name: string;
  pid: number;
  startTime: string;
  command: string;
  logFile: string;
  stopSignal: NodeJS.Signals;
}

function pidDir(stateDir: string): string {
  return join(stateDir, "pids");
}

export function logFileFor(stateDir: string, name: string): string {
  return join(stateDir, "logs", `${name}.log`);
}

/** The start time (in clock ticks since boot) of a live pid, or undefined when it is gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 2 (comm) may contain spaces and parentheses; fields after the last ')' are fixed.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (rest[0] === "Z") return undefined; // a zombie is as good as gone
    return rest[19];
  } catch {
    return undefined;
  }
}

export function isAlive(p: TrackedProcess): boolean {
  return processStartTime(p.pid) === p.startTime;
}

export function startDaemon(stateDir: string, spec: DaemonSpec): TrackedProcess {
  mkdirSync(pidDir(stateDir), { recursive: true });
  mkdirSync(join(stateDir, "logs"), { recursive: true });
  const logFile = logFileFor(stateDir, spec.name);
  const fd = openSync(logFile, "a");
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd ?? stateDir,
    env: spec.env ?? process.env,
    stdio: ["ignore", fd, fd],
    detached: true,
    uid: spec.uid,
    gid: spec.gid,
  });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${spec.name} (${spec.command})`);
  const tracked: TrackedProcess = {
    name: spec.name,
    pid: child.pid,
    startTime: processStartTime(child.pid) ?? "",
    command: spec.command,
    logFile,
    stopSignal: spec.stopSignal ?? "SIGTERM",
  };
  writeFileSync(join(pidDir(stateDir), `${spec.name}.pid`), JSON.stringify(tracked, null, 2));
  return tracked;
}

export function trackedProcesses(stateDir: string): TrackedProcess[] {
  const dir = pidDir(stateDir);
  if (!existsSync(dir)) return [];
  const out: TrackedProcess[] = [];
  for (const f of readdirSync(dir)) {
    if (!f.endsWith(".pid")) continue;
    try {
      out.push(JSON.parse(readFileSync(join(dir, f), "utf8")) as TrackedProcess);
    } catch {
      rmSync(join(dir, f), { force: true });
    }
  }
  return out;
}

/** Stops one tracked process: its stop signal, then SIGKILL after the grace period. */
export async function stopProcess(stateDir: string, p: TrackedProcess, graceMs = 15_000): Promise<void> {
  if (isAlive(p)) {
    try {
      // Signal the whole process group: servers such as PostgreSQL fork children.
      process.kill(-p.pid, p.stopSignal);
    } catch {
      try {
        process.kill(p.pid, p.stopSignal);
      } catch {
        /* already gone */
      }
    }
    const deadline = Date.now() + graceMs;
    while (isAlive(p) && Date.now() < deadline) await sleep(100);
    if (isAlive(p)) {
      try {
        process.kill(-p.pid, "SIGKILL");
      } catch {
        /* gone */
      }
      while (isAlive(p)) await sleep(50);
    }
  }
  rmSync(join(pidDir(stateDir), `${p.name}.pid`), { force: true });
}

/** Stops every process tracked in the state directory, in reverse start order. */
export async function stopAll(stateDir: string, order: string[] = []): Promise<string[]> {
  const procs = trackedProcesses(stateDir);
  const rank = (n: string) => {
    const i = order.indexOf(n);
    return i < 0 ? -1 : i;
  };
  procs.sort((a, b) => rank(b.name) - rank(a.name));
  const stopped: string[] = [];
  for (const p of procs) {
    const wasAlive = isAlive(p);
    await stopProcess(stateDir, p);
    if (wasAlive) stopped.push(`${p.name} (pid ${p.pid})`);
  }
  return stopped;
}

/** The last lines of a log file, for error messages when a server does not come up. */
export function tailFile(path: string, lines = 25): string {
  try {
    const text = readFileSync(path, "utf8").trimEnd().split("\n");
    return text.slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}
