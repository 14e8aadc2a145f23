import { Command, Flags } from '@oclif/core';
import { isUserError } from '../runtime/errors.js';

/**
 * Every ls-mix command extends this: a `--verbose` flag, and errors printed as one clear
 * line (plus a hint) instead of a stack trace. UserErrors carry their own exit code.
 */
export abstract class BaseCommand extends Command {
  static override baseFlags = {
    verbose: Flags.boolean({
      description: 'Print stack traces and debug logs.',
      default: false,
      helpGroup: 'GLOBAL',
    }),
  };

  protected get verbose(): boolean {
    return this.argv.includes('--verbose');
  }

  protected override async catch(
    err: Error & { exitCode?: number; oclif?: { exit?: number } },
  ): Promise<unknown> {
    if (isUserError(err)) {
      process.stderr.write(`Error: ${err.message}\n`);
      if (err.hint) process.stderr.write(`Hint: ${err.hint}\n`);
      if (this.verbose && err.stack) process.stderr.write(`${err.stack}\n`);
      this.exit(err.exitCode);
    }
    // oclif's own errors (bad flags, exit()) already read well.
    if (err.oclif || !this.verbose) {
      if (!err.oclif) {
        process.stderr.write(`Error: ${err.message}\nRun again with --verbose for details.\n`);
        this.exit(1);
      }
      return super.catch(err);
    }
    process.stderr.write(`${err.stack ?? err.message}\n`);
    this.exit(1);
  }
}
