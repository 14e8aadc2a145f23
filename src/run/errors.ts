/**
 * How a failed command reports its error (shared by BaseCommand.catch and the direct entry): one
 * clear line plus a hint instead of a stack trace, the stack with --verbose, and with --json a
 * JSON error object on stdout. Returns the exit code.
 */
import { isUserError } from '../../runtime/errors.js';

/** What every failing `--json` run prints on stdout (one object, whatever failed). */
export interface JsonError {
  error: { name: string; message: string; hint?: string; exitCode: number };
}

export function printJsonError(name: string, message: string, exitCode: number, hint?: string): void {
  const out: JsonError = { error: { name, message, exitCode, ...(hint ? { hint } : {}) } };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

/** A UserError: message, hint, the stack only with --verbose. Returns its exit code. */
export function reportUserError(
  err: Error & { hint?: string; exitCode: number },
  opts: { json: boolean; verbose: boolean },
): number {
  if (opts.json) printJsonError('UserError', err.message, err.exitCode, err.hint);
  process.stderr.write(`Error: ${err.message}\n`);
  if (err.hint) process.stderr.write(`Hint: ${err.hint}\n`);
  if (opts.verbose && err.stack) process.stderr.write(`${err.stack}\n`);
  return err.exitCode;
}

/** Any other error (a bug or an unexpected failure): one line, or the stack with --verbose. */
export function reportUnexpectedError(err: Error, opts: { verbose: boolean }): number {
  if (opts.verbose) process.stderr.write(`${err.stack ?? err.message}\n`);
  else process.stderr.write(`Error: ${err.message}\nRun again with --verbose for details.\n`);
  return 1;
}

/** Either of the above, for the direct entry (which never has --json). */
export function reportError(err: unknown, opts: { verbose: boolean }): number {
  if (isUserError(err)) return reportUserError(err, { json: false, verbose: opts.verbose });
  return reportUnexpectedError(err instanceof Error ? err : new Error(String(err)), opts);
}
