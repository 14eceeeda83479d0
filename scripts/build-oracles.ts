// `make deps` step: builds every Go test oracle (test/support/go-oracle.ts)
// into the cache, fetching the Go modules each needs, so that tests run
// offline and never build anything themselves.
import { buildGoOracle, GO_ORACLES } from "../test/support/go-oracle.ts";

for (const o of Object.values(GO_ORACLES)) {
  const bin = buildGoOracle(o, (line) => console.log(`[deps] oracles: ${line}`));
  console.log(`[deps] oracles: ${o.name} ready (${bin})`);
}
