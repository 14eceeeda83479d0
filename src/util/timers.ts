// Node's timers take a signed 32-bit millisecond delay: anything above
// 2^31-1 ms (about 24.8 days), Infinity or NaN is silently replaced by 1 ms.
// A requeue computed from a long certificate or lease TTL would then fire at
// once, in a loop. Every timer of a computed duration goes through clampDelay.

/** The longest delay Node's setTimeout honours (2^31 - 1 ms, about 24.8 days). */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * A delay Node's timers honour: negative becomes 0; too long, infinite or NaN
 * becomes the maximum, so the worst case is waking early (after ~24.8 days) and
 * computing the remaining time again, never waking at once.
 */
export function clampDelay(ms: number): number {
  if (Number.isNaN(ms) || ms > MAX_TIMER_DELAY_MS) return MAX_TIMER_DELAY_MS;
  return Math.max(ms, 0);
}

/** setTimeout with the delay clamped; unref'd so a pending timer never keeps the process alive. */
export function setClampedTimeout(fn: () => void, ms: number): NodeJS.Timeout {
  const t = setTimeout(fn, clampDelay(ms));
  t.unref();
  return t;
}
