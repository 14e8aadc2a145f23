import type { FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';

export interface FileSinkOptions {
  /**
   * Called with each chunk once it is written: a pooled buffer (decoded or encoded LZ4 blocks)
   * may then hold the next block.
   */
  release?: (chunk: Buffer) => void;
  /**
   * An fdatasync starts in the background after each `syncEvery` bytes (one at a time): the data
   * reaches the disk while decoding goes on, instead of all of it in the final fsync (the kernel
   * would otherwise keep up to ~10% of RAM dirty before writing back). The last one is awaited
   * before the stream finishes, and its error fails the stream.
   */
  syncEvery?: number;
}

/**
 * Writes a stream into an open file from its start, one write at a time (two at once measured no
 * faster). The handle stays the caller's to close.
 */
export function fileSink(fh: FileHandle, opts: FileSinkOptions = {}): Writable {
  const { release, syncEvery } = opts;
  let position = 0;
  let unsynced = 0;
  let syncing: Promise<void> | undefined;
  let syncError: Error | undefined;
  return new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, cb) {
      if (syncError) return cb(syncError);
      writeFully(fh, chunk, position).then(() => {
        release?.(chunk);
        position += chunk.length;
        unsynced += chunk.length;
        if (syncEvery && unsynced >= syncEvery && !syncing) {
          unsynced = 0;
          syncing = fh
            .datasync()
            .catch((err: Error) => {
              syncError = err;
            })
            .finally(() => {
              syncing = undefined;
            });
        }
        cb();
      }, cb);
    },
    final(cb) {
      (syncing ?? Promise.resolve()).then(() => cb(syncError));
    },
  });
}

/** Write all of `data` at `position` (null: at the file's current offset), however the OS splits it. */
export async function writeFully(fh: FileHandle, data: Buffer, position: number | null): Promise<void> {
  for (let done = 0; done < data.length; ) {
    const at = position === null ? null : position + done;
    const { bytesWritten } = await fh.write(data, done, data.length - done, at);
    done += bytesWritten;
  }
}
