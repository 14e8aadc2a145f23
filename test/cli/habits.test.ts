/**
 * CLI habits Litestream and oclif users expect, through the built CLI: `help` and `-h`,
 * did-you-mean for commands and flags, a JSON error object on stdout for every failing --json
 * run, one JSON naming scheme across listings, exit 130 on Ctrl-C at a prompt, progress (MB,
 * rate, ETA) on a terminal only, logs on stdout (JSON: level names, RFC 3339 times), and
 * `-index` read as hexadecimal against a replica with more than 16 WAL indexes written by the
 * real Litestream v0.3.13.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, integrity, prepareCase, tableContents } from '../runtime/restore/fixture-helpers.js';

const ROOT = join(import.meta.dirname, '../..');
const CLI = join(ROOT, 'bin/run.js');
const dirs: string[] = [];

function tmp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

function cli(args: string[], opts: { cwd?: string } = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, LITESTREAM_CONFIG: '/nonexistent/litestream.yml', NO_COLOR: '1' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Run under a pseudo-terminal (util-linux `script`); `onOutput` may type into it. */
function inTerminal(
  command: string,
  onOutput?: (all: string, type: (s: string) => void) => void,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      onOutput?.(out, (s) => p.stdin.write(s));
    });
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

beforeAll(() => {
  expect(existsSync(join(ROOT, 'dist/src/commands/restore.js')), 'run `npm run build` first').toBe(true);
});

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('help and did-you-mean', { timeout: 60_000 }, () => {
  it("`ls-mix help` lists the commands; `-h` prints a command's help", () => {
    const help = cli(['help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^COMMANDS$/m);
    expect(help.stdout).toMatch(/^ {2}restore\s/m);
    expect(help.stdout).toMatch(/^ {2}replicate\s/m);
    const h = cli(['restore', '-h']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^USAGE\n {2}\$ ls-mix restore TARGET/m);
    expect(cli(['help', 'wal']).stdout).toMatch(/\$ ls-mix wal TARGET/);
  });

  it('a mistyped command or flag gets the closest one', () => {
    const cmd = cli(['restor', 'x']);
    expect(cmd.code).toBe(127);
    expect(cmd.stderr).toContain('Did you mean "ls-mix restore"?');
    const flag = cli(['restore', '-generaton', 'x', 'file:///tmp/none']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('Did you mean --generation?');
  });

  it('on a terminal, a mistyped command asks and runs the answer; "n" exits 127', async () => {
    const ask = (word: string, answer: string) => {
      let sent = false;
      return inTerminal(`node ${CLI} ${word}`, (all, type) => {
        if (!sent && /Did you mean .*\?/.test(all)) {
          sent = true;
          type(answer);
        }
      });
    };
    const yes = await ask('versio', 'y\r');
    expect(yes.code).toBe(0);
    expect(yes.out).toMatch(/\d+\.\d+\.\d+\s*$/); // the version command ran
    const no = await ask('restor x', 'n\r');
    expect(no.code).toBe(127);
    expect(no.out).toContain('for a list of available commands');
  });
});

describe('--json', { timeout: 60_000 }, () => {
  it.each([
    [
      ['restore', '/data/app.db', '--json'],
      'UserError',
      1,
      /^config file not found: \/nonexistent\/litestream\.yml$/,
    ],
    [['wal', 'ftp://host/x', '--json'], 'UserError', 1, /^invalid replica URL "ftp:\/\/host\/x"/],
    [['restore', '--json', '-nope', 'file:///tmp/none'], 'UsageError', 2, /^Nonexistent flag: --nope/],
    [
      ['verify', 'file:///nonexistent-replica', '--json', '--parallelism', '0'],
      'UsageError',
      2,
      /parallelism/,
    ],
  ])('%j prints one JSON error object on stdout', (args, name, exitCode, message) => {
    const r = cli(args);
    expect(r.code).toBe(exitCode);
    const out = JSON.parse(r.stdout) as { error: { name: string; message: string; exitCode: number } };
    expect(out.error.name).toBe(name);
    expect(out.error.exitCode).toBe(exitCode);
    expect(out.error.message).toMatch(message);
  });

  it('listings share one naming scheme (camelCase, times as ...At)', () => {
    const d = prepareCase('two-generations');
    dirs.push(d);
    const url = `file://${join(d, 'replica')}`;
    const keys = (args: string[]) =>
      Object.keys((JSON.parse(cli([...args, url, '--json']).stdout) as object[])[0]);
    expect(keys(['generations'])).toEqual(['replica', 'generation', 'lagMs', 'createdAt', 'updatedAt']);
    expect(keys(['snapshots'])).toEqual(['replica', 'generation', 'index', 'size', 'createdAt']);
    expect(keys(['wal'])).toEqual(['replica', 'generation', 'index', 'offset', 'size', 'createdAt']);
  });
});

describe('-index is hexadecimal, as in Litestream (many-indexes: WAL indexes 1..0x1b)', {
  timeout: 120_000,
}, () => {
  it.each([
    [[] as string[], 'latest.db', '0000001b'],
    [['-index', 'a'], 'index-a.db', '0000000a'],
    [['-index', '10'], 'index-10.db', '00000010'],
  ])('restore %j equals what Litestream restored', (args, expected, index) => {
    const d = prepareCase('many-indexes');
    dirs.push(d);
    const out = join(d, 'out.db');
    const r = cli(['restore', ...args, '-o', out, `file://${join(d, 'replica')}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`snapshot 00000001, WAL index ${index}`);
    expect(tableContents(out).json).toBe(
      tableContents(join(FIXTURES, 'many-indexes/expected', expected)).json,
    );
    expect(integrity(out)).toBe('ok');
  });

  it('listings print indexes and offsets as %08x; a bad -index names the format', () => {
    const d = prepareCase('many-indexes');
    dirs.push(d);
    const url = `file://${join(d, 'replica')}`;
    const wal = cli(['wal', url]).stdout.trim().split('\n');
    expect(wal.at(-1)).toMatch(/^file\s+b91176ba17be068e\s+0000001b\s+00001038\s+\d+\s+\d{4}-/);
    expect(cli(['snapshots', url]).stdout).toMatch(/^file\s+b91176ba17be068e\s+00000001\s+\d+\s+/m);
    const bad = cli(['restore', '-index', '1g', '-o', join(d, 'x.db'), url]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.split('\n')[0]).toBe('Error: invalid -index "1g"');
  });
});

describe('terminals', { timeout: 120_000 }, () => {
  it('Ctrl-C at a prompt exits 130 without an internal message', async () => {
    const proj = tmp('ctrlc-');
    cpSync(join(ROOT, 'test/fixtures/projects/express'), proj, { recursive: true });
    expect(cli(['add', 'litestream-aws', '--dir', proj]).code).toBe(0);
    appendFileSync(join(proj, 'litestream.yml'), '# mine\n');
    let sent = false;
    const r = await inTerminal(`node ${CLI} add litestream-aws --dir ${proj}`, (all, type) => {
      if (!sent && /Overwrite litestream\.yml/.test(all)) {
        sent = true;
        setTimeout(() => type('\x03'), 300);
      }
    });
    expect(sent).toBe(true);
    expect(r.code).toBe(130);
    expect(r.out).toContain('Interrupted');
    expect(r.out).not.toMatch(/force closed|ExitPromptError|--verbose/);
  });

  it('restore shows MB, rate and ETA on a terminal, nothing without one', async () => {
    const d = prepareCase('many-indexes');
    dirs.push(d);
    const url = `file://${join(d, 'replica')}`;
    const r = await inTerminal(`node ${CLI} restore -o ${join(d, 'tty.db')} ${url}`);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/restore \w+ \[.*\] \d+% \| \d+\.\d\/\d+\.\d MB \| \d+\.\d MB\/s \| ETA (\d+s|-)/);
    const plain = cli(['restore', '-o', join(d, 'pipe.db'), url]);
    expect(plain.code).toBe(0);
    expect(plain.stderr).toBe('');
  });
});

describe('snapshot progress', { timeout: 120_000 }, () => {
  it('snapshot shows MB, rate and ETA on a terminal, nothing without one', async () => {
    const d = tmp('snap-');
    const db = join(d, 'app.db');
    // ~8 MB, so the bar has something to count.
    execFileSync('sqlite3', [
      db,
      'PRAGMA journal_mode=wal; CREATE TABLE t(v); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<2000) INSERT INTO t SELECT randomblob(4000) FROM n;',
    ]);
    const config = join(d, 'litestream.yml');
    writeFileSync(config, `dbs:\n  - path: ${db}\n    replicas:\n      - url: file://${join(d, 'r')}\n`);
    const r = await inTerminal(`node ${CLI} snapshot -config ${config} ${db}`);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /snapshot file upload \[.*\] \d+% \| \d+(\.\d)?\/\d+(\.\d)? MB \| \d+\.\d MB\/s \| ETA (\d+s|-)/,
    );
    expect(r.out).toMatch(/snapshot written: replica=file/);
    const plain = cli(['snapshot', '-config', config, db]);
    expect(plain.code).toBe(0);
    expect(plain.stderr).toBe('');
    expect(plain.stdout).toMatch(/^snapshot written: replica=file /);
  });
});

describe('logs', { timeout: 120_000 }, () => {
  function replicateOnce(logging: string) {
    const d = tmp('logs-');
    const config = join(d, 'litestream.yml');
    // replicate never creates a db (it waits for the app to): create the app's db first.
    execFileSync('sqlite3', [join(d, 'app.db'), 'PRAGMA journal_mode=wal; CREATE TABLE t(x);']);
    writeFileSync(
      config,
      `${logging}dbs:\n  - path: ${join(d, 'app.db')}\n    replicas:\n      - url: file://${join(d, 'r')}\n`,
    );
    const r = spawnSync(process.execPath, [CLI, 'replicate', '-config', config, '-exec', 'true'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it('go to stdout by default, to stderr with logging.stderr: true', () => {
    const out = replicateOnce('');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/INFO.*final sync done/);
    expect(out.stderr).toBe('');
    const err = replicateOnce('logging:\n  stderr: true\n');
    expect(err.stdout).toBe('');
    expect(err.stderr).toMatch(/INFO.*final sync done/);
  });

  it('JSON logs carry level names and RFC 3339 times', () => {
    const r = replicateOnce('logging:\n  type: json\n  level: WARNING\n');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(''); // WARNING (case-insensitive, slog's spelling) hides info lines
    const info = replicateOnce('logging:\n  type: json\n');
    const lines = info.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: unknown; time: unknown; msg: string });
    expect(lines.length).toBeGreaterThan(2);
    for (const l of lines) {
      expect(['info', 'warn', 'debug', 'error']).toContain(l.level);
      expect(l.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    }
    expect(lines.map((l) => l.msg)).toContain('final sync done');
  });
});
