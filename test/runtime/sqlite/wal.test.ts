import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checksumWords,
  encodeWalHeader,
  frameAlign,
  frameSize,
  parseFrameHeader,
  parseWalHeader,
  readWalHeader,
  scanWal,
  WAL_HEADER_SIZE,
  walChecksum,
  wordsOf,
} from '../../../runtime/sqlite/wal.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A WAL written by SQLite itself: `txs` transactions, left un-checkpointed. */
function makeWal(pageSize: number, txs: number): { dir: string; db: string; wal: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wal-'));
  dirs.push(dir);
  const db = join(dir, 'src.db');
  const conn = new Database(db);
  conn.pragma(`page_size = ${pageSize}`);
  conn.pragma('journal_mode = wal');
  conn.pragma('wal_autocheckpoint = 0');
  conn.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
  const ins = conn.prepare('INSERT INTO t (v) VALUES (?)');
  for (let i = 0; i < txs; i++) {
    conn.transaction(() => {
      for (let j = 0; j < 5; j++) ins.run(`row ${i}-${j} ${'x'.repeat((i * 37) % 900)}`);
    })();
  }
  // Snapshot the files while the connection is open (closing would checkpoint the WAL away).
  const snap = join(dir, 'copy.db');
  copyFileSync(db, snap);
  copyFileSync(`${db}-wal`, `${snap}-wal`);
  conn.close();
  return { dir, db: snap, wal: `${snap}-wal` };
}

async function scanFile(path: string) {
  const raw = readFileSync(path);
  const header = parseWalHeader(raw)!;
  const fd = openSync(path, 'r');
  try {
    return {
      header,
      size: raw.length,
      result: scanWal(fd, {
        from: WAL_HEADER_SIZE,
        header,
        checksum: { s1: header.checksum1, s2: header.checksum2 },
      }),
    };
  } finally {
    closeSync(fd);
  }
}

describe('WAL format', () => {
  it.each([1024, 4096, 65536])('reads the header SQLite writes (page size %d)', async (ps) => {
    const { wal } = makeWal(ps, 3);
    const parsed = readWalHeader(wal);
    expect(parsed?.header.pageSize).toBe(ps);
    expect(parsed?.header.bigEndian).toBe(false); // x86/arm little-endian hosts write 0x377f0682
    expect(encodeWalHeader(parsed!.header)).toEqual(parsed!.raw);
  });

  it.each([1024, 4096, 65536])('finds the last commit frame of a real WAL (page size %d)', async (ps) => {
    const { wal } = makeWal(ps, 12);
    const { size, result } = await scanFile(wal);
    // CREATE TABLE + 12 transactions, every frame valid and the file ends on a commit.
    expect(result.commits).toBe(13);
    expect(result.commitEnd).toBe(frameAlign(size, ps));
    expect(result.validEnd).toBe(result.commitEnd);
    expect((result.commitEnd - WAL_HEADER_SIZE) / frameSize(ps)).toBe(result.frames);
  });

  it('stops at a corrupted frame and at a frame with other salts', async () => {
    const { wal } = makeWal(4096, 6);
    const good = await scanFile(wal);
    const raw = readFileSync(wal);
    const fs = frameSize(4096);
    // Find the 3rd commit frame's end; flip a byte in the frame after it.
    const commits: number[] = [];
    for (let off = WAL_HEADER_SIZE; off + fs <= raw.length; off += fs) {
      if (parseFrameHeader(raw, off).commit) commits.push(off + fs);
    }
    const corrupt = Buffer.from(raw);
    corrupt[commits[2] + 24 + 100] ^= 0xff;
    writeFileSync(wal, corrupt);
    const bad = await scanFile(wal);
    expect(bad.result.commitEnd).toBe(commits[2]);
    expect(bad.result.commits).toBe(3);
    expect(bad.result.commitEnd).toBeLessThan(good.result.commitEnd);

    const salted = Buffer.from(raw);
    salted.writeUInt32BE(salted.readUInt32BE(commits[1] + 8) + 1, commits[1] + 8);
    writeFileSync(wal, salted);
    expect((await scanFile(wal)).result.commitEnd).toBe(commits[1]);
  });

  it('ignores an uncommitted tail (a transaction still being written)', async () => {
    const { wal } = makeWal(4096, 4);
    const raw = readFileSync(wal);
    const fs = frameSize(4096);
    const lastCommit = (await scanFile(wal)).result.commitEnd;
    // Drop the commit flag of the last frame: its transaction is no longer committed.
    const tail = Buffer.from(raw.subarray(0, lastCommit));
    const off = lastCommit - fs;
    tail.writeUInt32BE(0, off + 4);
    // ...and re-checksum it so the frame itself stays valid.
    const prev =
      off === WAL_HEADER_SIZE
        ? undefined
        : { s1: tail.readUInt32BE(off - fs + 16), s2: tail.readUInt32BE(off - fs + 20) };
    const h = parseWalHeader(tail)!;
    const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
    let sum = walChecksum(view, off, 8, h.bigEndian, prev ?? { s1: h.checksum1, s2: h.checksum2 });
    sum = walChecksum(view, off + 24, 4096, h.bigEndian, sum);
    tail.writeUInt32BE(sum.s1, off + 16);
    tail.writeUInt32BE(sum.s2, off + 20);
    writeFileSync(wal, tail);
    const r = (await scanFile(wal)).result;
    expect(r.validEnd).toBe(lastCommit);
    expect(r.commitEnd).toBeLessThan(lastCommit);
  });

  it('computes big-endian checksums SQLite accepts (WAL re-encoded with magic 0x377f0683)', async () => {
    const { db, wal } = makeWal(1024, 5);
    const raw = readFileSync(wal);
    const h = parseWalHeader(raw)!;
    const out = Buffer.from(raw.subarray(0, frameAlign(raw.length, 1024)));
    encodeWalHeader({ ...h, bigEndian: true }).copy(out, 0);
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    let sum = { s1: out.readUInt32BE(24), s2: out.readUInt32BE(28) };
    for (let off = WAL_HEADER_SIZE; off + 1048 <= out.length; off += 1048) {
      sum = walChecksum(view, off, 8, true, sum);
      sum = walChecksum(view, off + 24, 1024, true, sum);
      out.writeUInt32BE(sum.s1, off + 16);
      out.writeUInt32BE(sum.s2, off + 20);
    }
    writeFileSync(wal, out);
    const { header, result } = await scanFile(wal);
    expect(header.bigEndian).toBe(true);
    expect(result.commits).toBe(6);
    // The sqlite3 CLI recovers the WAL only if every checksum is right: all 25 rows visible.
    const count = execFileSync('sqlite3', [db, 'SELECT count(*) FROM t'], { encoding: 'utf8' }).trim();
    expect(count).toBe('25');
    expect(statSync(db).size).toBeGreaterThan(0);
  });

  it('scans in chunks smaller than the WAL without changing the result', async () => {
    const { wal } = makeWal(1024, 30);
    const whole = (await scanFile(wal)).result;
    const raw = readFileSync(wal);
    const header = parseWalHeader(raw)!;
    const fd = openSync(wal, 'r');
    const copied: Buffer[] = [];
    try {
      const small = scanWal(fd, {
        from: WAL_HEADER_SIZE,
        header,
        checksum: { s1: header.checksum1, s2: header.checksum2 },
        buffer: Buffer.alloc(frameSize(1024) * 3 + 100),
        onFrames: (buf, start, end) => {
          copied.push(Buffer.from(buf.subarray(start, end)));
        },
      });
      expect(small).toEqual(whole);
      expect(Buffer.concat(copied)).toEqual(raw.subarray(WAL_HEADER_SIZE, whole.validEnd));
    } finally {
      closeSync(fd);
    }
  });
});

describe('checksumWords', () => {
  it('equals the word-by-word WAL checksum on random pages, continuing any running state', () => {
    const le = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
    for (const size of [512, 4096, 65536]) {
      for (let k = 0; k < 20; k++) {
        const page = randomBytes(size);
        // Running states with the top bit set: the words and sums cross int32's sign.
        const prev = { s1: randomBytes(4).readUInt32LE(0) | 0x80000000, s2: randomBytes(4).readUInt32LE(0) };
        const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
        const expected = walChecksum(view, 0, size, !le, prev);
        const words = wordsOf(page);
        if (!words) throw new Error('randomBytes gave an unaligned buffer');
        expect(checksumWords(words, 0, size >>> 2, prev)).toEqual(expected);
      }
    }
  });
});
