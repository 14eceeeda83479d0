// One list for the bench, its memory scripts and the chart test (no imports: .mjs scripts load it).

/**
 * The Node flags the chart's Deployment starts vso-ts with (deploy/chart, templates/deployment.yaml):
 * a 1 MiB young-generation semi-space, V8's size-over-speed mode, and neither of V8's optimizing
 * JavaScript compilers (TurboFan, Maglev) nor TurboFan for WebAssembly (undici's HTTP parser runs on
 * Liftoff); docs/benchmarks.md, "Node's flags".
 */
export const CHART_NODE_FLAGS = [
  "--max-semi-space-size=1",
  "--optimize-for-size",
  "--no-opt",
  "--no-maglev",
  "--liftoff-only",
];
