// Size bounds for template execution. A template is user input run inside the
// operator: `{{ repeat 50000000 "x" }}` or `{{ range until 100000000 }}` would
// otherwise allocate without bound. No template output can be useful beyond
// what a Kubernetes Secret holds (1 MiB), so that is the bound for the whole
// output of one execution and for any single value a function produces.
import { ensureAffordable, STRING_CHARS_PER_STEP } from "./budget.ts";
import { FuncError } from "./funcdef.ts";

export const MAX_TEMPLATE_OUTPUT_BYTES = 1024 * 1024;

/**
 * Refuses, before allocating, a function result of `n` units (characters or list items)
 * beyond the bound, or more than the execution budget can still pay for.
 */
export function checkResultSize(n: number, what: string, unit: "chars" | "items" = "items"): void {
  if (n > MAX_TEMPLATE_OUTPUT_BYTES) {
    throw new FuncError(
      `${what} would produce ${n} items, more than the limit of ${MAX_TEMPLATE_OUTPUT_BYTES}`,
      `${what} would produce more items than the limit of ${MAX_TEMPLATE_OUTPUT_BYTES}`,
    );
  }
  ensureAffordable(unit === "chars" ? (n / STRING_CHARS_PER_STEP) | 0 : n);
}

/** The output of one execution, refusing to grow past the bound. */
export class BoundedOutput {
  private readonly parts: string[] = [];
  private bytes = 0;

  /** Appends `s`; returns false, writing nothing, when that would pass the bound. */
  push(s: string): boolean {
    const n = Buffer.byteLength(s);
    if (this.bytes + n > MAX_TEMPLATE_OUTPUT_BYTES) return false;
    this.bytes += n;
    this.parts.push(s);
    return true;
  }

  text(): string {
    return this.parts.join("");
  }
}
