/**
 * 6. Generator: cold wall time of `ls-mix add litestream-aws --dry-run` on the node (express)
 * fixture project, a fresh process each time; baselines: `node -e 0` and `ls-mix --version`.
 */
import { join } from 'node:path';
import { QUICK } from '../lib/env.js';
import { CLI, ROOT, timed } from '../lib/proc.js';
import { type Summary, summarize } from '../lib/stats.js';

export interface GeneratorResult {
  addDryRunSeconds: Summary;
  versionSeconds: Summary;
  nodeSeconds: Summary;
}

export async function benchGenerator(): Promise<GeneratorResult> {
  const repeats = QUICK ? 3 : 7;
  const fixture = join(ROOT, 'test/fixtures/projects/express');
  const add: number[] = [];
  const version: number[] = [];
  const node: number[] = [];
  for (let i = 0; i < repeats; i++) {
    add.push(
      (await timed(process.execPath, [CLI, 'add', 'litestream-aws', '--dry-run', '--dir', fixture])).wall,
    );
    version.push((await timed(process.execPath, [CLI, '--version'])).wall);
    node.push((await timed(process.execPath, ['-e', '0'])).wall);
  }
  return {
    addDryRunSeconds: summarize(add),
    versionSeconds: summarize(version),
    nodeSeconds: summarize(node),
  };
}
