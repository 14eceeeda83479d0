// The harness's clock: the `now()` injected into the reconcilers and the
// fakes. It starts at the real time (so that values the production code takes
// from Date.now(), such as the end of a revoked token, compare sensibly with
// it) and only moves when a test moves it.
export class FakeClock {
  private ms: number;

  constructor(startMs = Math.floor(Date.now() / 1000) * 1000) {
    this.ms = startMs;
  }

  /** Bound, so it can be handed out as `() => number`. */
  readonly now = (): number => this.ms;

  advance(ms: number): number {
    this.ms += ms;
    return this.ms;
  }

  advanceSeconds(s: number): number {
    return this.advance(s * 1000);
  }

  nowSeconds(): number {
    return Math.floor(this.ms / 1000);
  }
}
