#!/usr/bin/env node
/**
 * Run part of the test suite under the other Node.js majors users run (22 and 24 by default),
 * beside the machine's own Node. Node binaries come from the npm registry (the official
 * `node-<platform>-<arch>` packages, kept in a cache folder); the tests run in a scratch copy of
 * the project whose native modules (better-sqlite3, ssh2's crypto binding) are rebuilt for that
 * Node (the project's own stay as they are).
 *
 * Usage: node scripts/node-matrix.mjs [--majors 22,24] [test paths...]
 *        node scripts/node-matrix.mjs --bench [--majors 22,24]   (npm run bench:node-matrix)
 *   --bench runs `npm run bench` (its BENCH_* settings pass through) instead of the tests and
 *   keeps each major's results as bench/results/node-<version>.json.
 *   Needs a built project (npm run build), npm, tar, cp and a C++ toolchain (node-gyp).
 *   LS_MIX_NODE_CACHE: where the binaries are kept (default ~/.cache/ls-mix/node).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** What runs under each major: the runtime's CLI, codecs, restore and replicate (~2 min). */
const DEFAULT_TESTS = ['test/cli', 'test/runtime/format', 'test/runtime/restore', 'test/runtime/replicate'];

function fail(msg) {
  process.stderr.write(`node-matrix: error: ${msg}\n`);
  process.exit(1);
}
function log(msg) {
  process.stderr.write(`node-matrix: ${msg}\n`);
}

function parseArgs(argv) {
  let majors = ['22', '24'];
  let bench = false;
  const tests = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--bench') bench = true;
    else if (argv[i] === '--majors') {
      majors = (argv[++i] ?? '').split(',').filter(Boolean);
      if (majors.length === 0 || majors.some((m) => !/^\d+$/.test(m))) {
        fail('--majors takes a comma-separated list of major versions, e.g. --majors 22,24');
      }
    } else tests.push(argv[i]);
  }
  if (bench && tests.length > 0)
    fail('--bench runs the whole bench (choose figures with BENCH_ONLY), not test paths');
  return { majors, bench, tests: tests.length > 0 ? tests : DEFAULT_TESTS };
}

/** The registry package with the official binary for this machine. */
function binaryPackage() {
  const platform = { linux: 'linux', darwin: 'darwin' }[process.platform];
  const arch = { x64: 'x64', arm64: 'arm64' }[process.arch];
  if (!platform || !arch) fail(`no Node binary package for ${process.platform}/${process.arch}`);
  return `node-${platform}-${arch}`;
}

/** Newest published version of `major`. */
function newestVersion(pkg, major) {
  const out = execFileSync('npm', ['view', `${pkg}@${major}`, 'version', '--json'], { encoding: 'utf8' });
  const versions = [JSON.parse(out)].flat();
  const newest = versions.at(-1);
  if (!newest) fail(`the registry has no ${pkg}@${major}`);
  return newest;
}

/** A Node binary of that version, from the cache or downloaded into it; returns its bin folder. */
function nodeBin(pkg, version) {
  const cache = process.env.LS_MIX_NODE_CACHE ?? join(homedir(), '.cache', 'ls-mix', 'node');
  const home = join(cache, version);
  const bin = join(home, 'bin');
  if (existsSync(join(bin, 'node'))) return bin;
  mkdirSync(cache, { recursive: true });
  const work = mkdtempSync(join(cache, `.${version}-`));
  try {
    log(`downloading ${pkg}@${version}`);
    execFileSync('npm', ['pack', `${pkg}@${version}`, '--pack-destination', work, '--silent'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (!tgz) fail(`npm pack ${pkg}@${version} wrote no tarball`);
    execFileSync('tar', ['-xzf', join(work, tgz), '-C', work]);
    if (!existsSync(join(work, 'package', 'bin', 'node'))) fail(`${pkg}@${version} holds no bin/node`);
    rmSync(home, { recursive: true, force: true });
    // Moved into place whole: an interrupted download never looks like a cached binary.
    cpSync(join(work, 'package'), home, { recursive: true, preserveTimestamps: true });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return bin;
}

/** node-gyp of the npm running this (npm sets npm_config_node_gyp for scripts). */
function nodeGyp() {
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) {
    return process.env.npm_config_node_gyp;
  }
  const globalRoot = execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim();
  const gyp = join(globalRoot, 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (!existsSync(gyp)) fail(`node-gyp not found (looked for ${gyp}); run through npm run`);
  return gyp;
}

/**
 * A scratch copy of the project: files with their times (dist/ must stay newer than the
 * sources, or the CLI refuses a stale build), node_modules hard-linked (cheap; the rebuilt
 * better-sqlite3 binary is renamed into the copy's folder, never written through a link).
 */
function scratchCopy() {
  const copy = mkdtempSync(join(tmpdir(), 'ls-mix-node-matrix-'));
  cpSync(root, copy, {
    recursive: true,
    preserveTimestamps: true,
    filter: (src) => {
      const rel = src.slice(root.length + 1);
      return rel !== 'node_modules' && rel !== '.git' && !rel.startsWith('bench/results');
    },
  });
  execFileSync('cp', ['-al', join(root, 'node_modules'), join(copy, 'node_modules')]);
  return copy;
}

/**
 * ssh2's optional crypto binding (ChaCha20-Poly1305 and AES-GCM in C) built for that Node. The
 * hard-linked copy holds the one built for the machine's Node, which another ABI cannot load,
 * and ssh2 then runs its JavaScript fallback: an SFTP restore ~10x slower than on a user's
 * install, where npm builds the binding for the Node that installs it.
 */
function rebuildSsh2Crypto(bin, copy, env, version, gyp) {
  const pkg = join(copy, 'node_modules', 'ssh2');
  if (!existsSync(pkg)) return;
  // A real copy first: the build must not write through hard links into the project's files.
  rmSync(pkg, { recursive: true, force: true });
  cpSync(join(root, 'node_modules', 'ssh2'), pkg, { recursive: true });
  rmSync(join(pkg, 'lib', 'protocol', 'crypto', 'build'), { recursive: true, force: true });
  const node = join(bin, 'node');
  const openssl = spawnSync(node, ['-p', 'process.versions.openssl.split(".")[0]'], { encoding: 'utf8' });
  const prefix = dirname(bin);
  const build = spawnSync(
    node,
    [gyp, 'rebuild', `--nodedir=${prefix}`, `--real_openssl_major=${openssl.stdout.trim()}`, '--jobs=2'],
    {
      cwd: join(pkg, 'lib', 'protocol', 'crypto'),
      env: { ...env, npm_config_nodedir: prefix },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  if (build.status !== 0)
    log(`Node ${version}: ssh2's crypto binding did not build; SFTP runs its JavaScript fallback`);
}

/**
 * `npm run bench` in the scratch copy under that Node: every process it measures (ls-mix, the
 * writers) runs on it. The copy goes away after, so its results are kept beside the project's.
 */
function runBench(bin, copy, env, version) {
  log(`Node ${version}: npm run bench${env.BENCH_ONLY ? ` (BENCH_ONLY=${env.BENCH_ONLY})` : ''}`);
  const run = spawnSync(join(bin, 'node'), ['--import', 'tsx', 'bench/index.ts'], {
    cwd: copy,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const latest = join(copy, 'bench', 'results', 'latest.json');
  if (run.status !== 0 || !existsSync(latest)) return false;
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  const kept = join(root, 'bench', 'results', `node-${version}.json`);
  copyFileSync(latest, kept);
  log(`Node ${version}: results in ${kept}`);
  return true;
}

function main() {
  const { majors, bench, tests } = parseArgs(process.argv.slice(2));
  if (!existsSync(join(root, 'dist', 'src'))) fail('build the project first (npm run build)');
  const pkg = binaryPackage();
  const gyp = nodeGyp();
  const results = [];
  for (const major of majors) {
    const version = newestVersion(pkg, major);
    const bin = nodeBin(pkg, version);
    const copy = scratchCopy();
    // enable-sqlite-dbpage builds against the headers of the node that runs it.
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, npm_config_node_gyp: gyp };
    try {
      log(`Node ${version}: rebuilding better-sqlite3 for it (about a minute)`);
      const build = spawnSync(join(bin, 'node'), ['scripts/enable-sqlite-dbpage.mjs', '--force'], {
        cwd: copy,
        env,
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      if (build.status !== 0) fail(`rebuilding better-sqlite3 for Node ${version} failed`);
      rebuildSsh2Crypto(bin, copy, env, version, gyp);
      if (bench) {
        results.push({ version, ok: runBench(bin, copy, env, version) });
        continue;
      }
      log(`Node ${version}: vitest run ${tests.join(' ')}`);
      const run = spawnSync(join(bin, 'node'), ['node_modules/vitest/vitest.mjs', 'run', ...tests], {
        cwd: copy,
        env,
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      results.push({ version, ok: run.status === 0 });
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  }
  for (const r of results) log(`Node ${r.version}: ${r.ok ? 'passed' : 'FAILED'}`);
  if (results.some((r) => !r.ok)) process.exit(1);
}

main();
