import pRetry, { AbortError } from 'p-retry';
import { UserError } from '../errors.js';
import type { Logger } from '../log.js';

/**
 * Shared retry policy of the cloud replica clients: exponential backoff with full jitter
 * (p-retry's `randomize` multiplies each delay by 1..2), a bounded number of attempts per
 * call, and a split between transient failures (retried) and permanent ones (one UserError).
 */
export interface RetryPolicy {
  /** Retries after the first attempt (so attempts = retries + 1). */
  retries: number;
  /** Delay before the first retry, in ms. */
  minTimeout: number;
  /** Cap of a single delay, in ms. */
  maxTimeout: number;
}

/** ~6 attempts over roughly 8–16 s: rides out a restarting server, fails before the next sync piles up. */
export const DEFAULT_RETRY: RetryPolicy = { retries: 5, minTimeout: 250, maxTimeout: 8_000 };

/** What a backend decides about one failure. */
export type Verdict =
  /** Worth another attempt: 5xx, throttling, resets, timeouts, refused connections. */
  | { kind: 'transient'; reason: string }
  /** Retrying cannot help: bad credentials, missing bucket. `hint` says what to do. */
  | { kind: 'permanent'; reason: string; hint?: string }
  /** The object does not exist. */
  | { kind: 'notfound' };

/** A replica call failed for good. Names the replica, never a secret. */
export class ReplicaError extends UserError {
  readonly replica: string;
  /** True when the storage was unreachable/overloaded (a later sync may succeed). */
  readonly transient: boolean;

  constructor(
    replica: string,
    message: string,
    options: { hint?: string; cause?: unknown; transient: boolean },
  ) {
    super(`replica "${replica}": ${message}`, { hint: options.hint, cause: options.cause });
    this.name = 'ReplicaError';
    this.replica = replica;
    this.transient = options.transient;
  }
}

/** A read of an object that is not there (code ENOENT, as fs gives for the file replica). */
export class ObjectNotFoundError extends UserError {
  readonly code = 'ENOENT';
  readonly key: string;

  constructor(replica: string, key: string) {
    super(`replica "${replica}": object not found: ${key}`);
    this.name = 'ObjectNotFoundError';
    this.key = key;
  }
}

export interface RetryContext {
  /** Replica name, used in messages. */
  replica: string;
  logger?: Logger;
  policy?: Partial<RetryPolicy>;
  classify: (err: unknown) => Verdict;
  /** Called after a transient failure, before the next attempt (e.g. drop a broken session). */
  onTransient?: (err: unknown) => void | Promise<void>;
}

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTCONN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Socket-level failures every backend treats as transient. Returns a short reason or undefined. */
export function networkFailure(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
  if (err.name === 'TimeoutError' || err.name === 'RequestTimeout') return 'timeout';
  if (
    /socket hang up|timed? ?out|premature close|connection (lost|reset|closed)|ECONNRESET|not connected/i.test(
      err.message,
    )
  ) {
    return err.message.slice(0, 120);
  }
  const cause = (err as { cause?: unknown }).cause;
  return cause && cause !== err ? networkFailure(cause) : undefined;
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** An untrusted server certificate: permanent, with what to do about it. */
export function tlsFailure(err: unknown): Verdict | undefined {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 3; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TLS_CODES.has(code)) {
      return {
        kind: 'permanent',
        reason: `TLS certificate not trusted (${code}: ${e.message})`,
        hint: 'use a certificate from a trusted CA, add your CA with NODE_EXTRA_CA_CERTS=/path/ca.pem, or (insecure) skip-verify: true',
      };
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Run `fn` (one remote operation; it must be safe to repeat) under the retry policy.
 * `what` describes the operation for messages ("PUT generations/…/00000001.snapshot.lz4").
 */
export async function withRetry<T>(
  what: string,
  ctx: RetryContext,
  fn: (attempt: number) => Promise<T>,
): Promise<T> {
  const policy = { ...DEFAULT_RETRY, ...ctx.policy };
  let lastReason = '';
  let attempts = 0;
  try {
    return await pRetry(
      async (attempt) => {
        attempts = attempt;
        try {
          return await fn(attempt);
        } catch (err) {
          if (err instanceof ReplicaError || err instanceof ObjectNotFoundError) throw new AbortError(err);
          const verdict = ctx.classify(err);
          if (verdict.kind === 'notfound')
            throw new AbortError(new ObjectNotFoundError(ctx.replica, what.replace(/^[A-Z]+ /, '')));
          if (verdict.kind === 'permanent') {
            throw new AbortError(
              new ReplicaError(ctx.replica, `${what}: ${verdict.reason}`, {
                hint: verdict.hint,
                cause: err,
                transient: false,
              }),
            );
          }
          lastReason = verdict.reason;
          throw err instanceof Error ? err : new Error(String(err));
        }
      },
      {
        retries: policy.retries,
        minTimeout: policy.minTimeout,
        maxTimeout: policy.maxTimeout,
        factor: 2,
        randomize: true,
        onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
          if (retriesLeft > 0) {
            ctx.logger?.warn(
              { replica: ctx.replica, attempt: attemptNumber, retriesLeft, reason: lastReason },
              `${what} failed (${lastReason}), retrying`,
            );
          }
          await ctx.onTransient?.(error);
        },
      },
    );
  } catch (err) {
    if (err instanceof ReplicaError || err instanceof ObjectNotFoundError) throw err;
    throw new ReplicaError(
      ctx.replica,
      `${what} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${lastReason || (err as Error).message}`,
      {
        hint: 'the storage was unreachable or overloaded; check that it is up and reachable',
        cause: err,
        transient: true,
      },
    );
  }
}
