/**
 * The limits of the replicate process's HTTP server: what one client (or many) can make it hold.
 * Defaults suit a private network; `server:` in the config (see docs/live-replicas.md) changes them.
 */
export interface ServerLimits {
  /** Open connections at once; more are closed as they arrive (fds stay for the WAL). */
  maxConnections: number;
  /** Bytes of request line + headers (larger: 431). */
  maxHeaderBytes: number;
  /** Requests per second from one address (more: 429). */
  requestsPerSecond: number;
  /** A connection that sends or receives nothing for this long is closed (ms). */
  idleTimeoutMs: number;
  /** Shadow-WAL bytes one live replica may keep from being deleted; past it, it gets a fresh snapshot. */
  maxPinnedBytes: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxConnections: 256,
  maxHeaderBytes: 8 << 10,
  requestsPerSecond: 50,
  idleTimeoutMs: 30_000,
  maxPinnedBytes: 256 << 20,
};

/**
 * Per-address fixed one-second windows. The map never holds more than the addresses seen in
 * the current second (it is cleared as the window turns).
 */
export class RateLimiter {
  private window = 0;
  private readonly counts = new Map<string, number>();

  constructor(private readonly perSecond: number) {}

  allow(address: string, now = Date.now()): boolean {
    const w = Math.floor(now / 1000);
    if (w !== this.window) {
      this.window = w;
      this.counts.clear();
    }
    const n = (this.counts.get(address) ?? 0) + 1;
    this.counts.set(address, n);
    return n <= this.perSecond;
  }
}

/**
 * At most one log line per kind per interval; the lines in between are counted and the count is
 * reported with the next one (a flood of bad requests cannot flood the log).
 */
export class WarningLimiter {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly intervalMs = 10_000) {}

  /** Calls `emit(suppressedSinceLast)` when this kind may log now. */
  warn(kind: string, emit: (suppressed: number) => void, now = Date.now()): void {
    const s = this.last.get(kind);
    if (s && now - s.at < this.intervalMs) {
      s.suppressed++;
      return;
    }
    this.last.set(kind, { at: now, suppressed: 0 });
    emit(s?.suppressed ?? 0);
  }
}
