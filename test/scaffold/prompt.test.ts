/**
 * On a terminal, `ls-mix new` without --mix asks where the backups go (@inquirer/prompts).
 * `script` (util-linux, Debian's essential bsdutils) gives the built binary a real PTY; keys
 * are typed once the prompt is on screen.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, BIN, tempDirs } from './helpers.js';

const dirs = tempDirs();
afterEach(() => dirs.cleanup());
beforeAll(() => assertBuilt());

/** Runs `ls-mix new ...` on a PTY; each [waitFor, keys] step types keys once waitFor was printed. */
async function onTerminal(cwd: string, args: string[], steps: [string, string][]) {
  const command = ['node', BIN, 'new', ...args].map((a) => `'${a}'`).join(' ');
  const proc = execa('script', ['-qec', command, '/dev/null'], {
    cwd,
    env: { TERM: 'xterm' },
    reject: false,
    timeout: 60_000,
    stdin: 'pipe',
  });
  let screen = '';
  let next = 0;
  proc.stdout?.on('data', (chunk: Buffer) => {
    screen += chunk.toString();
    while (next < steps.length && screen.includes(steps[next][0])) {
      proc.stdin?.write(steps[next][1]);
      next++;
    }
  });
  const result = await proc;
  return { ...result, screen, typed: next };
}

const DOWN = '\u001b[B';

describe('ls-mix new on a terminal', () => {
  it('asks for the mix; the choice is applied', async () => {
    const cwd = dirs.make();
    const r = await onTerminal(
      cwd,
      ['-t', 'node', 'Tty', '--no-git'],
      [
        ['Where should the SQLite backups go?', DOWN],
        ['to Azure Blob Storage', '\r'],
      ],
    );
    expect(r.typed).toBe(2);
    expect(r.exitCode, r.screen).toBe(0);
    expect(JSON.parse(readFileSync(join(cwd, 'Tty/.ls-mix.json'), 'utf8')).mixes).toEqual([
      'litestream-azure',
    ]);
  });

  it('does not ask with --yes', async () => {
    const cwd = dirs.make();
    const r = await onTerminal(cwd, ['-t', 'node', 'Yes', '--no-git', '--yes'], []);
    expect(r.exitCode, r.screen).toBe(0);
    expect(r.screen).not.toContain('Where should the SQLite backups go?');
    expect(JSON.parse(readFileSync(join(cwd, 'Yes/.ls-mix.json'), 'utf8')).mixes).toEqual(['litestream-aws']);
  });

  it('Ctrl+C at the prompt exits 130 and creates nothing', async () => {
    const cwd = dirs.make();
    const r = await onTerminal(
      cwd,
      ['-t', 'node', 'Gone'],
      [['Where should the SQLite backups go?', '\u0003']],
    );
    expect(r.exitCode).toBe(130);
    expect(r.screen).toContain('Cancelled: nothing was created.');
    expect(existsSync(join(cwd, 'Gone'))).toBe(false);
    expect(readdirSync(cwd)).toEqual([]);
  });
});
