// Function signatures: Go's template executor converts and checks arguments against the
// parameter types of the Go function, so each function declares them.

export interface FuncDef {
  /** Go parameter types; with `variadic`, the last entry is the element type of the `...T`. */
  params: string[];
  variadic?: boolean;
  /** Go result type. */
  ret: string;
  /** Whether the Go function also returns an error. */
  err?: boolean;
  /** Implementation. Throw FuncError for a returned error or a panic. */
  fn: (...args: never[]) => unknown;
}

/** An error returned by (or a panic inside) a template function. */
export class FuncError extends Error {
  /**
   * The error told without anything taken from an argument or value, when the thrower
   * can say it so (a limit, a budget). Otherwise the detail is withheld wherever the
   * error leaves the engine for a condition, an Event or a log (ExecError.safeMessage).
   */
  readonly dataFree: string | undefined;
  constructor(message: string, dataFree?: string) {
    super(message);
    this.dataFree = dataFree;
  }
}

export type FuncMap = Record<string, FuncDef>;

export function def(
  params: string[],
  ret: string,
  fn: (...args: never[]) => unknown,
  opts: { variadic?: boolean; err?: boolean } = {},
): FuncDef {
  return { params, ret, fn, variadic: opts.variadic, err: opts.err };
}
