import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lz4FrameCompress } from '../../../runtime/format/lz4.js';
import { createFileReplicaClient } from '../../../runtime/replica/file.js';
import { downloadObject } from '../../../runtime/restore/download.js';

const dir = mkdtempSync(join(tmpdir(), 'ls-mix-download-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('downloadObject', () => {
  const gen = '0123456789abcdef';
  const plain = Buffer.concat([randomBytes(3 << 20), Buffer.alloc(6 << 20, 9), randomBytes(1000)]);
  const ready = (async () => {
    const snapDir = join(dir, 'replica/generations', gen, 'snapshots');
    mkdirSync(snapDir, { recursive: true });
    writeFileSync(join(snapDir, '00000000.snapshot.lz4'), await lz4FrameCompress(plain));
    return createFileReplicaClient({ path: join(dir, 'replica') });
  })();

  it.each([
    ['without background syncs', undefined],
    ['with a background fdatasync after every write', 1],
    ['with a background fdatasync every 4 MiB', 4 << 20],
  ])('writes the decoded object whole, %s', async (_label, syncEvery) => {
    const client = await ready;
    const dest = join(dir, `out-${syncEvery}.db`);
    let stored = 0;
    const n = await downloadObject(
      { key: 'snap', open: () => client.openSnapshot(gen, 0), dest },
      { replica: 'file', syncEvery, onBytes: (b) => (stored += b) },
    );
    expect(n).toBe(plain.length);
    expect(readFileSync(dest).equals(plain)).toBe(true);
    expect(stored).toBeGreaterThan(0);
  });

  it('refuses to overwrite an existing file, naming the object', async () => {
    const client = await ready;
    const dest = join(dir, 'exists.db');
    writeFileSync(dest, 'keep');
    await expect(
      downloadObject(
        { key: 'generations/x/snap', open: () => client.openSnapshot(gen, 0), dest },
        { replica: 'file' },
      ),
    ).rejects.toThrow('replica "file": cannot download generations/x/snap: EEXIST');
    expect(readFileSync(dest, 'utf8')).toBe('keep');
  });
});
