/**
 * One replica of several is unreachable (an S3 endpoint on a closed 127.0.0.1 port beside a
 * working file replica): restore and the listings name it and hint `-replica` with the other.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES } from '../runtime/restore/fixture-helpers.js';
import { assertBuilt, cli } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'ls-mix-hint-'));
let config = '';

/** A port that was free a moment ago and has nothing listening now. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

beforeAll(async () => {
  assertBuilt();
  cpSync(join(FIXTURES, 'basic/replica'), join(dir, 'replica'), { recursive: true });
  config = join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'dbs:',
      `  - path: ${join(dir, 'app.db')}`,
      '    replicas:',
      '      - name: backup',
      '        type: file',
      `        path: ${join(dir, 'replica')}`,
      '      - name: offsite',
      '        type: s3',
      '        bucket: b',
      '        path: p',
      `        endpoint: http://127.0.0.1:${await closedPort()}`,
      '        region: us-east-1',
      '        access-key-id: test',
      '        secret-access-key: test',
      '',
    ].join('\n'),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('an unreachable replica among several', () => {
  it.each([
    ['restore', ['restore', '-o', join(dir, 'x.db')]],
    ['generations', ['generations']],
  ])('%s names it and hints -replica with the working one', (_name, args) => {
    const r = cli([...args, '-config', config, join(dir, 'app.db')], { timeout: 120_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: replica "offsite": .*ECONNREFUSED/m);
    expect(r.stderr).toMatch(/^Hint: .*Use another replica with -replica backup\.$/m);
  });

  it('-replica backup then restores', () => {
    const r = cli([
      'restore',
      '-config',
      config,
      '-replica',
      'backup',
      '-o',
      join(dir, 'y.db'),
      join(dir, 'app.db'),
    ]);
    expect(r.code).toBe(0);
  });
});
