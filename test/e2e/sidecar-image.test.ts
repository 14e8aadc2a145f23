/**
 * The published sidecar image (docker/sidecar.Dockerfile, built by .github/workflows/publish.yml
 * from the release's `npm pack` tarball): it builds from the tarball alone, runs as non-root,
 * replicates a real db to a replica on a mounted folder, and restores it in a second container.
 * The base is the local node image (the published one uses node:24-slim: same Dockerfile).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { build, docker } from './docker.js';
import { ROOT } from './project.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const TAG = 'ls-mix-e2e/sidecar-image:test';
const NODE_IMAGE = `node:${process.versions.node.split('.')[0]}-slim`;

describe('docker/sidecar.Dockerfile (the ghcr.io image)', () => {
  let work: string;
  let data: string;
  const run = (args: string[]) =>
    docker(['run', '--rm', '--network', 'none', '-v', `${data}:/data`, TAG, ...args]);

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'ls-mix-sidecar-image-'));
    const context = join(work, 'context');
    await mkdir(context);
    const tarball = inject('lsMixTarball');
    await copyFile(tarball, join(context, basename(tarball)));
    await copyFile(join(ROOT, 'docker/sidecar.Dockerfile'), join(context, 'sidecar.Dockerfile'));
    await build(context, TAG, [
      '-f',
      join(context, 'sidecar.Dockerfile'),
      '--build-arg',
      `NODE_IMAGE=${NODE_IMAGE}`,
      '--build-arg',
      `LS_MIX_TARBALL=${basename(tarball)}`,
    ]);
    data = join(work, 'data');
    await mkdir(data);
    // The image runs as uid 1000 (node): let it write beside the db.
    await chmod(data, 0o777);
  });

  afterAll(async () => {
    await docker(['image', 'rm', '-f', TAG]).catch(() => {});
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('runs ls-mix as the non-root node user', async () => {
    expect(await docker(['run', '--rm', '--network', 'none', '--entrypoint', 'id', TAG, '-u'])).toBe('1000');
    expect(await run(['version'])).toBe(pkg.version);
  });

  it('replicates a live db to a mounted replica and restores it in a new container', async () => {
    const db = join(data, 'app.db');
    execFileSync('sqlite3', [
      db,
      'PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<500) INSERT INTO t(v) SELECT hex(randomblob(64)) FROM n;',
    ]);
    await chmod(db, 0o666);
    // -exec: the runtime final-syncs when the child exits, then exits with its code.
    await run(['replicate', '-exec', 'sleep 2', '/data/app.db', 'file:///data/replica']);
    await run(['restore', '-o', '/data/restored.db', 'file:///data/replica']);
    const q = (file: string, sql: string) =>
      execFileSync('sqlite3', [file, sql], { encoding: 'utf8' }).trim();
    expect(q(join(data, 'restored.db'), 'PRAGMA integrity_check')).toBe('ok');
    expect(q(join(data, 'restored.db'), 'SELECT count(*), sum(length(v)) FROM t')).toBe(
      q(db, 'SELECT count(*), sum(length(v)) FROM t'),
    );
  });
});
