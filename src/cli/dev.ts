// `vso dev ...` and `vso demo`.
import { parseArgs } from "node:util";
import { demo } from "../dev/demo.ts";
import { defaultStateDir, down, envExports, readState, summary, up } from "../dev/environment.ts";

export async function devCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      dir: { type: "string" },
      "db-default-ttl": { type: "string" },
      "db-max-ttl": { type: "string" },
    },
    allowPositionals: false,
  });
  const dir = values.dir ?? defaultStateDir();
  const log = (line: string) => console.error(`[vso dev] ${line}`);
  switch (sub) {
    case "demo":
      console.log(await demo(dir, log));
      return 0;
    case "up": {
      const state = await up({
        dir,
        log,
        dbDefaultTtl: values["db-default-ttl"],
        dbMaxTtl: values["db-max-ttl"],
      });
      console.log(summary(state));
      return 0;
    }
    case "env":
      console.log(envExports(readState(dir)));
      return 0;
    case "down": {
      const stopped = await down(dir);
      log(
        stopped.length > 0
          ? `stopped ${stopped.join(", ")}; removed ${dir}`
          : `nothing running; removed ${dir}`,
      );
      return 0;
    }
    default:
      console.error("usage: vso dev up|env|down [--dir DIR]");
      return 2;
  }
}
