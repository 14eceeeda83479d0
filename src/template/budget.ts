// The execution budget of one template render. A template is a tenant's
// program run on the operator's only event loop: two nested
// `range (until 900000)` would otherwise hold it for hours, starving every
// other reconcile, the leader lease and /healthz. Every evaluated node, range
// iteration and function call costs a step; a function result costs its size
// (list items, map entries, one step per STRING_CHARS_PER_STEP characters), and
// so does each string argument (hashing or matching a long string is slow),
// and functions that build a list pay for it before allocating, so memory
// growth is bounded too. The wall clock is read every CLOCK_EVERY steps, and
// after each costly call (bcrypt), so a few slow steps cannot hide either.
import { FuncError } from "./funcdef.ts";

/** Steps one execution may take: far above any real secret template (a few thousand; 2000 keys and 5000 hashed lines take 100,000). */
export const MAX_TEMPLATE_STEPS = 500_000;
/**
 * Wall-clock time one execution may take, in milliseconds: the backstop for slow steps
 * (bcrypt) and a loaded machine; a stalling template usually runs out of steps first,
 * in 100 to 250 ms.
 */
export const MAX_TEMPLATE_MILLIS = 500;
/** A string result costs one step per this many characters. */
export const STRING_CHARS_PER_STEP = 16;
/** How many steps pass between two readings of the clock. */
const CLOCK_EVERY = 1024;

export interface BudgetLimits {
  steps: number;
  millis: number;
}

export const DEFAULT_BUDGET: BudgetLimits = { steps: MAX_TEMPLATE_STEPS, millis: MAX_TEMPLATE_MILLIS };

/** Steps and time left for one execution. */
export class Budget {
  readonly limits: BudgetLimits;
  private used = 0;
  private nextClock = CLOCK_EVERY;
  private readonly deadline: number;
  /** Why the budget ran out (set once it has). */
  exceeded: string | undefined;

  constructor(limits: BudgetLimits = DEFAULT_BUDGET) {
    this.limits = limits;
    this.deadline = performance.now() + limits.millis;
  }

  /** Pays `n` steps; false once the steps or the time are spent. */
  charge(n: number): boolean {
    this.used += n;
    if (this.used > this.limits.steps) {
      this.exceeded ??= `more than ${this.limits.steps} steps`;
      return false;
    }
    if (this.used >= this.nextClock) {
      this.nextClock = this.used + CLOCK_EVERY;
      if (performance.now() > this.deadline) {
        this.exceeded ??= `more than ${this.limits.millis} ms`;
        return false;
      }
    }
    return true;
  }

  /** Whether `n` more steps can still be paid (checked before allocating n items). */
  affords(n: number): boolean {
    if (this.used + n <= this.limits.steps) return true;
    this.exceeded ??= `more than ${this.limits.steps} steps`;
    return false;
  }

  /** The error text: which budget, and by how much. */
  message(): string {
    return `template execution budget exceeded: ${this.exceeded ?? "no steps left"}`;
  }

  stepsUsed(): number {
    return this.used;
  }
}

/** Thrown from inside a function (or a deep walk of a value) when the active budget runs out. */
export class BudgetExceeded extends FuncError {
  constructor(message: string) {
    super(message, message);
  }
}

let active: Budget | null = null;

/** Runs `fn` with `budget` as the one that functions and value walks charge. */
export function withBudget<T>(budget: Budget, fn: () => T): T {
  const previous = active;
  active = budget;
  try {
    return fn();
  } finally {
    active = previous;
  }
}

/** Charges the active budget (if any) `n` steps; throws BudgetExceeded once it is spent. */
export function chargeSteps(n: number): void {
  if (active !== null && !active.charge(n)) throw new BudgetExceeded(active.message());
}

/** Refuses, before allocating, `n` items the active budget cannot pay for. */
export function ensureAffordable(n: number): void {
  if (active !== null && !active.affords(n)) throw new BudgetExceeded(active.message());
}

/** What a value costs as a function result: list items, map entries, or characters / STRING_CHARS_PER_STEP. */
export function resultCost(v: unknown): number {
  if (typeof v === "string") return (v.length / STRING_CHARS_PER_STEP) | 0;
  if (Array.isArray(v)) return v.length;
  if (v instanceof Map) return v.size;
  if (v instanceof Uint8Array) return (v.length / STRING_CHARS_PER_STEP) | 0;
  return 0;
}
