/**
 * Did-you-mean for a mistyped command. On a terminal, @oclif/plugin-not-found asks "Did you mean
 * ...?" and runs the answer; in a script or CI it would only say the command does not exist, so
 * this hook names the closest command first, then hands over to the plugin's hook. The plugin is
 * not listed in `oclif.plugins`: oclif runs the hooks of different plugins at once, and the
 * plugin's exit (127) could come before this hook had loaded and printed (seen on Node 22/24
 * with NODE_ENV=test, where oclif loads the project's own hooks through tsx).
 */
import type { Hook } from '@oclif/core';
import notFound from '@oclif/plugin-not-found';
import { closest, distance } from 'fastest-levenshtein';

const hook: Hook<'command_not_found'> = async function (opts) {
  if (!process.stdin.isTTY) {
    const ids = opts.config.commands.filter((c) => !c.hidden).flatMap((c) => [c.id, ...c.aliases]);
    const guess = ids.length > 0 ? closest(opts.id, ids) : undefined;
    if (guess !== undefined && distance(opts.id, guess) <= Math.max(2, Math.floor(opts.id.length / 3))) {
      process.stderr.write(`Did you mean "${opts.config.bin} ${guess.replaceAll(':', ' ')}"?\n`);
    }
  }
  return notFound.call(this, opts);
};

export default hook;
