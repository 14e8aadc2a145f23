/** Prints how long each e2e step takes (the suite's timings; never asserted). */
export async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const start = Date.now();
  try {
    return await fn();
  } finally {
    console.log(`[e2e ${((Date.now() - start) / 1000).toFixed(1).padStart(6)}s] ${what}`);
  }
}

/**
 * Polls `fn` once a second until it returns a value (not undefined), for at most `timeoutMs`;
 * the last error it threw is in the timeout message.
 */
export async function until<T>(
  what: string,
  timeoutMs: number,
  fn: () => Promise<T | undefined>,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s: ${what}${last ? ` (last error: ${last})` : ''}`);
}
