// Runs the real kubectl (built by `make deps`) against the test environment.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { toolPaths } from "../../src/dev/paths.ts";
import type { TestEnv } from "./env.ts";

const execFileP = promisify(execFile);

export async function kubectl(
  env: TestEnv,
  args: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return await new Promise((resolve) => {
    const child = execFile(
      toolPaths().kubectl,
      args,
      { env: { ...process.env, KUBECONFIG: env.state.kubeconfig } },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

/** `kubectl apply -f -` of a manifest file with ${VAR} substitution. */
export async function applyFile(env: TestEnv, path: string, vars: Record<string, string> = {}) {
  const text = readFileSync(path, "utf8").replace(/\$\{([A-Z_]+)\}/g, (_m, k: string) => vars[k] ?? "");
  const res = await kubectl(env, ["apply", "-f", "-"], text);
  if (res.code !== 0) throw new Error(`kubectl apply ${path} failed: ${res.stderr}`);
  return res;
}

export { execFileP };
