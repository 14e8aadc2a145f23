/**
 * Bounded parallel downloads of replica objects into local temp files, decoded (age, LZ4) on
 * the way, so no object is ever held whole in memory.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AgeConfig } from '../config/types.js';
import { isUserError, UserError, withReplica } from '../errors.js';
import { fileSink } from '../file-sink.js';
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
        // A task that throws before its first await must not skip the slot's release.
        Promise.resolve()
          .then(task)
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
    /**
     * Bounds how many downloads read, decode and write their body at once; the object is opened
     * (the request sent, its answer awaited) before a slot is taken. See restore.ts.
     */
    bodies?: TaskPool;
  },
): Promise<number> {
  let decoded = 0;
  let out: FileHandle | undefined;
  let source: Readable | undefined;
  let flowing = false;
  downloads.enter();
  try {
    // The output first: once the body flows, no await may come before pipeline() listens, or a
    // decoding error (say, an age-encrypted object) is emitted with nobody listening.
    out = await open(job.dest, 'wx');
    if (opts.age?.identities.length) await loadAge();
    source = await job.open();
    if (!opts.bodies) return await transfer(source);
    // Waiting for a slot: an error of the opened object (a reset connection) is kept for then.
    const opened = source;
    let early: Error | undefined;
    const keep = (err: Error) => {
      early ??= err;
    };
    opened.on('error', keep);
    return await opts.bodies.run(async () => {
      opened.off('error', keep);
      if (early) throw early;
      return transfer(opened);
    });
  } catch (err) {
    if (isUserError(err)) throw withReplica(err, opts.replica);
    throw new UserError(`replica "${opts.replica}": cannot download ${job.key}: ${(err as Error).message}`, {
      cause: err,
    });
  } finally {
    // An object opened but never read (the restore failed or was cancelled meanwhile).
    if (!flowing) source?.destroy();
    downloads.leave();
    await out?.close().catch(() => undefined);
  }

  async function transfer(source: Readable): Promise<number> {
    flowing = true;
    const body = counter((n) => {
      opts.onBytes?.(n);
      collectYoung(n);
    });
    source.on('error', (err) => body.destroy(err));
    body.on('close', () => source.destroy());
    source.pipe(body);
    const plain = await decodeObject(body, { name: job.key, age: opts.age, pool: decodedBlocks });
    const written = (chunk: Buffer) => {
      decoded += chunk.length;
      decodedBlocks.release(chunk);
    };
    await pipeline(plain, fileSink(out!, { release: written, syncEvery: opts.syncEvery }), {
      signal: opts.signal,
    });
    return decoded;
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
