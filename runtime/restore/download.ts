/**
 * Bounded parallel downloads of replica objects into local temp files, decoded (age, LZ4) on
 * the way, so no object is ever held whole in memory.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { type Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AgeConfig } from '../config/types.js';
import { isUserError, UserError, withReplica } from '../errors.js';
import { loadAge } from '../format/age.js';
import { BlockPool } from '../format/lz4.js';
import { decodeObject } from '../format/object.js';
import { collectYoung, IdleRelease } from '../memory.js';

/** Decoded 4 MiB blocks, reused across every download of the process (see BlockPool). */
const decodedBlocks = new BlockPool();
/** Downloads running; once none has run for a while the pool lets its free buffers go. */
const downloads = new IdleRelease(() => decodedBlocks.trim());

export interface DownloadJob {
  /** Object key, for errors. */
  key: string;
  open: () => Promise<Readable>;
  dest: string;
}

/** Runs at most `limit` tasks at once, in submission order; stop() skips the ones not started. */
export class TaskPool {
  private running = 0;
  private readonly queue: Array<() => void> = [];
  private stopped = false;

  constructor(private readonly limit: number) {}

  run<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        if (this.stopped) return reject(new Error('cancelled'));
        this.running++;
        task()
          .then(resolve, reject)
          .finally(() => {
            this.running--;
            this.queue.shift()?.();
          });
      };
      if (this.running < this.limit) start();
      else this.queue.push(start);
    });
  }

  stop(): void {
    this.stopped = true;
    for (const start of this.queue.splice(0)) start();
  }
}

/**
 * Download one object into `dest` (decoded). `onBytes` gets stored (compressed) byte counts.
 * Returns the decoded size. Errors name the object.
 */
export async function downloadObject(
  job: DownloadJob,
  opts: {
    age?: AgeConfig;
    replica: string;
    onBytes?: (n: number) => void;
    signal?: AbortSignal;
    /** Start an fdatasync after every this many bytes written (see fileSink). */
    syncEvery?: number;
  },
): Promise<number> {
  let decoded = 0;
  let out: FileHandle | undefined;
  downloads.enter();
  try {
    // The output first: once the body flows, no await may come before pipeline() listens, or a
    // decoding error (say, an age-encrypted object) is emitted with nobody listening.
    out = await open(job.dest, 'wx');
    if (opts.age?.identities.length) await loadAge();
    const source = await job.open();
    const body = counter((n) => {
      opts.onBytes?.(n);
      collectYoung(n);
    });
    source.on('error', (err) => body.destroy(err));
    body.on('close', () => source.destroy());
    source.pipe(body);
    const plain = await decodeObject(body, { name: job.key, age: opts.age, pool: decodedBlocks });
    await pipeline(
      plain,
      counter((n) => {
        decoded += n;
      }),
      fileSink(out, opts.syncEvery),
      { signal: opts.signal },
    );
    return decoded;
  } catch (err) {
    if (isUserError(err)) throw withReplica(err, opts.replica);
    throw new UserError(`replica "${opts.replica}": cannot download ${job.key}: ${(err as Error).message}`, {
      cause: err,
    });
  } finally {
    downloads.leave();
    await out?.close().catch(() => undefined);
  }
}

/**
 * Writes a stream into an open file, one write at a time (two at once measured no faster).
 * With `syncEvery`, an fdatasync starts in the background after each `syncEvery` bytes (one at
 * a time): the data reaches the disk while decoding goes on, instead of all of it in the
 * final fsync (the kernel would otherwise keep up to ~10% of RAM dirty before writing back).
 * The last one is awaited before the stream finishes, and its error fails the download.
 */
function fileSink(fh: FileHandle, syncEvery?: number): Writable {
  let position = 0;
  let unsynced = 0;
  let syncing: Promise<void> | undefined;
  let syncError: Error | undefined;
  return new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, cb) {
      if (syncError) return cb(syncError);
      writeFully(fh, chunk, position).then(() => {
        decodedBlocks.release(chunk); // written: its buffer may hold the next block
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

/** A pass-through that reports the size of each chunk. */
function counter(onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      onBytes(chunk.length);
      cb(null, chunk);
    },
  });
}
