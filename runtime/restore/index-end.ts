/**
 * Where a WAL index ended. The replica layout does not say: with the last segment of a middle
 * index missing, the chain looks whole and a restore silently returns fewer rows. ls-mix's
 * runtime records the end of each finished index inside the next one (rows 2 = index and
 * 3 = end offset of `_litestream_seq`, written right after the WAL restart); this module reads
 * that record back — from the restored database once the next index is applied, or from the
 * raw frames of the next index's segments when the restore stops before it (`-index`).
 */
import Database from 'better-sqlite3';
import { walSegmentKey } from '../format/layout.js';
import { decodeObject } from '../format/object.js';
import type { WalSegmentInfo } from '../replica/client.js';
import { WAL_FRAME_HEADER_SIZE, WAL_HEADER_SIZE } from '../sqlite/wal.js';
import type { RestoreReplica } from './plan.js';

export interface IndexEnd {
  index: number;
  end: number;
}

/** The record in a (restored) database, and the root page of `_litestream_seq`. */
export function readIndexEnd(dbPath: string): { record?: IndexEnd; rootPage?: number } {
  // Read-write: a read-only connection to a WAL-mode file leaves an empty -wal behind, which
  // the next index's apply must create itself. Nothing is written.
  const db = new Database(dbPath, { fileMustExist: true });
  try {
    const root = db.prepare("SELECT rootpage FROM sqlite_master WHERE name = '_litestream_seq'").get() as
      | { rootpage: number }
      | undefined;
    if (!root) return {};
    const rows = db.prepare('SELECT id, seq FROM _litestream_seq WHERE id IN (2, 3)').all() as {
      id: number;
      seq: number;
    }[];
    const get = (id: number) => rows.find((r) => r.id === id)?.seq;
    const index = get(2);
    const end = get(3);
    return {
      rootPage: root.rootpage,
      record:
        index !== undefined && end !== undefined ? { index: Number(index), end: Number(end) } : undefined,
    };
  } finally {
    db.close();
  }
}

/** At most this much of the next index is read looking for the record (it comes first). */
const SCAN_LIMIT = 64 << 20;

/**
 * The record as the next index's frames hold it: the last image of `_litestream_seq`'s page
 * (a one-page table) in its first segments. Undefined when none of them wrote it.
 */
export async function indexEndFromSegments(
  replica: RestoreReplica,
  generation: string,
  segments: WalSegmentInfo[],
  rootPage: number,
  pageSize: number,
): Promise<IndexEnd | undefined> {
  let found: IndexEnd | undefined;
  let read = 0;
  const frame = WAL_FRAME_HEADER_SIZE + pageSize;
  for (const seg of segments) {
    if (read > SCAN_LIMIT) break;
    const body = await replica.client.openWalSegment(seg);
    const plain = await decodeObject(body, {
      name: walSegmentKey(generation, seg.index, seg.offset),
      age: replica.age,
    });
    const chunks: Buffer[] = [];
    for await (const c of plain) chunks.push(c as Buffer);
    const buf = Buffer.concat(chunks);
    read += buf.length;
    for (let at = seg.offset === 0 ? WAL_HEADER_SIZE : 0; at + frame <= buf.length; at += frame) {
      if (buf.readUInt32BE(at) !== rootPage) continue;
      const rec = parseRecordPage(buf.subarray(at + WAL_FRAME_HEADER_SIZE, at + frame));
      if (rec) found = rec;
    }
    if (found) return found;
  }
  return found;
}

function varint(b: Buffer, at: number): [number, number] {
  let v = 0;
  for (let i = 0; i < 9; i++) {
    const byte = b[at + i];
    if (i === 8) return [v * 256 + byte, at + 9];
    v = v * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) return [v, at + i + 1];
  }
  return [v, at + 9];
}

const INT_SIZES: Record<number, number> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8 };

/** An integer column of a record (serial types 1-6, 8, 9). */
function intValue(b: Buffer, at: number, type: number): number | undefined {
  if (type === 8) return 0;
  if (type === 9) return 1;
  const n = INT_SIZES[type];
  if (!n) return undefined;
  return n === 8 ? Number(b.readBigInt64BE(at)) : b.readIntBE(at, n);
}

/** Rows 2 and 3 of `_litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER)` from its leaf page. */
function parseRecordPage(page: Buffer): IndexEnd | undefined {
  if (page[0] !== 0x0d) return undefined; // not a table leaf (the table grew: no record here)
  const cells = page.readUInt16BE(3);
  const values = new Map<number, number>();
  for (let i = 0; i < cells; i++) {
    const [, afterSize] = varint(page, page.readUInt16BE(8 + 2 * i)); // payload size
    const [rowid, start] = varint(page, afterSize);
    const [hdrLen, afterHdrLen] = varint(page, start);
    let at = afterHdrLen;
    const types: number[] = [];
    while (at < start + hdrLen) {
      let t: number;
      [t, at] = varint(page, at);
      types.push(t);
    }
    // Column 0 is the rowid alias (stored NULL), column 1 is seq.
    let body = start + hdrLen;
    if (types.length < 2) continue;
    body += INT_SIZES[types[0]] ?? 0;
    const v = intValue(page, body, types[1]);
    if (v !== undefined) values.set(rowid, v);
  }
  const index = values.get(2);
  const end = values.get(3);
  return index !== undefined && end !== undefined ? { index, end } : undefined;
}
