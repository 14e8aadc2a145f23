/**
 * An error caused by the user's input or environment (bad config, missing file, refused
 * credentials). The CLI prints `message` (and `hint`) as one clear line, without a stack
 * trace unless --verbose. Never put a secret into either field.
 */
export class UserError extends Error {
  readonly hint?: string;
  readonly exitCode: number;

  constructor(message: string, options: { hint?: string; cause?: unknown; exitCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UserError';
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }
}

export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}

/**
 * The same UserError with `replica "NAME": ` in front (unless it names a replica already), so
 * decode and verify errors deep in a restore say which replica the object came from.
 */
export function withReplica(err: unknown, replica: string): unknown {
  if (!isUserError(err) || err.message.startsWith('replica "')) return err;
  return new UserError(`replica "${replica}": ${err.message}`, {
    hint: err.hint,
    cause: err.cause ?? err,
    exitCode: err.exitCode,
  });
}
