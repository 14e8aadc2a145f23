import { Command, Flags } from '@oclif/core';
import { closest, distance } from 'fastest-levenshtein';
import { isUserError } from '../runtime/errors.js';
import { printJsonError, reportUnexpectedError, reportUserError } from './run/errors.js';

export type { JsonError } from './run/errors.js';

/** Exit code of a command stopped by Ctrl-C (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

/**
 * Every ls-mix command extends this: a `--verbose` flag, and errors printed as one clear
 * line (plus a hint) instead of a stack trace; with --json, also a JSON error object on stdout.
 * UserErrors carry their own exit code; Ctrl-C at a prompt exits 130.
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

  /** --json anywhere before `--` (even when parsing failed, so jsonEnabled() cannot tell). */
  private get wantsJson(): boolean {
    const end = this.argv.indexOf('--');
    return (end < 0 ? this.argv : this.argv.slice(0, end)).includes('--json');
  }

  /** "Did you mean --generation?" for a mistyped flag (oclif only says it does not exist). */
  private flagSuggestion(message: string): string | undefined {
    const m = /^Nonexistent flags?: -{1,2}([\w-]+)/.exec(message);
    if (!m) return undefined;
    const ctor = this.constructor as typeof Command;
    const names = Object.keys({ ...ctor.baseFlags, ...ctor.flags });
    if (ctor.enableJsonFlag) names.push('json');
    if (names.length === 0) return undefined;
    const guess = closest(m[1], names);
    return distance(m[1], guess) <= Math.max(2, Math.floor(m[1].length / 3))
      ? `Did you mean --${guess}? (Litestream's single-dash -${guess} works too.)`
      : `Run ls-mix ${this.id?.replaceAll(':', ' ') ?? ''} --help for the flags.`;
  }

  protected override async catch(
    err: Error & { exitCode?: number; oclif?: { exit?: number } },
  ): Promise<unknown> {
    // @inquirer/prompts: Ctrl-C (or a closed terminal) at a prompt.
    if (err.name === 'ExitPromptError' || err.name === 'AbortPromptError') {
      if (this.wantsJson) printJsonError('Interrupted', 'interrupted', EXIT_INTERRUPTED);
      process.stderr.write('\nInterrupted: nothing more was written.\n');
      this.exit(EXIT_INTERRUPTED);
    }
    if (isUserError(err)) this.exit(reportUserError(err, { json: this.wantsJson, verbose: this.verbose }));
    // this.exit() inside run() is not a failure.
    if (err.oclif?.exit === 0) return super.catch(err);
    const flagHint = this.flagSuggestion(err.message);
    if (flagHint) err.message = `${err.message.split('\n')[0]}\n${flagHint}`;
    if (this.wantsJson) {
      const exitCode = err.oclif?.exit ?? 1;
      printJsonError(err.oclif ? 'UsageError' : (err.name ?? 'Error'), err.message, exitCode);
      process.stderr.write(`Error: ${err.message.split('\n')[0]}\n`);
      this.exit(exitCode);
    }
    // oclif's own errors (bad flags, exit()) already read well.
    if (err.oclif) return super.catch(err);
    this.exit(reportUnexpectedError(err, { verbose: this.verbose }));
  }
}
