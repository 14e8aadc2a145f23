/** Prints how long each e2e step takes (the suite's timings; never asserted). */
export async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const start = Date.now();
  try {
    return await fn();
  } finally {
    console.log(`[e2e ${((Date.now() - start) / 1000).toFixed(1).padStart(6)}s] ${what}`);
  }
}
