/**
 * Interactive conflict resolution (TTY only): per conflicting file, ask
 * yes / no / all / diff / quit. Never used without a terminal: then apply fails safely.
 */
import { UserError } from '../../runtime/errors.js';
import { fileDiff } from './report.js';
import { cleanText } from './text.js';
import type { Plan } from './types.js';

type Answer = 'yes' | 'no' | 'all' | 'diff' | 'quit';

export async function resolveConflictsInteractively(plan: Plan, print: (s: string) => void): Promise<Plan> {
  let all = false;
  const files = [];
  for (const f of plan.files) {
    if (f.status !== 'conflict') {
      files.push(f);
      continue;
    }
    let answer: Answer = all ? 'yes' : 'diff';
    while (answer === 'diff') {
      const { expand } = await import('@inquirer/prompts'); // only when asking: not on every start
      answer = await expand<Answer>({
        message: cleanText(`Overwrite ${f.path}? (${f.reason})`),
        default: 'n',
        choices: [
          {
            key: 'y',
            name: 'Overwrite this file (a copy of yours is kept in .ls-mix/backup/)',
            value: 'yes',
          },
          { key: 'n', name: 'Keep yours', value: 'no' },
          { key: 'a', name: 'Overwrite this and every other conflicting file', value: 'all' },
          { key: 'd', name: 'Show the difference', value: 'diff' },
          { key: 'q', name: 'Quit without writing anything', value: 'quit' },
        ],
      });
      if (answer === 'diff') print(fileDiff(f));
    }
    if (answer === 'quit') throw new UserError('Stopped: nothing was written', { exitCode: 1 });
    if (answer === 'all') all = true;
    files.push(
      answer === 'no'
        ? { ...f, status: 'skip' as const, reason: 'kept yours' }
        : { ...f, status: 'force' as const },
    );
  }
  return { ...plan, files };
}
