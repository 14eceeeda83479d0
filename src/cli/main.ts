// The vso command line: `vso dev up|down|env|exec` (local environment), `vso
// demo` (the playground), `vso run` (the operator), `vso render` and `vso
// doctor`. Each
// command's module is loaded only when it runs, so the operator never loads
// the development environment's code.

const USAGE = `usage: vso <command> [options]

commands:
  dev up [--dir DIR] [--with-node] [--db-default-ttl D] [--db-max-ttl D]
                       start a local Kubernetes API, OpenBao and PostgreSQL, set up as in the walkthrough;
                       --with-node adds a real node (kubelet, containerd, scheduler, kube-proxy, DNS)
                       in an isolated network namespace, so Pods run (needs root on Linux)
  dev env [--dir DIR]  print shell lines (exports, and with a node wrappers) for the local environment
  dev exec [--dir DIR] -- CMD [ARGS...]
                       run a command with the environment's variables (inside its network namespace)
  dev down [--dir DIR] stop the local environment and remove its state
  demo [--dir DIR] [--no-node] [--prepare-only]
                       the playground: the walkthrough (docs/walkthrough/walkthrough.sh) played on a
                       fresh real node; --prepare-only sets the node up for it (Vault as vault-0, the
                       Helm repository hashicorp) and leaves its commands to you (where the machine
                       allows a node; otherwise, or with --no-node, the operator runs as a process)
  run [flags]          run the operator (VSO's manager flags, plus --kubeconfig, --operator-namespace,
                       --watch-namespaces)
  render -f MANIFEST --data DATA.json [--metadata META.json] [--show-values] [-o text|json|yaml]
                       render a resource's transformation offline, as the operator would write it
  doctor [KIND] [NAMESPACE/NAME] [-o text|json] [--issue] [--vault-address URL] [--metrics-url URL]
                       walk the chain for one resource (or check the operator) and print each step
                       with the fix; also \`kubectl vso doctor\` (bin/kubectl-vso); see \`vso doctor -h\`
  help                 this text`;

/** `vso dev` and `vso demo` drive a local environment from a source checkout; the operator image leaves them out. */
async function devModule() {
  try {
    return await import("./dev.ts");
  } catch (err) {
    if ((err as { code?: string }).code === "ERR_MODULE_NOT_FOUND" && String(err).includes("dev.ts")) {
      throw new Error(
        "`vso dev` and `vso demo` need a source checkout of vso-ts; this build is the operator image",
      );
    }
    throw err;
  }
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case "dev":
      return await (await devModule()).devCommand(rest);
    case "run":
      return await (await import("./run.ts")).runCommand(rest);
    case "render":
      return await (await import("./render.ts")).renderCommand(rest);
    case "doctor":
      return await (await import("./doctor.ts")).doctorCommand(rest);
    case "demo":
      return await (await devModule()).devCommand(["demo", ...rest]);
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
