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
