import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { WalChecker } from '../../../runtime/restore/wal-check.js';

const dir = mkdtempSync(join(tmpdir(), 'ls-mix-walcheck-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A WAL written by SQLite itself: 3 transactions, no checkpoint. */
function realWal(): { wal: Buffer; commits: number[] } {
  const path = join(dir, 'src.db');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0');
  db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)');
  const ins = db.prepare('INSERT INTO t(v) VALUES (?)');
  for (let i = 0; i < 2; i++) db.transaction(() => ins.run('x'.repeat(3000)))();
  copyFileSync(`${path}-wal`, join(dir, 'copy-wal'));
  db.close();
  const wal = readFileSync(join(dir, 'copy-wal'));
  const pageSize = wal.readUInt32BE(8);
  const commits: number[] = [];
  for (let off = 32; off < wal.length; off += 24 + pageSize) {
    if (wal.readUInt32BE(off + 4) !== 0) commits.push(off + 24 + pageSize);
  }
  return { wal, commits };
}

describe('WalChecker', () => {
  const { wal, commits } = realWal();
  const pageSize = wal.readUInt32BE(8);

  it('accepts a real WAL split into segments at commit frames, in any chunking', () => {
    const c = new WalChecker(pageSize);
    let start = 0;
    for (const end of commits) {
      c.begin(`seg@${start}`);
      const seg = wal.subarray(start, end);
      for (let i = 0; i < seg.length; i += 1000) c.update(seg.subarray(i, i + 1000));
      c.end();
      start = end;
    }
    expect(c.offset).toBe(wal.length);
    expect(c.frames).toBe((wal.length - 32) / (24 + pageSize));
  });

  it('accepts 1-byte chunks and frames split at every position across chunks', () => {
    for (const size of [1, 7, 24, 25, pageSize + 23, pageSize + 24, pageSize + 25]) {
      const c = new WalChecker(pageSize);
      c.begin(`chunks of ${size}`);
      const seg = wal.subarray(0, commits[commits.length - 1]);
      for (let i = 0; i < seg.length; i += size) c.update(seg.subarray(i, i + size));
      c.end();
      expect(c.frames, `chunks of ${size}`).toBe((seg.length - 32) / (24 + pageSize));
    }
  });

  it('a damaged frame split across chunks is still caught', () => {
    const bad = Buffer.from(wal.subarray(0, commits[commits.length - 1]));
    bad[32 + 24 + 100] ^= 1; // first frame's page
    const c = new WalChecker(pageSize);
    c.begin('seg');
    expect(() => {
      for (let i = 0; i < bad.length; i += 50) c.update(bad.subarray(i, i + 50));
    }).toThrow('seg: WAL frame 1 checksum mismatch');
  });

  it('rejects a segment that ends mid-transaction', () => {
    // The first non-commit frame (CREATE TABLE writes two pages: the first is not a commit).
    const frameSize = 24 + pageSize;
    let end = 32;
    while (wal.readUInt32BE(end + 4) !== 0) end += frameSize;
    const segStart = Math.max(32, ...commits.filter((c) => c <= end));
    const c = new WalChecker(pageSize);
    let pos = 0;
    for (const commit of commits.filter((x) => x <= segStart)) {
      c.begin('ok');
      c.update(wal.subarray(pos, commit));
      c.end();
      pos = commit;
    }
    c.begin('seg');
    c.update(wal.subarray(pos, end + frameSize));
    expect(() => c.end()).toThrow('seg: WAL segment does not end on a commit frame');
  });

  it('rejects a flipped page byte, a bad header, a wrong page size', () => {
    const bad = Buffer.from(wal);
    bad[32 + 24 + 10] ^= 1;
    const c = new WalChecker(pageSize);
    c.begin('a');
    expect(() => c.update(bad)).toThrow('a: WAL frame 1 checksum mismatch');

    const hdr = Buffer.from(wal);
    hdr[20] ^= 1; // salt-2: header checksum breaks
    const h = new WalChecker(pageSize);
    h.begin('b');
    expect(() => h.update(hdr)).toThrow('b: WAL header checksum mismatch');

    const p = new WalChecker(pageSize * 2);
    p.begin('c');
    expect(() => p.update(wal)).toThrow(
      `c: WAL page size ${pageSize} does not match the snapshot's ${pageSize * 2}`,
    );
  });
});

describe('walChecksum', () => {
  it('gives the same result on aligned and unaligned buffers, both word orders', async () => {
    const { walChecksum } = await import('../../../runtime/restore/wal-check.js');
    const bytes = Buffer.alloc(4096 + 8);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 131 + 7) & 0xff;
    const aligned = Buffer.from(bytes.subarray(0, 4096));
    const unaligned = Buffer.alloc(4097).subarray(1);
    aligned.copy(unaligned);
    expect(unaligned.byteOffset % 4).not.toBe(0);
    for (const be of [false, true]) {
      expect(walChecksum(aligned, be, 1, 2)).toEqual(walChecksum(unaligned, be, 1, 2));
    }
    expect(walChecksum(aligned, false, 0, 0)).not.toEqual(walChecksum(aligned, true, 0, 0));
  });
});
