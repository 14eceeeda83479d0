// Builds a small Go test oracle (test tooling, never shipped) with the
// machine's Go, cached by a hash of its sources, and runs it over stdin.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { cacheDir } from "../../src/dev/paths.ts";

export function buildGoOracle(srcDir: string, name: string): string {
  const h = createHash("sha256");
  for (const f of readdirSync(srcDir).sort()) h.update(f).update(readFileSync(join(srcDir, f)));
  const out = join(cacheDir(), `${name}-${h.digest("hex").slice(0, 12)}`);
  const bin = join(out, name);
  if (!existsSync(bin)) {
    mkdirSync(out, { recursive: true });
    execFileSync("go", ["build", "-o", bin, "."], {
      cwd: srcDir,
      stdio: "pipe",
      env: {
        ...process.env,
        GOMODCACHE: join(cacheDir(), "go", "mod"),
        GOCACHE: join(cacheDir(), "go", "build"),
        GOFLAGS: "-mod=mod",
      },
    });
  }
  return bin;
}

export function runOracle(bin: string, input: string): string {
  return execFileSync(bin, [], { input, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
}
