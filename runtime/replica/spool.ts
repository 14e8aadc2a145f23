import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BlockPool, releaseEncoded } from '../format/lz4.js';
import { collecting, IdleRelease } from '../memory.js';

/**
 * A body captured once so it can be sent again on retry. Small bodies (WAL segments, the
 * common case) stay in memory; anything larger than `memoryLimit` goes to a temp file, so
 * memory stays bounded whatever the snapshot size.
 */
export interface Spooled {
  size: number;
  /** The whole body when it fit in memory. */
  buffer?: Buffer;
  /** The temp file holding the body otherwise. */
  file?: string;
  /** A fresh stream over the body, or over bytes [start, end) of it (callable once per attempt). */
  open(start?: number, end?: number): Readable;
  /** Delete the temp file, if any. Safe to call twice. */
  dispose(): Promise<void>;
}

/**
 * Bodies up to this size stay in memory (WAL segments of a steady writer). Larger ones go to a
 * temp file and stream from there: held in memory they cost twice their size while gathered
 * (chunks + the joined buffer), and an 8 MiB limit was ~16 MiB of replicate's peak RSS.
 */
export const DEFAULT_MEMORY_LIMIT = 2 * 1024 * 1024;
/** Read size of a spool file stream (small: uploads send as they read). */
const READ_CHUNK = 256 * 1024;

/** Write a chunk of an object stream, giving its buffer back to the LZ4 encoder once written. */
function writeReleasing(out: Writable, chunk: Buffer): boolean {
  return out.write(chunk, () => releaseEncoded(chunk));
}

export async function spool(body: Readable, memoryLimit = DEFAULT_MEMORY_LIMIT): Promise<Spooled> {
  const chunks: Buffer[] = [];
  let size = 0;
  let dir: string | undefined;
  let file: string | undefined;
  let out: ReturnType<typeof createWriteStream> | undefined;
  let opening: Promise<void> | undefined;

  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (out) {
        writeReleasing(out, chunk) ? cb() : out.once('drain', () => cb());
        return;
      }
      chunks.push(chunk);
      if (size <= memoryLimit) return cb();
      // Overflow: move what we have to a temp file and stream the rest there.
      opening = mkdtemp(join(tmpdir(), 'ls-mix-spool-')).then((d) => {
        dir = d;
        file = join(d, 'body');
        out = createWriteStream(file);
        // A failing temp file (disk full) fails the spool instead of crashing the process.
        out.on('error', (e) => sink.destroy(e));
        for (const c of chunks.splice(0)) writeReleasing(out, c);
      });
      opening.then(() => cb(), cb);
    },
    final(cb) {
      if (!out) return cb();
      out.end(() => cb());
    },
  });

  try {
    await pipeline(body, sink);
  } catch (err) {
    // The temp folder may still be in the making when the source fails: wait, then remove it.
    await opening?.catch(() => {});
    const stream = out;
    if (stream && !stream.closed) {
      await new Promise<void>((resolve) => {
        stream.once('close', resolve);
        stream.destroy();
      });
    }
    if (dir) await rm(dir, { recursive: true, force: true });
    throw err;
  }

  const buffer = file ? undefined : Buffer.concat(chunks, size);
  for (const c of chunks.splice(0)) releaseEncoded(c);
  return {
    size,
    buffer,
    file,
    open: (start = 0, end = size) =>
      file
        ? // createReadStream's end is inclusive; an empty range reads nothing.
          end > start
          ? // Each read is a fresh buffer that dies once sent: counted toward the young collections
            // (memory.ts), or they wait for V8's external-memory threshold (S3 peak +10-20 MiB).
            collecting(createReadStream(file, { start, end: end - 1, highWaterMark: READ_CHUNK }))
          : Readable.from([])
        : Readable.from([(buffer as Buffer).subarray(start, end)]),
    dispose: async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Buffers of writeFileRange: a few reads in flight, each buffer reused once written. */
const SEND_CHUNK = 256 * 1024;
const SEND_BUFFERS = 3;
/**
 * Shared by every upload of the process (two parts go at once): buffers of one part, dropped
 * after it, died in V8's old generation and waited there for a full collection (Node 24, S3
 * snapshot of a 2 GiB db: peak RSS 124 MiB). Let go after 2 s without uploads (IdleRelease).
 */
const sendBuffers = new BlockPool(SEND_CHUNK, 8);
const sending = new IdleRelease(() => sendBuffers.trim());

/** A SEND_CHUNK buffer from the shared pool (sha256 passes over spooled parts); give it back. */
export function borrowSendBuffer(): Buffer {
  sending.enter();
  return sendBuffers.acquire(SEND_CHUNK);
}

export function returnSendBuffer(buffer: Buffer): void {
  sendBuffers.release(buffer);
  sending.leave();
}

/** Send buffers lent out now (writeFileRange's and borrowSendBuffer's): 0 between uploads. */
export function sendBuffersLent(): number {
  return sendBuffers.lentCount;
}

/**
 * Write bytes [start, end) of `file` into `dest` (left open) through SEND_BUFFERS reused
 * buffers, each taken again only once dest's write callback says it is written. A read stream
 * gives every read a new buffer that then waits in the socket until sent; glibc's heap kept the
 * room they took (S3 snapshot uploads, issue 17). Fails when dest fails or closes first.
 */
export async function writeFileRange(
  file: string,
  start: number,
  end: number,
  dest: Writable,
): Promise<void> {
  const fh = await open(file, 'r');
  sending.enter();
  const free: Buffer[] = [];
  let allocated = 0;
  let finished = false;
  let failed: Error | undefined;
  /** Wakes the loop when a buffer comes back, dest drains, or dest fails or closes. */
  let wake: (() => void) | undefined;
  const rouse = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onError = (err: Error) => {
    failed ??= err;
    rouse();
  };
  const gone = () =>
    failed ?? (dest.destroyed ? new Error('the request closed before its body was sent') : undefined);
  dest.on('error', onError);
  dest.on('close', rouse);
  dest.on('drain', rouse);
  const sleep = () => new Promise<void>((resolve) => (wake = resolve));
  try {
    for (let pos = start; pos < end; ) {
      const stop = gone();
      if (stop) throw stop;
      if (dest.writableNeedDrain) {
        await sleep(); // 'drain', a failure or a close wakes it
        continue;
      }
      let buf = free.pop();
      if (!buf && allocated < SEND_BUFFERS) {
        buf = sendBuffers.acquire(SEND_CHUNK);
        allocated++;
      }
      if (!buf) {
        await sleep();
        continue;
      }
      let bytesRead = 0;
      try {
        ({ bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end - pos), pos));
      } finally {
        // A read that failed or found nothing: its buffer goes back with the others below.
        if (bytesRead === 0) free.push(buf);
      }
      if (bytesRead === 0) throw new Error(`spool file ${file} ends at byte ${pos}, expected ${end}`);
      pos += bytesRead;
      const owned = buf;
      dest.write(owned.subarray(0, bytesRead), (err) => {
        if (err) failed ??= err;
        // Written after this call returned (it failed meanwhile): straight back to the pool.
        if (finished) sendBuffers.release(owned);
        else free.push(owned);
        rouse();
      });
    }
    const stop = gone();
    if (stop) throw stop;
  } finally {
    finished = true;
    for (const b of free.splice(0)) sendBuffers.release(b);
    sending.leave();
    dest.off('error', onError);
    dest.off('close', rouse);
    dest.off('drain', rouse);
    await fh.close();
  }
}
