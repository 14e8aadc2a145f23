/**
 * Node's timers take a signed 32-bit millisecond delay: anything above 2^31 - 1 ms (~596 h)
 * becomes 1 ms, so a `validation-interval: 720h` would run back to back. Every interval the
 * runtime schedules goes through timerDelay, which caps it at the largest delay Node honours.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export function timerDelay(ms: number): number {
  return Math.min(Math.max(1, ms), MAX_TIMER_MS);
}
