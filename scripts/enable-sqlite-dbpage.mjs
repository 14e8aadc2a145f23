#!/usr/bin/env node
/**
 * Rebuild better-sqlite3's native module with SQLITE_ENABLE_DBPAGE_VTAB (the `sqlite_dbpage`
 * virtual table live read replicas write pages through), from its own bundled amalgamation and
 * with all of its other compile-time defines kept.
 *
 * Idempotent: exits at once when the installed module already has the table. Otherwise it builds
 * a copy of the package in a temp folder, checks the result loads and has the table, and only
 * then renames it over build/Release/better_sqlite3.node — other processes using the module are
 * never left without a binary, nor with a half-written one.
 *
 * Usage: node scripts/enable-sqlite-dbpage.mjs [--check] [--force]
 *   --check  only report (exit 0 when enabled, 1 when not)
 *   --force  rebuild even when the table is already there
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const DEFINE = 'SQLITE_ENABLE_DBPAGE_VTAB';
const args = new Set(process.argv.slice(2));
const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function log(msg) {
  process.stderr.write(`enable-sqlite-dbpage: ${msg}\n`);
}

function fail(msg) {
  log(`error: ${msg}`);
  process.exit(1);
}

/** better-sqlite3's package folder, as the project resolves it. */
function packageDir() {
  const require = createRequire(join(projectRoot, 'package.json'));
  try {
    return dirname(require.resolve('better-sqlite3/package.json'));
  } catch {
    fail('better-sqlite3 is not installed (run npm install first)');
  }
}

/**
 * Does this binary (default: the installed one) have sqlite_dbpage? Asked in a child process:
 * a loaded native module cannot be unloaded, so this process could never see a new one.
 */
function probe(pkg, binary) {
  const code = `
    const Database = require(${JSON.stringify(pkg)});
    const opts = ${binary ? `{ nativeBinding: ${JSON.stringify(binary)} }` : '{}'};
    const db = new Database(':memory:', opts);
    const version = db.prepare('select sqlite_version() v').get().v;
    let dbpage = true;
    try { db.prepare('select count(*) from sqlite_dbpage').get(); } catch { dbpage = false; }
    process.stdout.write(JSON.stringify({ version, dbpage }));
  `;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
  if (r.status !== 0) return { error: (r.stderr || '').trim().split('\n').slice(-1)[0] || 'load failed' };
  return JSON.parse(r.stdout);
}

/** node-gyp: the one npm runs install scripts with, else npm's bundled copy, else PATH. */
function nodeGypCommand() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(
      dirname(process.execPath),
      '..',
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    ),
  ].filter(Boolean);
  for (const c of candidates) if (existsSync(c)) return [process.execPath, c];
  return ['node-gyp'];
}

/** The Node version whose headers sit in `dir` (include/node/node_version.h), or undefined. */
function headersVersion(dir) {
  try {
    const h = readFileSync(join(dir, 'include', 'node', 'node_version.h'), 'utf8');
    const part = (name) => h.match(new RegExp(`#define ${name} (\\d+)`))?.[1];
    return `v${part('NODE_MAJOR_VERSION')}.${part('NODE_MINOR_VERSION')}.${part('NODE_PATCH_VERSION')}`;
  } catch {
    return undefined;
  }
}

/**
 * node-gyp's environment, with headers that match the node running this. Headers installed
 * beside it (Debian/nodesource layout, the official tarballs) spare a download. npm's `nodedir`
 * setting reaches node-gyp as npm_config_nodedir and wins over --nodedir; a distribution's npm
 * may point it at the system Node's headers, which would build for the wrong ABI — so it is
 * set to ours, or dropped (node-gyp then fetches the right headers) when it names another version.
 */
function nodeGypEnv() {
  const env = { ...process.env };
  const prefix = resolve(dirname(process.execPath), '..');
  if (headersVersion(prefix) === process.version) {
    env.npm_config_nodedir = prefix;
  } else if (env.npm_config_nodedir && headersVersion(env.npm_config_nodedir) !== process.version) {
    log(`ignoring npm's nodedir ${env.npm_config_nodedir}: its headers are not Node ${process.version}'s`);
    delete env.npm_config_nodedir;
  }
  return env;
}

function addDefine(definesFile) {
  const text = readFileSync(definesFile, 'utf8');
  if (text.includes(`'${DEFINE}'`)) return;
  const marker = "'defines': [";
  const at = text.indexOf(marker);
  if (at < 0) fail(`unexpected format of ${definesFile}: no 'defines' list`);
  const end = at + marker.length;
  writeFileSync(definesFile, `${text.slice(0, end)}\n    '${DEFINE}',${text.slice(end)}`);
}

/** One builder at a time: a second run waits for the first and then finds the table there. */
function withLock(fn) {
  const lock = join(tmpdir(), 'ls-mix-enable-sqlite-dbpage.lock');
  for (let i = 0; ; i++) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch {
      const pid = Number(readFileSync(lock, 'utf8'));
      let alive = false;
      try {
        process.kill(pid, 0);
        alive = true;
      } catch {}
      if (!alive) {
        rmSync(lock, { force: true });
        continue;
      }
      if (i === 0) log(`another build (pid ${pid}) is running; waiting for it`);
      execFileSync('sleep', ['2']);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

function main() {
  const pkg = packageDir();
  const target = join(pkg, 'build', 'Release', 'better_sqlite3.node');
  const before = existsSync(target) ? probe(pkg) : { error: 'no native binary' };
  if (args.has('--check')) {
    if (before.dbpage) log(`sqlite_dbpage is enabled (SQLite ${before.version})`);
    else log(`sqlite_dbpage is NOT enabled${before.error ? ` (${before.error})` : ''}`);
    process.exit(before.dbpage ? 0 : 1);
  }
  if (before.dbpage && !args.has('--force')) {
    log(`sqlite_dbpage already enabled (SQLite ${before.version}); nothing to do`);
    return;
  }
  withLock(() => {
    const again = existsSync(target) ? probe(pkg) : {};
    if (again.dbpage && !args.has('--force')) {
      log('sqlite_dbpage was enabled by a concurrent run; nothing to do');
      return;
    }
    const work = mkdtempSync(join(tmpdir(), 'better-sqlite3-dbpage-'));
    try {
      const src = join(work, 'better-sqlite3');
      cpSync(pkg, src, { recursive: true, filter: (p) => !p.startsWith(join(pkg, 'build')) });
      addDefine(join(src, 'deps', 'defines.gypi'));
      const [cmd, ...pre] = nodeGypCommand();
      const gypArgs = [...pre, 'rebuild', '--release', '--jobs=2'];
      log(`building better-sqlite3 with -D${DEFINE} in ${src} (takes a few minutes)`);
      const r = spawnSync(cmd, gypArgs, {
        cwd: src,
        env: nodeGypEnv(),
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      if (r.status !== 0)
        fail(`node-gyp failed (exit ${r.status ?? r.signal}); needs python3, make and a C++ compiler`);
      const built = join(src, 'build', 'Release', 'better_sqlite3.node');
      const check = probe(pkg, built);
      if (!check.dbpage) fail(`the new build does not expose sqlite_dbpage (${check.error ?? 'unknown'})`);
      // Same folder as the target, so the rename below is atomic.
      const staged = join(dirname(target), `.better_sqlite3.node.${randomBytes(4).toString('hex')}.tmp`);
      copyFileSync(built, staged);
      try {
        renameSync(staged, target);
      } catch (err) {
        if (existsSync(staged)) unlinkSync(staged);
        throw err;
      }
      const after = probe(pkg);
      if (!after.dbpage) fail('installed the new build but it does not load; reinstall better-sqlite3');
      log(`done: ${target} now has sqlite_dbpage (SQLite ${after.version})`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
}

main();
