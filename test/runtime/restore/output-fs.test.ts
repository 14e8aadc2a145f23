/**
 * Restore into a read-only folder and onto a full disk: the errors name the folder / path,
 * never "ENOENT". Needs root (mounts its own tmpfs; skipped otherwise).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFileReplicaClient } from '../../../runtime/replica/file.js';
import { restoreDatabase } from '../../../runtime/restore.js';
import { FIXTURES } from './fixture-helpers.js';

const root = process.getuid?.() === 0;
const base = mkdtempSync(join(tmpdir(), 'ls-mix-outfs-'));
const ro = join(base, 'ro');
const small = join(base, 'small');
const mounted: string[] = [];

function restoreInto(fixture: string, outputPath: string) {
  return restoreDatabase({
    replicas: [
      { name: 'file', client: createFileReplicaClient({ path: join(FIXTURES, fixture, 'replica') }) },
    ],
    outputPath,
  });
}

describe.runIf(root)('restore output filesystem errors', () => {
  beforeAll(() => {
    mkdirSync(ro);
    mkdirSync(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro]);
    mounted.push(ro);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small]);
    mounted.push(small);
  });
  afterAll(() => {
    for (const m of mounted) execFileSync('umount', [m]);
    rmSync(base, { recursive: true, force: true });
  });

  it('a read-only folder is reported as read-only, naming it', async () => {
    await expect(restoreInto('basic', join(ro, 'x.db'))).rejects.toThrow(
      `cannot write to ${ro}: the folder is on a read-only filesystem (EROFS)`,
    );
  });

  it('a missing subfolder of a read-only filesystem is read-only, not "not found"', async () => {
    const err = (await restoreInto('basic', join(ro, 'sub/dir/x.db')).catch((e: unknown) => e)) as Error;
    expect(err.message).toBe(
      `cannot write to ${join(ro, 'sub/dir')}: ${ro} is on a read-only filesystem (EROFS)`,
    );
    expect(err.message).not.toContain('ENOENT');
  });

  it('a full disk names the output, the temp file and the sizes; nothing is left behind', async () => {
    const out = join(small, 'big.db');
    const err = (await restoreInto('large-pages', out).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(
      new RegExp(
        `^cannot restore to ${out}: no space left on device in ${small} while writing ${out}\\.lsmix-\\d+-[0-9a-f]{8}\\.tmp, \\d+ bytes free \\(the backup to restore is \\d+ bytes compressed`,
      ),
    );
    expect(readdirSync(small)).toEqual([]);
  });
});
