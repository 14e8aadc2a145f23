/**
 * The direct entry (src/direct.ts) must read every argv it accepts exactly as oclif does, and
 * hand everything else to oclif; a plain restore or replicate must not load @oclif/core at all.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Parser } from '@oclif/core';
import { afterAll, describe, expect, it } from 'vitest';
import { normalizeArgv } from '../../src/argv.js';
import Replicate from '../../src/commands/replicate.js';
import Restore from '../../src/commands/restore.js';
import { type DirectCommand, directCommands, parseDirect } from '../../src/direct.js';
import { assertBuilt, cli } from './harness.js';

const classes = { restore: Restore, replicate: Replicate } as const;

async function parseWithOclif(command: DirectCommand, argv: string[]) {
  // The two classes' flag types differ; the parser only needs them as inputs.
  const C = classes[command] as unknown as typeof Restore;
  try {
    const out = await Parser.parse(argv, {
      flags: { ...C.baseFlags, ...C.flags },
      args: C.args,
      strict: C.strict,
      context: undefined,
    });
    return { flags: out.flags as Record<string, unknown>, argv: out.argv as string[] };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

const cases: Record<DirectCommand, string[][]> = {
  restore: [
    ['db'],
    ['-o', 'out.db', 'db'],
    ['db', '-o', 'out.db'],
    ['--output=out.db', 's3://bucket/app'],
    ['-config', '/etc/litestream.yml', '-replica', 's3', '-if-db-not-exists', '/data/app.db'],
    ['-parallelism', '1', '-integrity', 'full', 'db'],
    ['-parallelism', '64', '-integrity', 'none', '-if-replica-exists', 'db'],
    ['-parallelism', '0', 'db'],
    ['-parallelism', '65', 'db'],
    ['-parallelism', '1.5', 'db'],
    ['-parallelism', '08', 'db'],
    ['-integrity', 'fast', 'db'],
    ['-index', '1a', '-generation', 'abcdef0123456789', 'db'],
    ['-timestamp', '2026-11-22T01:59:05Z', '-no-expand-env', '-verbose', 'db'],
    ['-ox.db', 'db'],
    ['-o=x.db', 'db'],
    ['-o', 'a.db', '-o', 'b.db', 'db'],
    ['-output', '', 'db'],
    ['-o', '-x', 'db'],
    ['--', '-o', 'db'],
    ['-json', 'db'],
    ['-help'],
    ['-h', 'db'],
    ['-nope', 'db'],
    [],
    ['db', 'extra'],
    ['-if-db-not-exists=true', 'db'],
  ],
  replicate: [
    [],
    ['-config', '/etc/litestream.yml'],
    ['/data/app.db', 's3://bucket/app', 'file:///backups/app'],
    ['-exec', 'node server.js'],
    ['-exec', 'node server.js', '-shutdown-sync-timeout', '5s', '-resync'],
    ['-verbose', '/data/app.db', 'file:///b'],
    ['/data/app.db', '-exec', 'npm start', 'file:///b'],
    ['-exec', '-x'],
    ['--', '-exec'],
    ['-nope'],
    ['-resync=false'],
    ['-config', 'a.yml', '-config', 'b.yml'],
  ],
};

describe('direct entry: the same reading of argv as oclif', () => {
  for (const command of ['restore', 'replicate'] as const) {
    for (const args of cases[command]) {
      it(`${command} ${args.join(' ')}`, async () => {
        const argv = normalizeArgv(['node', 'ls-mix', command, ...args]).slice(3);
        const direct = parseDirect(command, argv);
        const oclif = await parseWithOclif(command, argv);
        if (!direct) return; // oclif parses it, as before
        expect(oclif.error).toBeUndefined();
        for (const name of Object.keys(directCommands[command].rules)) {
          expect({ name, value: direct.flags[name] }).toEqual({ name, value: oclif.flags?.[name] });
        }
        expect(direct.args).toEqual(oclif.argv);
      });
    }
  }

  it('takes the plain cases itself and leaves help, --json and bad input to oclif', () => {
    const take = (command: string, ...args: string[]) =>
      parseDirect(command, normalizeArgv(['node', 'ls-mix', command, ...args]).slice(3)) !== undefined;
    expect(take('restore', '-o', 'out.db', '-parallelism', '8', 's3://b/app')).toBe(true);
    expect(take('replicate', '-config', '/etc/litestream.yml')).toBe(true);
    expect(take('replicate', '-exec', 'node server.js')).toBe(true);
    expect(take('restore', '-help')).toBe(false);
    expect(take('restore', '-json', 'db')).toBe(false);
    expect(take('restore', '-parallelism', '0', 'db')).toBe(false);
    expect(take('restore', 'db', 'extra')).toBe(false);
    expect(take('restore')).toBe(false);
    expect(take('replicate', '-nope')).toBe(false);
    expect(take('generations', 'db')).toBe(false);
  });

  it('declares every flag of the oclif commands, with the same short names, defaults and choices', () => {
    for (const command of ['restore', 'replicate'] as const) {
      const C = classes[command];
      const oclifFlags = { ...C.baseFlags, ...C.flags } as Record<
        string,
        { type: string; char?: string; default?: unknown; options?: string[] }
      >;
      const rules = directCommands[command].rules as Record<
        string,
        { type: string; short?: string; default?: unknown; options?: readonly string[] }
      >;
      expect(Object.keys(rules).sort()).toEqual(Object.keys(oclifFlags).sort());
      for (const [name, flag] of Object.entries(oclifFlags)) {
        const rule = rules[name];
        expect({ name, type: rule.type }).toEqual({
          name,
          type: flag.type === 'boolean' ? 'boolean' : 'string',
        });
        expect({ name, short: rule.short }).toEqual({ name, short: flag.char });
        expect({ name, default: rule.default }).toEqual({ name, default: flag.default });
        expect({ name, options: rule.options }).toEqual({ name, options: flag.options });
      }
    }
  });
});

describe('direct entry: the built CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ls-mix-direct-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // Reports at exit whether @oclif/core was loaded, and which of the packages a plain restore
  // should do without (all CommonJS: loaded ones land in require.cache).
  const probe = join(dir, 'probe.cjs');
  writeFileSync(
    probe,
    `const watched = ['yaml', 'pino', 'pino-pretty', 'cli-progress', 'zod'];
process.on('exit', () => {
  const keys = Object.keys(require.cache);
  const has = (name) => keys.some((k) => k.includes('/node_modules/' + name + '/'));
  process.stderr.write('oclif-loaded=' + has('@oclif/core') + '\\n');
  process.stderr.write('loaded=' + watched.filter(has).join(',') + '\\n');
});
`,
  );
  const FIXTURE = join(import.meta.dirname, '../fixtures/litestream-v0.3.13/basic/replica');

  it('runs a plain restore without oclif, with the same error and exit code', () => {
    assertBuilt();
    const env = { NODE_OPTIONS: `--require ${probe}` };
    const missing = `file://${join(dir, 'no-replica')}`;
    const direct = cli(['restore', '-o', join(dir, 'out.db'), missing], { env });
    expect(direct.stderr).toContain('oclif-loaded=false');
    expect(direct.stderr).toMatch(/^Error: .*no backups/m);
    expect(direct.code).toBe(1);
    // --json goes through oclif: the same failure, as JSON.
    const viaOclif = cli(['restore', '-json', '-o', join(dir, 'out.db'), missing], { env });
    expect(viaOclif.stderr).toContain('oclif-loaded=true');
    expect(viaOclif.code).toBe(1);
    const json = JSON.parse(viaOclif.stdout) as { error: { message: string } };
    expect(direct.stderr).toContain(`Error: ${json.error.message}\n`);
  });

  it('a plain restore loads no YAML parser, logger or progress bar until it needs one', () => {
    assertBuilt();
    const env = { NODE_OPTIONS: `--require ${probe}` };
    const plain = cli(['restore', '-o', join(dir, 'plain.db'), `file://${FIXTURE}`], { env });
    expect(plain.code).toBe(0);
    expect(plain.stderr).toContain('loaded=\n');
    // A config file needs the YAML parser; -v logs its debug lines through pino-pretty.
    const config = join(dir, 'litestream.yml');
    writeFileSync(
      config,
      `dbs:\n  - path: ${join(dir, 'app.db')}\n    replicas:\n      - url: file://${FIXTURE}\n`,
    );
    const withConfig = cli(
      ['restore', '--verbose', '-config', config, '-o', join(dir, 'config.db'), join(dir, 'app.db')],
      {
        env,
      },
    );
    expect(withConfig.code).toBe(0);
    expect(withConfig.stderr).toMatch(/^loaded=yaml,pino,pino-pretty$/m);
    expect(withConfig.stdout + withConfig.stderr).toContain('snapshot downloaded');
  });

  it('leaves a bad flag to oclif, which names it', () => {
    const r = cli(['restore', '-paralelism', '2', 'db']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Did you mean --parallelism?');
  });

  it('runs replicate without oclif and reports its errors the same way', () => {
    const r = cli(['replicate', join(dir, 'app.db')], { env: { NODE_OPTIONS: `--require ${probe}` } });
    expect(r.stderr).toContain('oclif-loaded=false');
    expect(r.stderr).toContain('Error: no replica URL given for');
    expect(r.stderr).toContain('Hint: Usage: ls-mix replicate DB_PATH REPLICA_URL...');
    expect(r.code).toBe(1);
  });
});
