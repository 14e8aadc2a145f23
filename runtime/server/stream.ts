/**
 * The primary's side of one live replica: a snapshot when the replica has no usable position,
 * then shadow-WAL bytes as the monitor commits them, heartbeats while idle. Writes wait for the
 * socket to drain (a slow replica slows only its own stream) and every file is opened before its
 * message header is written, so a file pruned meanwhile can never cut a message in half.
 */

import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { type FileHandle, open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { MonitoredDb } from '../replicate/db.js';
import { frameSize, parseWalHeader, WAL_HEADER_SIZE } from '../sqlite/wal.js';
import {
  encodeHeader,
  HEARTBEAT_MS,
  type SnapshotMessage,
  type StreamMessage,
  type StreamPos,
  type WalMessage,
} from './protocol.js';

export interface StreamOptions {
  db: MonitoredDb;
  /** Where the replica is; undefined for a fresh replica. */
  from?: StreamPos;
  out: Writable;
  /** Aborted when the replica disconnects or the server closes. */
  signal: AbortSignal;
  /** Unique id: the shadow WAL files this stream still needs are kept while it runs. */
  id: string;
  onBytes?: (n: number) => void;
  onSnapshot?: () => void;
  /**
   * Shadow-WAL bytes of finished indexes this stream may keep from deletion. Past it the stream
   * lets go of them and ends (the replica reconnects and gets a fresh snapshot): a stalled replica
   * can never fill the primary's disk.
   */
  maxPinnedBytes?: number;
  onTooFarBehind?: (pinnedBytes: number) => void;
}

const PIN_CHECK_MS = 1_000;

/** Runs until the signal aborts or the socket fails. */
export async function streamDb(opts: StreamOptions): Promise<void> {
  const { db, id } = opts;
  const tooFarBehind = new AbortController();
  const signal = AbortSignal.any([opts.signal, tooFarBehind.signal]);
  let pinnedFrom: StreamPos | undefined;
  const watchdog =
    opts.maxPinnedBytes === undefined
      ? undefined
      : setInterval(() => {
          void pinnedBytes(db, pinnedFrom).then((pinned) => {
            if (pinned <= (opts.maxPinnedBytes ?? Number.POSITIVE_INFINITY) || tooFarBehind.signal.aborted)
              return;
            db.dropReplicaNeed(id);
            db.pruneShadows();
            opts.onTooFarBehind?.(pinned);
            tooFarBehind.abort(new Error(`live replica too far behind (${pinned} bytes of WAL pinned)`));
          });
        }, PIN_CHECK_MS);
  watchdog?.unref();
  let pos = opts.from && { ...opts.from };
  let dirty = true;
  let wakeUp: (() => void) | undefined;
  const wake = () => {
    dirty = true;
    wakeUp?.();
  };
  db.on('shadow', wake);
  db.on('generation', wake);
  signal.addEventListener('abort', wake);
  const send = async (buf: Buffer) => {
    if (signal.aborted) throw signal.reason ?? new Error('stream closed');
    opts.onBytes?.(buf.length);
    if (!opts.out.write(buf)) await once(opts.out, 'drain', { signal });
  };
  const need = (p: StreamPos) => {
    if (signal.aborted) return;
    pinnedFrom = { ...p };
    db.setReplicaNeed(id, p.generation, p.index);
  };
  let lastSent = 0;
  let checked = false;
  try {
    while (!signal.aborted) {
      const cur = db.position;
      if (!cur) {
        await idle();
        continue;
      }
      // The replica's own position is checked once; after that the stream's progress is ours.
      if (!pos || pos.generation !== cur.generation || (!checked && !(await usable(db, pos, cur)))) {
        checked = true;
        pos = await sendSnapshot(db, send, need);
        opts.onSnapshot?.();
        need(pos);
        lastSent = Date.now();
        continue;
      }
      checked = true;
      need(pos);
      const size = await db.shadowSize(pos.generation, pos.index);
      if (size === undefined) {
        pos = undefined;
        continue;
      }
      if (pos.offset < size) {
        await sendWal(db, pos, size, send);
        pos.offset = size;
        lastSent = Date.now();
        continue;
      }
      if (pos.index < cur.index) {
        pos = { generation: pos.generation, index: pos.index + 1, offset: 0 };
        need(pos);
        db.pruneShadows();
        continue;
      }
      if (Date.now() - lastSent >= HEARTBEAT_MS) {
        const hb: StreamMessage = { type: 'heartbeat', ...position(cur), length: 0 };
        await send(encodeHeader(hb));
        lastSent = Date.now();
      }
      await idle();
    }
  } finally {
    if (watchdog) clearInterval(watchdog);
    db.off('shadow', wake);
    db.off('generation', wake);
    signal.removeEventListener('abort', wake);
    db.dropReplicaNeed(id);
    db.pruneShadows();
  }

  function idle(): Promise<void> {
    if (dirty || signal.aborted) {
      dirty = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, HEARTBEAT_MS);
      function done() {
        clearTimeout(t);
        wakeUp = undefined;
        dirty = false;
        resolve();
      }
      wakeUp = done;
    });
  }
}

/** Bytes of the finished shadow-WAL indexes from `from` on (the current index is not counted). */
async function pinnedBytes(db: MonitoredDb, from: StreamPos | undefined): Promise<number> {
  const cur = db.position;
  if (!from || !cur || from.generation !== cur.generation) return 0;
  let total = 0;
  for (const i of db.local.shadowIndexes(cur.generation)) {
    if (i < from.index || i >= cur.index) continue;
    total += await stat(db.shadowPath(cur.generation, i)).then(
      (s) => s.size,
      () => 0,
    );
  }
  return total;
}

function headOf(db: MonitoredDb): StreamPos {
  const p = db.position;
  return p ? position(p) : { generation: '', index: 0, offset: 0 };
}

function position(p: { generation: string; index: number; size: number }): StreamPos {
  return { generation: p.generation, index: p.index, offset: p.size };
}

/** Can the stream go on from `pos` with WAL bytes (same generation, shadow file still here)? */
async function usable(
  db: MonitoredDb,
  pos: StreamPos,
  cur: { generation: string; index: number },
): Promise<boolean> {
  if (pos.generation !== cur.generation || pos.index > cur.index || pos.index < 0) return false;
  const size = await db.shadowSize(pos.generation, pos.index);
  if (size === undefined || pos.offset > size) return false;
  if (pos.offset === 0) return true;
  const pageSize = await shadowPageSize(db, pos);
  return (
    pageSize !== undefined &&
    pos.offset >= WAL_HEADER_SIZE &&
    (pos.offset - WAL_HEADER_SIZE) % frameSize(pageSize) === 0
  );
}

async function shadowPageSize(db: MonitoredDb, p: StreamPos): Promise<number | undefined> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(db.shadowPath(p.generation, p.index), 'r');
    return await readPageSize(fh);
  } catch {
    return undefined;
  } finally {
    await fh?.close();
  }
}

async function readPageSize(fh: FileHandle): Promise<number> {
  const buf = Buffer.alloc(WAL_HEADER_SIZE);
  await fh.read(buf, 0, WAL_HEADER_SIZE, 0);
  const h = parseWalHeader(buf);
  if (!h) throw new Error('shadow WAL has no valid header');
  return h.pageSize;
}

/** Database size in pages after the commit frame that ends at `end` (0: no frame there). */
async function pagesAfterCommit(fh: FileHandle, end: number, pageSize: number): Promise<number> {
  const start = end - frameSize(pageSize);
  if (start < WAL_HEADER_SIZE) return 0;
  const buf = Buffer.alloc(8);
  await fh.read(buf, 0, 8, start);
  return buf.readUInt32BE(4);
}

/** Stream bytes [start, end) of an open file. */
/** Read size of the db copy into a live snapshot's spool file. */
const DB_COPY_CHUNK = 1 << 20;

async function sendRange(fh: FileHandle, start: number, end: number, send: (b: Buffer) => Promise<void>) {
  if (end <= start) return;
  const stream = fh.createReadStream({ start, end: end - 1, autoClose: false, highWaterMark: 256 << 10 });
  let n = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    n += chunk.length;
    await send(chunk);
  }
  if (n !== end - start) throw new Error(`short read of the shadow WAL: ${n} of ${end - start} bytes`);
}

async function sendWal(
  db: MonitoredDb,
  pos: StreamPos,
  end: number,
  send: (b: Buffer) => Promise<void>,
): Promise<void> {
  const fh = await open(db.shadowPath(pos.generation, pos.index), 'r');
  try {
    const pageSize = await readPageSize(fh);
    const msg: WalMessage = {
      type: 'wal',
      ...pos,
      pageSize,
      length: end - pos.offset,
      dbPages: await pagesAfterCommit(fh, end, pageSize),
      head: headOf(db),
    };
    await send(encodeHeader(msg));
    await sendRange(fh, pos.offset, end, send);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/**
 * The database file (through the monitor's own descriptor, with its checkpoints held off so the
 * file is the one its read transaction pins) plus the current index's shadow WAL from 0: the same
 * pair a Litestream snapshot + its WAL index restore from. Both are first copied to an unlinked
 * spool file beside the local state, so checkpoints wait for a local copy only — never for a
 * slow replica's download.
 */
async function sendSnapshot(
  db: MonitoredDb,
  send: (b: Buffer) => Promise<void>,
  need: (p: StreamPos) => void,
): Promise<StreamPos> {
  const spoolPath = join(db.local.dir, `.live-snapshot-${randomBytes(6).toString('hex')}`);
  const spool = await open(spoolPath, 'w+');
  await rm(spoolPath, { force: true });
  try {
    let spooled = 0;
    const put = async (b: Buffer) => {
      await spool.write(b, 0, b.length, spooled);
      spooled += b.length;
    };
    const msg = await db.withCheckpointsHeld(async (cur) => {
      const fh = await open(db.shadowPath(cur.generation, cur.index), 'r');
      try {
        const pageSize = await readPageSize(fh);
        const size = (await stat(db.path)).size;
        const dbLength = Math.floor(size / pageSize) * pageSize;
        // Exactly dbLength bytes: the file may grow or shrink under an app's checkpoint; every
        // page that can differ is in the shadow WAL that follows, applied on top by the replica.
        // One buffer, reused: each piece is in the spool file before the next read.
        const reader = db.dbReader();
        const buf = Buffer.allocUnsafe(Math.max(1, Math.min(DB_COPY_CHUNK, dbLength)));
        while (spooled < dbLength) {
          const want = Math.min(buf.length, dbLength - spooled);
          const { bytesRead } = await reader.read(buf, 0, want, spooled);
          if (bytesRead === 0) break; // shrunk meanwhile: zeros below, the WAL has those pages
          await put(buf.subarray(0, bytesRead));
        }
        if (spooled < dbLength) await put(Buffer.alloc(dbLength - spooled));
        await sendRange(fh, 0, cur.size, put);
        // The db size: from the last commit of the WAL index, else from page 1's header.
        let dbPages = await pagesAfterCommit(fh, cur.size, pageSize);
        if (dbPages === 0) {
          const page1 = Buffer.alloc(Math.min(100, dbLength));
          await spool.read(page1, 0, page1.length, 0);
          dbPages = headerPages(page1) ?? dbLength / pageSize;
        }
        // Registered before checkpoints resume: the index cannot be pruned under the stream.
        need({ generation: cur.generation, index: cur.index, offset: cur.size });
        const m: SnapshotMessage = {
          type: 'snapshot',
          generation: cur.generation,
          index: cur.index,
          offset: cur.size,
          pageSize,
          dbLength,
          length: dbLength + cur.size,
          dbPages,
          head: headOf(db),
        };
        return m;
      } finally {
        await fh.close().catch(() => undefined);
      }
    });
    await send(encodeHeader(msg));
    await sendRange(spool, 0, msg.length, send);
    return { generation: msg.generation, index: msg.index, offset: msg.offset };
  } finally {
    await spool.close().catch(() => undefined);
  }
}

/** In-header database size, when the header says it is valid (version-valid-for matches). */
function headerPages(page1: Buffer): number | undefined {
  if (page1.length < 100) return undefined;
  const pages = page1.readUInt32BE(28);
  return pages > 0 && page1.readUInt32BE(24) === page1.readUInt32BE(92) ? pages : undefined;
}
