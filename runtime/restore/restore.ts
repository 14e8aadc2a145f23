/**
 * restoreDatabase: rebuild a SQLite database from a replica into a temp file beside the
 * output, check it, then move it into place. Never touches an existing database.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError, withReplica } from '../errors.js';
import { snapshotKey, walSegmentKey } from '../format/layout.js';
import type { Logger } from '../log.js';
import type { WalSegmentInfo } from '../replica/client.js';
import {
  applyWal,
  type BuiltWal,
  buildWal,
  checkIntegrity,
  INTEGRITY_LEVELS,
  type IntegrityLevel,
  type LocalSegment,
  snapshotPageSize,
} from './apply.js';
import { downloadObject, TaskPool } from './download.js';
import { type IndexEnd, indexEndFromSegments, readIndexEnd } from './index-end.js';
import { formatIndex } from './listings.js';
import { isNoSpace, noSpaceError, outputFolderError } from './output-errors.js';
import { planRestore, type RestoreReplica } from './plan.js';

export interface RestoreProgress {
  phase: 'download' | 'apply' | 'verify' | 'done';
  bytesDone: number;
  bytesTotal: number;
}

export interface RestoreOptions {
  replicas: RestoreReplica[];
  outputPath: string;
  generation?: string;
  index?: number;
  timestamp?: Date;
  /** Concurrent WAL segment downloads (default 8); the snapshot downloads beside them. */
  parallelism?: number;
  /** SQLite check of the result before it is placed (default `quick`; see IntegrityLevel). */
  integrity?: IntegrityLevel;
  logger?: Logger;
  onProgress?: (p: RestoreProgress) => void;
  /** Abort (a signal): downloads stop, temp files are removed, the promise rejects with the reason. */
  signal?: AbortSignal;
}

export interface RestoreResult {
  replica: string;
  generation: string;
  /** Last WAL index applied (the snapshot's index when there were no segments). */
  index: number;
  /** WAL bytes applied in that index. */
  offset: number;
  snapshotIndex: number;
  segments: number;
  /** Stored (compressed) bytes downloaded. */
  bytes: number;
  path: string;
}

/** Snapshot bytes written between background fdatasyncs (see fileSink in file-sink.ts). */
const SNAPSHOT_SYNC_EVERY = 64 << 20;
/**
 * WAL segments read, decoded and written at once, however many are opened (-parallelism): each
 * one doing so holds a few decoded blocks (up to ~3 MiB). The rest wait opened — a remote
 * object's answer in the socket, not in memory — so -parallelism still hides request latency.
 * Restore -parallelism 8 of the bench's bulk replica (file): peak RSS 95-99 -> 82-90 MiB, same time.
 */
const SEGMENT_BODIES = 2;

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function fsync(path: string, flags = 'r'): Promise<void> {
  const fh = await open(path, flags);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function outputExists(path: string): UserError {
  return new UserError(`cannot restore: ${path} already exists`, {
    hint: 'Restore to another path with -o, remove the database first, or pass -if-db-not-exists.',
  });
}

/** Move the finished temp file to `out` without ever replacing an existing file. */
async function placeNoClobber(tmp: string, out: string): Promise<void> {
  try {
    await link(tmp, out); // atomic, fails with EEXIST instead of overwriting
    await rm(tmp, { force: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw outputExists(out);
    // Filesystems without hard links: check, then rename (a tiny race, as Litestream has).
    if (await exists(out)) throw outputExists(out);
    await rename(tmp, out);
  }
  await fsync(dirname(out));
}

/**
 * Temp names of a restore into `out`: `<out>.lsmix-<pid>-<hex>.tmp` (and its -wal, -shm,
 * -journal) and `<out>.lsmix-<pid>-<hex>.segments/`. Earlier versions used `<out>.<hex>.tmp`.
 */
function tempNameRe(out: string): RegExp {
  const base = basename(out).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${base}\\.(?:lsmix-(\\d+)-)?[0-9a-f]{8}\\.(?:tmp(?:-wal|-shm|-journal)?|segments)$`);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove what an earlier, interrupted restore into `out` left (a killed process cannot clean
 * up): only our own temp names, and never those of a restore still running (its pid is alive).
 */
async function removeStaleTemps(out: string, log?: Logger): Promise<void> {
  const re = tempNameRe(out);
  let names: string[];
  try {
    names = await readdir(dirname(out));
  } catch {
    return;
  }
  for (const name of names) {
    const m = re.exec(name);
    if (!m) continue;
    const pid = m[1] === undefined ? undefined : Number(m[1]);
    if (pid !== undefined && pid !== process.pid && pidAlive(pid)) continue;
    await rm(join(dirname(out), name), { recursive: true, force: true });
    log?.warn({ path: join(dirname(out), name) }, 'removed a temp file of an interrupted restore');
  }
}

/** Files beside the target SQLite would replay into a new database at that path. */
async function refuseLeftovers(out: string): Promise<void> {
  if (await exists(`${out}-wal`)) {
    throw new UserError(`cannot restore: a WAL file ${out}-wal exists without its database`, {
      hint: 'SQLite would replay that stale WAL into the restored database: move it away first.',
    });
  }
  if (await exists(`${out}-journal`)) {
    throw new UserError(`cannot restore: a rollback journal ${out}-journal exists without its database`, {
      hint: 'SQLite would roll that hot journal back into the restored database (corrupting it): move it away first.',
    });
  }
}

/** A recorded end of WAL index `index` that differs from what was applied: segments are missing. */
function checkIndexEnd(
  rec: IndexEnd | undefined,
  generation: string,
  index: number,
  applied: number,
  where: string,
): void {
  if (!rec || rec.index !== index || rec.end === applied) return;
  if (rec.end > applied) {
    throw new UserError(
      `${where}: WAL index ${formatIndex(index)} is incomplete: its segments end at offset ${applied}, but the index ended at ${rec.end} (missing ${walSegmentKey(generation, index, applied)})`,
      { hint: 'Restore an earlier point with -index or -timestamp, or from another replica.' },
    );
  }
}

export async function restoreDatabase(opts: RestoreOptions): Promise<RestoreResult> {
  const out = resolve(opts.outputPath);
  if (await exists(out)) throw outputExists(out);
  await refuseLeftovers(out);
  await removeStaleTemps(out, opts.logger);
  const parallelism = opts.parallelism ?? 8;
  if (!Number.isInteger(parallelism) || parallelism < 1) {
    throw new UserError(`parallelism must be a whole number of at least 1 (got ${opts.parallelism})`);
  }
  const integrity = opts.integrity ?? 'quick';
  if (!INTEGRITY_LEVELS.includes(integrity)) {
    throw new UserError(`integrity must be one of ${INTEGRITY_LEVELS.join(', ')} (got ${opts.integrity})`);
  }

  const plan = await planRestore(opts.replicas, {
    generation: opts.generation,
    index: opts.index,
    timestamp: opts.timestamp,
  });
  const { replica, generation, snapshot } = plan;
  const where = `replica "${replica.name}", generation ${generation}`;
  const segmentCount = plan.indexes.reduce((n, ix) => n + ix.segments.length, 0);
  opts.logger?.info(
    {
      replica: replica.name,
      generation,
      snapshot: snapshot.index,
      segments: segmentCount,
      bytes: plan.bytes,
    },
    'restoring',
  );

  const tag = `lsmix-${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmpDb = `${out}.${tag}.tmp`;
  const work = `${out}.${tag}.segments`;
  try {
    await mkdir(dirname(out), { recursive: true });
    await mkdir(work);
  } catch (err) {
    throw await outputFolderError(dirname(out), err);
  }

  let bytesDone = 0;
  let phase: RestoreProgress['phase'] = 'download';
  const report = () => opts.onProgress?.({ phase, bytesDone, bytesTotal: plan.bytes });
  const onBytes = (n: number) => {
    bytesDone += n;
    report();
  };
  report();

  const pool = new TaskPool(parallelism);
  const bodies = new TaskPool(Math.min(parallelism, SEGMENT_BODIES));
  const pending: Promise<unknown>[] = [];
  const track = <T>(p: Promise<T>): Promise<T> => {
    pending.push(p.catch(() => undefined));
    return p;
  };
  // On failure, abort downloads in flight instead of waiting for them to finish.
  const abort = new AbortController();
  const interrupted = () => abort.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', interrupted, { once: true });
  const checkAborted = () => {
    if (opts.signal?.aborted) throw opts.signal.reason ?? new UserError('restore interrupted');
  };
  const dl = { age: replica.age, replica: replica.name, onBytes, signal: abort.signal };

  let placed = false;
  try {
    // Schedule everything in apply order; the pool bounds concurrency.
    const snapKey = snapshotKey(generation, snapshot.index);
    // The snapshot downloads beside the pool: -parallelism bounds WAL segment downloads, as in
    // Litestream v0.3.13 ("the number of WAL files downloaded in parallel"). Inside the pool it
    // held the only slot at -parallelism 1, and all ~100 segments of the bench's restore were then
    // fetched one by one after it (5.5 s against 4.2 s at -parallelism 8).
    const snapDone = track(
      downloadObject(
        {
          key: snapKey,
          // -parallelism bounds the snapshot's ranged GETs too, when a slow network splits its read.
          open: () =>
            replica.client.openSnapshot(generation, snapshot.index, {
              size: snapshot.size,
              parallelism,
              spillDir: dirname(out),
            }),
          dest: tmpDb,
        },
        { ...dl, syncEvery: SNAPSHOT_SYNC_EVERY },
      ),
    );
    // Segments download at most `lookahead` ahead of the one being appended, so disk use stays
    // bounded by the current index's WAL plus a window, however long the chain is.
    const lookahead = parallelism * 2;
    const flat: Array<{ seg: WalSegmentInfo; local: LocalSegment; done?: Promise<number> }> = [];
    let scheduled = 0;
    const scheduleUpTo = (n: number) => {
      for (; scheduled < Math.min(n, flat.length); scheduled++) {
        const f = flat[scheduled];
        f.done = track(
          pool.run(() =>
            downloadObject(
              { key: f.local.key, open: () => replica.client.openWalSegment(f.seg), dest: f.local.path },
              { ...dl, bodies },
            ),
          ),
        );
      }
    };
    const indexes = plan.indexes.map(({ index, segments }) => ({
      index,
      segments: segments.map((seg) => {
        const position = flat.length;
        const local: LocalSegment = {
          key: walSegmentKey(generation, seg.index, seg.offset),
          offset: seg.offset,
          path: join(work, `${seg.index}-${seg.offset}.wal`),
          ready: () => {
            scheduleUpTo(position + 1 + lookahead);
            return flat[position].done!;
          },
        };
        flat.push({ seg, local });
        return local;
      }),
    }));
    scheduleUpTo(lookahead);
    // Each index's WAL is assembled and checked in a file of its own, the first one while the
    // snapshot is still downloading and each next one while the one before is applied.
    const buildIndex = (i: number): Promise<BuiltWal> =>
      track(
        buildWal(
          join(work, `${indexes[i].index}.wal`),
          generation,
          indexes[i].index,
          indexes[i].segments,
        ).catch((err: unknown) => {
          throw withReplica(err, replica.name);
        }),
      );
    let nextWal = indexes.length > 0 ? buildIndex(0) : undefined;

    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    await snapDone;
    checkAborted();
    opts.logger?.debug({ ms: elapsed() }, 'snapshot downloaded');
    const pageSize = await snapshotPageSize(snapKey, tmpDb).catch((err: unknown) => {
      throw withReplica(err, replica.name);
    });
    let lastIndex = snapshot.index;
    let lastOffset = 0;
    for (let i = 0; i < indexes.length; i++) {
      checkAborted();
      phase = 'apply';
      report();
      const wal = await nextWal!;
      nextWal = i + 1 < indexes.length ? buildIndex(i + 1) : undefined;
      await applyWal(tmpDb, generation, wal, pageSize).catch((err: unknown) => {
        throw withReplica(err, replica.name);
      });
      // The index just applied records where the one before it ended (index-end.ts).
      if (wal.index === lastIndex + 1)
        checkIndexEnd(readIndexEnd(tmpDb).record, generation, lastIndex, lastOffset, where);
      lastIndex = wal.index;
      lastOffset = wal.offset;
      opts.logger?.debug({ index: wal.index, frames: wal.frames, ms: elapsed() }, 'applied WAL index');
    }
    // Stopping before the generation's last index (-index, -timestamp): the next index's first
    // frames say where this one ended.
    if (plan.next.length > 0) {
      const { rootPage } = readIndexEnd(tmpDb);
      const rec = rootPage
        ? await indexEndFromSegments(replica, generation, plan.next, rootPage, pageSize)
        : undefined;
      if (rec) checkIndexEnd(rec, generation, lastIndex, lastOffset, where);
      else {
        opts.logger?.warn(
          { index: lastIndex, offset: lastOffset },
          `${where}: cannot show that WAL index ${formatIndex(lastIndex)} is complete (index ${formatIndex(lastIndex + 1)} does not record its end: a replica not written by ls-mix?)`,
        );
      }
    }

    opts.logger?.debug({ ms: elapsed() }, 'WAL applied');

    checkAborted();
    phase = 'verify';
    report();
    // Flush in the thread pool while SQLite checks the database on this thread (both take
    // about a second for 1 GB). The fsync after the check is the one that counts; it finds
    // (nearly) nothing left to write.
    // Its error is not swallowed: after a failed fsync Linux may report the next one clean.
    const flushing = fsync(tmpDb, 'r+');
    try {
      checkIntegrity(tmpDb, integrity);
    } catch (err) {
      await flushing.catch(() => undefined);
      throw err;
    }
    await flushing;
    opts.logger?.debug({ ms: elapsed(), integrity }, 'integrity checked');
    await rm(`${tmpDb}-wal`, { force: true });
    await rm(`${tmpDb}-shm`, { force: true });
    await fsync(tmpDb, 'r+');
    checkAborted();
    // The target may have gained a journal while we worked: check again right before placing.
    await refuseLeftovers(out);
    await placeNoClobber(tmpDb, out);
    opts.logger?.debug({ ms: elapsed() }, 'synced and placed');
    placed = true;
    phase = 'done';
    report();
    opts.logger?.info({ path: out, generation, index: lastIndex }, 'restore complete');
    return {
      replica: replica.name,
      generation,
      index: lastIndex,
      offset: lastOffset,
      snapshotIndex: snapshot.index,
      segments: segmentCount,
      bytes: plan.bytes,
      path: out,
    };
  } catch (err) {
    if (isNoSpace(err)) throw await noSpaceError(out, tmpDb, plan.bytes, err);
    throw err;
  } finally {
    opts.signal?.removeEventListener('abort', interrupted);
    pool.stop();
    bodies.stop();
    if (!placed) abort.abort();
    await Promise.all(pending);
    await rm(work, { recursive: true, force: true });
    if (!placed) {
      for (const p of [tmpDb, `${tmpDb}-wal`, `${tmpDb}-shm`, `${tmpDb}-journal`])
        await rm(p, { force: true });
    }
  }
}
