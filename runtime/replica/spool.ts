import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { releaseEncoded } from '../format/lz4.js';
import { collecting } from '../memory.js';

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
