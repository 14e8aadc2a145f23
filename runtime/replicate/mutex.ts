/** Runs async sections one at a time, in call order. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  /** A section is running or waiting. */
  get busy(): boolean {
    return this.pending > 0;
  }

  run<T>(fn: () => Promise<T> | T): Promise<T> {
    this.pending++;
    const next = this.tail.then(fn, fn).finally(() => {
      this.pending--;
    });
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
