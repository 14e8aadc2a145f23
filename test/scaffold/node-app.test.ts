import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scaffoldProject } from '../../src/scaffold/index.js';
import { freePort, postNotes, startNodeApp, waitForHttp } from './app-process.js';
import { assertBuilt, BIN, REPO_ROOT, runCli, tempDirs } from './helpers.js';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

const version = (dir: string) =>
  JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version as string;

/**
 * `npm install` without compiling better-sqlite3 (~3 min here): packages come from the npm
 * cache first (--prefer-offline; `npm ci` of this checkout put express and better-sqlite3
 * there), install scripts are skipped, and this checkout's compiled better_sqlite3.node is
 * copied in when the versions match; otherwise it is rebuilt.
 */
async function installNodeApp(app: string): Promise<string> {
  // Pin better-sqlite3 to this checkout's version (inside the template's own range) so the
  // compiled module can be reused instead of compiled again.
  const ours = join(REPO_ROOT, 'node_modules/better-sqlite3');
  const pkgFile = join(app, 'package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
  expect(pkg.dependencies['better-sqlite3']).toMatch(new RegExp(`^\\^${version(ours).split('.')[0]}\\.`));
  pkg.dependencies['better-sqlite3'] = version(ours);
  writeFileSync(pkgFile, JSON.stringify(pkg, null, 2));
  await execa('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: app,
    timeout: 300_000,
  });
  const theirs = join(app, 'node_modules/better-sqlite3');
  if (version(ours) === version(theirs)) {
    mkdirSync(join(theirs, 'build/Release'), { recursive: true });
    copyFileSync(
      join(ours, 'build/Release/better_sqlite3.node'),
      join(theirs, 'build/Release/better_sqlite3.node'),
    );
    return `copied the compiled better-sqlite3 ${version(ours)}`;
  }
  await execa('npm', ['rebuild', 'better-sqlite3'], { cwd: app, timeout: 600_000 });
  return `rebuilt better-sqlite3 ${version(theirs)}`;
}

/** Runs the app, writes notes over HTTP, stops it with SIGTERM; returns the db file. */
async function exerciseApp(app: string, notes: number): Promise<string> {
  const port = await freePort();
  const dbPath = join(app, 'data/app.db');
  const proc = startNodeApp(app, { PORT: String(port), DB_PATH: dbPath });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${base}/healthz`, proc);
    await postNotes(base, notes);
    const list = (await (await fetch(`${base}/api/notes?limit=500`)).json()) as { text: string }[];
    expect(list).toHaveLength(notes);
    const bad = await fetch(`${base}/api/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"text":""}',
    });
    expect(bad.status).toBe(400);
  } finally {
    proc.kill('SIGTERM');
  }
  const result = await proc;
  expect(result.exitCode, result.stderr).toBe(0); // graceful shutdown: queued writes committed
  expect(result.stdout).toContain(`listening on http://127.0.0.1:${port}`);
  return dbPath;
}

function checkDb(dbPath: string, notes: number): void {
  const db = new Database(dbPath, { readonly: true });
  try {
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.prepare('SELECT count(*) AS n FROM notes').get()).toEqual({ n: notes });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
  } finally {
    db.close();
  }
}

describe('node template: a real app', () => {
  let app: string;

  beforeAll(async () => {
    const cwd = dirs.make();
    ({ dir: app } = await scaffoldProject({
      template: 'node',
      name: 'Notes Api',
      storage: 'aws',
      cwd,
      git: false,
    }));
    expect(await installNodeApp(app)).toMatch(/better-sqlite3/);
  }, 900_000);

  it('passes its own smoke test (npm test)', async () => {
    const test = await execa('npm', ['test'], { cwd: app, reject: false, timeout: 120_000 });
    expect(test.exitCode, test.stdout + test.stderr).toBe(0);
    expect(test.stdout).toMatch(/# pass 3\b/);
    expect(test.stdout).toMatch(/# fail 0\b/);
  });

  it('serves HTTP on its port and writes its SQLite db', async () => {
    checkDb(await exerciseApp(app, 40), 40);
    // The mix points the container at the same env var and file the app reads.
    expect(readFileSync(join(app, '.deploy/docker-compose.yml'), 'utf8')).toContain('DB_PATH: /data/app.db');
  });

  it('runs under `ls-mix replicate -exec` to a file replica, and `ls-mix restore` brings the data back', async () => {
    assertBuilt();
    const work = dirs.make('ls-mix-e2e-');
    const dbPath = join(app, 'data/e2e.db');
    const replica = `file://${join(work, 'replica')}`;
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const replicate = execa('node', [BIN, 'replicate', '-exec', 'node server/index.js', dbPath, replica], {
      cwd: app,
      env: { PORT: String(port), HOST: '127.0.0.1', DB_PATH: dbPath },
      reject: false,
      timeout: 120_000,
    });
    try {
      await waitForHttp(`${base}/healthz`, replicate);
      await postNotes(base, 100, 'replicated');
    } finally {
      replicate.kill('SIGTERM'); // forwarded to the app; then the final sync
    }
    const run = await replicate;
    expect(run.exitCode, run.stderr).toBe(0); // the app's own exit code
    expect(run.stdout).toContain('final sync done'); // logs go to stdout, as Litestream's

    const restored = join(work, 'restored.db');
    const restore = await runCli(['restore', '-o', restored, replica], { cwd: work });
    expect(restore.exitCode, restore.stderr).toBe(0);
    checkDb(restored, 100);
    const rows = (file: string) => {
      const db = new Database(file, { readonly: true });
      try {
        return db.prepare('SELECT id, text, created_at FROM notes ORDER BY id').all();
      } finally {
        db.close();
      }
    };
    expect(rows(restored)).toEqual(rows(dbPath));
  });
});

// Installing Vite / Next is heavy: the jamstack templates' API server (the same Node server
// as the node template) runs against this checkout's node_modules (express, better-sqlite3).
describe.each(['vue-vite', 'vue-ssg', 'nextjs'])('%s template: its API server', (template) => {
  it('passes its smoke test, serves the API and writes its SQLite db', async () => {
    const cwd = dirs.make();
    const { dir: app } = await scaffoldProject({
      template,
      name: 'Front',
      storage: 'azure',
      cwd,
      git: false,
    });
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(app, 'node_modules'), 'dir');

    const test = await execa('node', ['--test', 'server/smoke.test.js'], {
      cwd: app,
      reject: false,
      timeout: 120_000,
    });
    expect(test.exitCode, test.stdout + test.stderr).toBe(0);
    expect(test.stdout).toMatch(/# pass 3\b/);

    checkDb(await exerciseApp(app, 10), 10);
    expect(existsSync(join(app, 'data/app.db'))).toBe(true);
  });
});
