import { describe, expect, it } from 'vitest';
import { normalizeArgv } from '../../src/argv.js';

describe('normalizeArgv', () => {
  const run = (...args: string[]) => normalizeArgv(['node', 'ls-mix', ...args]).slice(2);

  it('turns Litestream single-dash long flags into double-dash ones', () => {
    expect(run('restore', '-config', 'a.yml', '-if-db-not-exists', '-o', 'out.db', 'db')).toEqual([
      'restore',
      '--config',
      'a.yml',
      '--if-db-not-exists',
      '-o',
      'out.db',
      'db',
    ]);
  });

  it('keeps values, negative numbers and everything after --', () => {
    expect(run('restore', '-index', '-1', '--', '-exec')).toEqual([
      'restore',
      '--index',
      '-1',
      '--',
      '-exec',
    ]);
    expect(run('-timestamp=2026-01-01T00:00:00Z')).toEqual(['--timestamp=2026-01-01T00:00:00Z']);
  });
});
