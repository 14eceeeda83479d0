// The vso command line: `vso dev up|down|env` (local environment), `vso demo`
// (the playground) and, as they land, `vso run` (the operator) and `vso render`.
import { devCommand } from "./dev.ts";
import { renderCommand } from "./render.ts";
import { runCommand } from "./run.ts";

const USAGE = `usage: vso <command> [options]

commands:
  dev up [--dir DIR] [--db-default-ttl D] [--db-max-ttl D]
                       start a local Kubernetes API, OpenBao and PostgreSQL, set up as in the walkthrough
  dev env [--dir DIR]  print shell export lines for the local environment
  dev down [--dir DIR] stop the local environment and remove its state
  demo [--dir DIR]     bring the playground up and show how to use it
  run [flags]          run the operator (VSO's manager flags, plus --kubeconfig, --operator-namespace,
                       --watch-namespaces)
  render -f MANIFEST --data DATA.json [--metadata META.json] [--show-values] [-o text|json|yaml]
                       render a resource's transformation offline, as the operator would write it
  help                 this text`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case "dev":
      return await devCommand(rest);
    case "run":
      return await runCommand(rest);
    case "render":
      return await renderCommand(rest);
    case "demo":
      return await devCommand(["demo", ...rest]);
    case undefined:
    case "help":
    case "-h":
    case "--help":
      console.log(USAGE);
      return cmd === undefined ? 2 : 0;
    default:
      console.error(`vso: unknown command "${cmd}"\n\n${USAGE}`);
      return 2;
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  console.error(`vso: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
