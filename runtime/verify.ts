/**
 * `ls-mix verify`: a backup you have never restored is a hypothesis. For each replica of a
 * database: restore its latest state into a scratch folder (the real restore path, including
 * PRAGMA integrity_check), compare it page by page with the live database at the restored
 * position (runtime/verify/compare.ts), and report the RPO (age of the newest replicated
 * object). Nothing is written next to the live database.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isUserError } from './errors.js';
import { walSegmentKey } from './format/layout.js';
import { decodeObject } from './format/object.js';
import type { Logger } from './log.js';
import { defaultMetaPath, LocalState } from './replicate/local-state.js';
import type { RestoreReplica } from './restore/plan.js';
import { summarizeGeneration } from './restore/plan.js';
import { type RestoreProgress, restoreDatabase } from './restore/restore.js';
import { readWalHeader, WAL_HEADER_SIZE } from './sqlite/wal.js';
import { type CompareResult, compareWithLive } from './verify/compare.js';
import { type PointsResult, type VerifyPoints, verifyPoints } from './verify/points.js';

export type { CompareResult } from './verify/compare.js';
export type { PointsResult, VerifyPoints } from './verify/points.js';

export interface VerifyOptions {
  /** The live database (compared with when it exists); undefined for a replica URL. */
  dbPath?: string;
  replicas: RestoreReplica[];
  /** Where scratch restores go (default: the OS temp folder). Removed afterwards. */
  scratchDir?: string;
  parallelism?: number;
  logger?: Logger;
  /** Clock for the RPO (tests). */
  now?: () => Date;
  /** Also restore earlier points of the latest generation: every WAL index, or a sample. */
  points?: VerifyPoints;
  /** Each replica's scratch restore, as it goes (the CLI's progress bar on a terminal). */
  onProgress?: (replica: string, p: RestoreProgress) => void;
}

export interface ReplicaVerification {
  db?: string;
  replica: string;
  ok: boolean;
  /** Why it failed (restore error, integrity, mismatch). */
  error?: string;
  generation?: string;
  index?: number;
  offset?: number;
  segments?: number;
  restoreMs: number;
  integrity?: 'ok' | 'failed';
  compare?: CompareResult;
  /** Age of the newest object in the replica's newest generation, in ms (undefined: empty). */
  rpoMs?: number;
  newestObjectAt?: string;
  /** With `points`: the WAL indexes restored, and those that failed. */
  points?: PointsResult;
}

export interface VerifyReport {
  ok: boolean;
  replicas: ReplicaVerification[];
}

/** Newest object time across every generation of a replica. */
async function newestObject(r: RestoreReplica): Promise<Date | undefined> {
  let newest: Date | undefined;
  for (const g of await r.client.generations()) {
    const s = await summarizeGeneration(r.name, r.client, g);
    if (s && (!newest || s.updatedAt > newest)) newest = s.updatedAt;
  }
  return newest;
}

/** The first 32 bytes (WAL header) of index `index`'s segment at offset 0. */
async function walHeaderOf(
  r: RestoreReplica,
  generation: string,
  index: number,
): Promise<Buffer | undefined> {
  const pos = { generation, index, offset: 0 };
  const body = await r.client.openWalSegment(pos);
  const plain = await decodeObject(body, { name: walSegmentKey(generation, index, 0), age: r.age });
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of plain) {
    chunks.push(chunk as Buffer);
    n += (chunk as Buffer).length;
    if (n >= WAL_HEADER_SIZE) break;
  }
  plain.destroy();
  body.destroy();
  const head = Buffer.concat(chunks);
  return head.length >= WAL_HEADER_SIZE ? head.subarray(0, WAL_HEADER_SIZE) : undefined;
}

export async function verifyReplica(
  r: RestoreReplica,
  opts: Omit<VerifyOptions, 'replicas'> & { scratch: string },
): Promise<ReplicaVerification> {
  const now = opts.now ?? (() => new Date());
  const out: ReplicaVerification = { db: opts.dbPath, replica: r.name, ok: false, restoreMs: 0 };
  const log = opts.logger?.child({ replica: r.name });
  try {
    const newest = await newestObject(r);
    if (newest) {
      out.newestObjectAt = newest.toISOString();
      out.rpoMs = Math.max(0, now().getTime() - newest.getTime());
    }
  } catch (err) {
    out.error = `cannot list the replica: ${(err as Error).message}`;
    return out;
  }
  const restored = join(opts.scratch, `${r.name.replace(/[^\w.-]/g, '_')}.db`);
  const started = performance.now();
  try {
    const res = await restoreDatabase({
      replicas: [r],
      outputPath: restored,
      parallelism: opts.parallelism,
      // verify is the thorough check: every index entry too, whatever restore's default is.
      integrity: 'full',
      logger: log,
      onProgress: opts.onProgress && ((p) => opts.onProgress?.(r.name, p)),
    });
    out.restoreMs = Math.round(performance.now() - started);
    // restoreDatabase ran PRAGMA integrity_check (integrity: 'full') and throws when it fails.
    out.integrity = 'ok';
    Object.assign(out, {
      generation: res.generation,
      index: res.index,
      offset: res.offset,
      segments: res.segments,
    });
    if (opts.dbPath) {
      // Snapshot-only state: the local shadow WAL of that index (if this is the replicating
      // machine) still knows which live WAL the position belongs to.
      const walHeader =
        res.offset > 0
          ? await walHeaderOf(r, res.generation, res.index)
          : readWalHeader(new LocalState(defaultMetaPath(opts.dbPath)).shadowPath(res.generation, res.index))
              ?.raw;
      out.compare = compareWithLive(opts.dbPath, restored, { walHeader, offset: res.offset });
      if (out.compare.status === 'mismatch') {
        out.error = `restored database differs from the live one: ${out.compare.reason}`;
        return out;
      }
    }
    if (opts.points !== undefined && opts.points !== 'latest') {
      out.points = await verifyPoints(r, opts.points, {
        scratch: opts.scratch,
        parallelism: opts.parallelism,
        logger: log,
      });
      const bad = out.points.failed[0];
      if (bad) {
        out.error = `${out.points.failed.length} of ${out.points.checked.length} earlier points do not restore; WAL index ${bad.index}: ${bad.error}`;
        return out;
      }
    }
    out.ok = true;
    return out;
  } catch (err) {
    out.restoreMs = Math.round(performance.now() - started);
    const msg = (err as Error).message;
    if (/integrity_check/.test(msg)) out.integrity = 'failed';
    out.error = isUserError(err) ? msg : `${(err as Error).name}: ${msg}`;
    return out;
  } finally {
    await rm(restored, { force: true });
  }
}

/** Verify every replica given; never throws for a replica's failure (it is in the report). */
export async function verifyReplicas(opts: VerifyOptions): Promise<VerifyReport> {
  const base = opts.scratchDir ? resolve(opts.scratchDir) : tmpdir();
  const scratch = await mkdtemp(join(base, 'ls-mix-verify-'));
  const dbPath = opts.dbPath ? resolve(opts.dbPath) : undefined;
  try {
    const replicas: ReplicaVerification[] = [];
    for (const r of opts.replicas) {
      const v = await verifyReplica(r, { ...opts, dbPath, scratch });
      opts.logger?.[v.ok ? 'info' : 'error'](
        { replica: v.replica, ok: v.ok, restoreMs: v.restoreMs, rpoMs: v.rpoMs, err: v.error },
        'verify',
      );
      replicas.push(v);
    }
    return { ok: replicas.every((r) => r.ok), replicas };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
