// The Go test oracles (test tooling, never shipped): small Go programs whose
// output our TypeScript must match byte for byte. `make deps` builds them
// (scripts/build-oracles.ts), with whatever modules they need, into the cache,
// keyed by a hash of their sources. Tests only run the prebuilt binaries: a
// test never builds or downloads, so a fresh machine cannot pass on a warm
// cache by accident (issue 17). Standard library only, so that deps.sh can run
// it before anything else is installed. An oracle with module dependencies
// commits its go.sum, so the build stays -mod=readonly.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { cacheDir, REPO_ROOT } from "../../src/dev/paths.ts";

export interface GoOracle {
  /** The binary's name, also the cache directory's prefix. */
  name: string;
  /** The Go module's directory, relative to the repository. */
  dir: string;
  /** Extra environment for its build (e.g. GONOSUMDB for a module the checksum database lacks). */
  env?: Readonly<Record<string, string>>;
}

export const GO_ORACLES = {
  template: { name: "template-oracle", dir: "test/template/oracle" },
  hmac: { name: "hmac-oracle", dir: "test/oracles/hmac" },
  // Imports VSO v1.5.0's api/v1beta1 (and so k8s apimachinery); VSO's go.sum pins a
  // github.com/hashicorp/vault/sdk pseudo-version the checksum database does not know.
  vaultAuthSpecHash: {
    name: "vaultauth-spechash-oracle",
    dir: "test/oracles/vaultauth-spechash",
    env: { GONOSUMDB: "github.com/hashicorp/vault/sdk" },
  },
} as const satisfies Record<string, GoOracle>;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(go|mod|sum)$/.test(e)) out.push(p);
  }
  return out;
}

/** Where the oracle built from the current sources lives. */
export function oracleBinary(o: GoOracle): string {
  const src = join(REPO_ROOT, o.dir);
  const h = createHash("sha256");
  for (const f of sourceFiles(src))
    h.update(relative(src, f)).update("\0").update(readFileSync(f)).update("\0");
  return join(cacheDir(), "go-oracles", `${o.name}-${h.digest("hex").slice(0, 16)}`, o.name);
}

/**
 * The prebuilt oracle for a test. Missing means `make deps` has not run since
 * the oracle's sources changed; the error says so instead of building here.
 */
export function goOracle(o: GoOracle): string {
  const bin = oracleBinary(o);
  if (existsSync(bin)) return bin;
  throw new Error(
    `the Go oracle ${o.name} (${o.dir}) is not built for these sources at ${bin}: ` +
      "run `make deps` (scripts/build-oracles.ts builds it and fetches the Go modules it needs); " +
      "tests never build or download anything",
  );
}

/** Builds one oracle (with network access for its modules); `make deps` only. */
export function buildGoOracle(o: GoOracle, log: (line: string) => void = () => {}): string {
  const bin = oracleBinary(o);
  if (existsSync(bin)) return bin;
  const dir = join(bin, "..");
  mkdirSync(dir, { recursive: true });
  const tmp = `${bin}.tmp-${process.pid}`;
  log(`building ${o.name} from ${o.dir}`);
  const r = spawnSync(process.env.GO ?? "go", ["build", "-trimpath", "-o", tmp, "."], {
    cwd: join(REPO_ROOT, o.dir),
    encoding: "utf8",
    env: {
      ...process.env,
      GOMODCACHE: join(cacheDir(), "go", "mod"),
      GOCACHE: join(cacheDir(), "go", "build"),
      GOFLAGS: "-mod=readonly -buildvcs=false",
      CGO_ENABLED: "0",
      ...o.env,
    },
  });
  if (r.status !== 0) throw new Error(`building ${o.name} failed:\n${r.stdout}${r.stderr}`);
  renameSync(tmp, bin);
  return bin;
}

export function runOracle(bin: string, input: string): string {
  return execFileSync(bin, [], {
    input,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, TZ: "UTC" },
  });
}
