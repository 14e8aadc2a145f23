/**
 * Did-you-mean for a mistyped command when there is no terminal to ask on. On a terminal,
 * @oclif/plugin-not-found asks "Did you mean ...?" and runs the answer; in a script or CI it
 * would only say the command does not exist, so this hook names the closest command there.
 */
import type { Hook } from '@oclif/core';
import { closest, distance } from 'fastest-levenshtein';

const hook: Hook<'command_not_found'> = async (opts) => {
  if (process.stdin.isTTY) return;
  const ids = opts.config.commands.filter((c) => !c.hidden).flatMap((c) => [c.id, ...c.aliases]);
  if (ids.length === 0) return;
  const guess = closest(opts.id, ids);
  if (distance(opts.id, guess) <= Math.max(2, Math.floor(opts.id.length / 3))) {
    process.stderr.write(`Did you mean "${opts.config.bin} ${guess.replaceAll(':', ' ')}"?\n`);
  }
};

export default hook;
