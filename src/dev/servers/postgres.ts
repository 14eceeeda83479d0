// PostgreSQL from the machine's packages, on its own port and data directory,
// with password (SCRAM) authentication over TCP so that tests prove credentials
// really work or really stopped working. PostgreSQL refuses to run as root, so
// when we are root it runs as the `postgres` user in a directory it owns.
import { execFileSync } from "node:child_process";
import { chownSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../util/net.ts";
import { startDaemon, type TrackedProcess } from "../processes.ts";
import { ServerStartError, waitHealthy } from "../wait.ts";

export interface PostgresInfo {
  host: string;
  port: number;
  socketDir: string;
  dataDir: string;
  /** Directory holding data and socket; removed by `vso dev down`. */
  baseDir: string;
  superuser: string;
  superuserPassword: string;
  process: TrackedProcess;
}

function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("postgres:"));
  if (!line) {
    throw new Error("running as root but there is no `postgres` user; install PostgreSQL with: make deps");
  }
  const f = line.split(":");
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

export async function startPostgres(
  binDir: string,
  stateDir: string,
  password: string,
  /** Also listen here and accept password logins from these networks (the local node's Pods). */
  cluster?: { listenAddress: string; clientCidrs: string[] },
): Promise<PostgresInfo> {
  const user = postgresUser();
  const baseDir = mkdtempSync(join(tmpdir(), "vso-ts-pg-"));
  const dataDir = join(baseDir, "data");
  const pwfile = join(baseDir, "pwfile");
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (user) {
    chownSync(baseDir, user.uid, user.gid);
    chownSync(pwfile, user.uid, user.gid);
  }
  try {
    execFileSync(
      join(binDir, "initdb"),
      [
        "-D",
        dataDir,
        "-U",
        "postgres",
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        `--pwfile=${pwfile}`,
        "-E",
        "UTF8",
        "--no-sync",
      ],
      { uid: user?.uid, gid: user?.gid, stdio: "pipe" },
    );
  } catch (err) {
    const e = err as { stderr?: Buffer };
    throw new ServerStartError("PostgreSQL initdb", e.stderr?.toString() ?? String(err));
  }
  if (cluster) {
    const hba = cluster.clientCidrs.map((c) => `host all all ${c} scram-sha-256`).join("\n");
    writeFileSync(
      join(dataDir, "pg_hba.conf"),
      `${readFileSync(join(dataDir, "pg_hba.conf"), "utf8")}\n${hba}\n`,
    );
  }
  const listen = cluster ? `127.0.0.1,${cluster.listenAddress}` : "127.0.0.1";
  const port = await freePort();
  const proc = startDaemon(stateDir, {
    name: "postgres",
    command: join(binDir, "postgres"),
    args: [
      "-D",
      dataDir,
      "-c",
      `listen_addresses=${listen}`,
      "-p",
      String(port),
      "-k",
      baseDir,
      "-c",
      "fsync=off",
      "-c",
      "max_connections=200",
    ],
    uid: user?.uid,
    gid: user?.gid,
    cwd: baseDir,
    stopSignal: "SIGINT", // PostgreSQL's "fast" shutdown
  });
  const info: PostgresInfo = {
    host: "127.0.0.1",
    port,
    socketDir: baseDir,
    dataDir,
    baseDir,
    superuser: "postgres",
    superuserPassword: password,
    process: proc,
  };
  await waitHealthy(
    "PostgreSQL",
    proc,
    async () => {
      psqlAsSuperuser(binDir, info, "SELECT 1");
      return true;
    },
    30_000,
  );
  return info;
}

/** Runs SQL over the Unix socket as the superuser (local connections are trusted). */
export function psqlAsSuperuser(
  binDir: string,
  pg: PostgresInfo,
  sql: string,
  database = "postgres",
): string {
  return execFileSync(
    join(binDir, "psql"),
    [
      "-X",
      "-q",
      "-A",
      "-t",
      "-v",
      "ON_ERROR_STOP=1",
      "-h",
      pg.socketDir,
      "-p",
      String(pg.port),
      "-U",
      "postgres",
      "-d",
      database,
      "-c",
      sql,
    ],
    { stdio: "pipe", encoding: "utf8" },
  );
}
