/**
 * Deciding what to restore, from listings only: which replica, which generation, which
 * snapshot, which WAL segments. Mirrors Litestream v0.3.13 (newest data wins; -timestamp
 * compares object times; -index stops after that WAL index) and refuses gaps.
 */
import type { AgeConfig } from '../config/types.js';
import { UserError } from '../errors.js';
import { snapshotKey, walSegmentKey } from '../format/layout.js';
import type { ReplicaClient, SnapshotInfo, WalSegmentInfo } from '../replica/client.js';
import { formatIndex } from './listings.js';

export interface RestoreReplica {
  name: string;
  client: ReplicaClient;
  age?: AgeConfig;
}

export interface RestoreTarget {
  generation?: string;
  /** Restore up to and including this WAL index. */
  index?: number;
  /** Restore only objects created at or before this time. */
  timestamp?: Date;
}

export interface GenerationSummary {
  replica: string;
  generation: string;
  /** Oldest and newest object time in the generation. */
  createdAt: Date;
  updatedAt: Date;
  snapshots: SnapshotInfo[];
  segments: WalSegmentInfo[];
}

export interface RestorePlan {
  replica: RestoreReplica;
  generation: string;
  snapshot: SnapshotInfo;
  /** Segments to apply, grouped by WAL index in ascending order (offsets ascending). */
  indexes: Array<{ index: number; segments: WalSegmentInfo[] }>;
  /** Sum of stored object sizes (what will be downloaded). */
  bytes: number;
  /** With -index: segments of the index after the last one applied (they record where it ended). */
  next: WalSegmentInfo[];
}

/** No replica holds anything restorable: `-if-replica-exists` turns this into exit 0. */
export class NoBackupError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, { hint });
    this.name = 'NoBackupError';
  }
}

/** Listings of one generation with its time bounds; undefined when it holds no objects. */
export async function summarizeGeneration(
  replica: string,
  client: ReplicaClient,
  generation: string,
): Promise<GenerationSummary | undefined> {
  const [snapshots, segments] = await Promise.all([
    client.snapshots(generation),
    client.walSegments(generation),
  ]);
  if (snapshots.length + segments.length === 0) return undefined;
  // A loop, not Math.min(...times): a long-lived generation has more segments than the
  // engine allows arguments (RangeError at ~100k).
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const o of [snapshots, segments].flat()) {
    const t = o.createdAt.getTime();
    if (t < first) first = t;
    if (t > last) last = t;
  }
  return {
    replica,
    generation,
    createdAt: new Date(first),
    updatedAt: new Date(last),
    snapshots,
    segments,
  };
}

/**
 * The generation to restore from one replica: the requested one, or the one with the newest
 * object (Litestream's "latest"). With a timestamp, one that contains it; failing that (the
 * time is after a generation ended), the newest generation that started before it.
 */
export function chooseGeneration(
  summaries: GenerationSummary[],
  target: RestoreTarget,
): GenerationSummary | undefined {
  let candidates = summaries;
  if (target.generation) candidates = candidates.filter((g) => g.generation === target.generation);
  if (target.timestamp) {
    const t = target.timestamp.getTime();
    const started = candidates.filter((g) => g.createdAt.getTime() <= t);
    const containing = started.filter((g) => g.updatedAt.getTime() >= t);
    candidates = containing.length > 0 ? containing : started;
  }
  let best: GenerationSummary | undefined;
  for (const g of candidates) {
    // Equal newest times: the one that started later is the newer (generations follow each other).
    if (
      !best ||
      g.updatedAt > best.updatedAt ||
      (+g.updatedAt === +best.updatedAt && g.createdAt > best.createdAt)
    )
      best = g;
  }
  if (best && !target.generation && !target.timestamp) assertTimesOrderGenerations(candidates, best);
  return best;
}

/**
 * "Latest" trusts object times. One writer per location stores a generation's objects in
 * position order, and a new generation only after the previous one's last object; a copied
 * replica (`cp -r`, a bucket copy) or two writers sharing a location break that, and the newest
 * time then says nothing about the newest data. Refuse rather than restore an older generation.
 */
function assertTimesOrderGenerations(candidates: GenerationSummary[], best: GenerationSummary): void {
  if (candidates.length < 2) return; // nothing to choose between
  const disordered = candidates.find((g) => !timesFollowPositions(g));
  const rival = candidates.find(
    (g) =>
      g !== best &&
      (+g.updatedAt > +best.createdAt ||
        (+g.updatedAt === +best.updatedAt && +g.createdAt === +best.createdAt)),
  );
  if (!disordered && !rival) return;
  const why = disordered
    ? `generation ${disordered.generation} has objects older than the data before them`
    : `generations ${best.generation} and ${rival!.generation} overlap in time`;
  throw new UserError(
    `replica "${best.replica}": cannot tell which generation is the latest: ${why} ` +
      '(a copied replica, or two databases writing to one location?)',
    { hint: 'Choose one with -generation GEN (list them with `ls-mix generations` and `ls-mix snapshots`).' },
  );
}

/** Object times never decrease along positions: segments by (index, offset), snapshots after earlier indexes. */
function timesFollowPositions(g: GenerationSummary): boolean {
  const segs = [...g.segments].sort((a, b) => a.index - b.index || a.offset - b.offset);
  for (let i = 1; i < segs.length; i++) {
    if (segs[i].createdAt < segs[i - 1].createdAt) return false;
  }
  for (const snap of g.snapshots) {
    for (const seg of segs) {
      if (seg.index >= snap.index) break;
      if (snap.createdAt < seg.createdAt) return false;
    }
  }
  return true;
}

const fmtTime = (d: Date) => d.toISOString();

/** Snapshot + segment chain for one generation; throws naming what is missing. */
export function planGeneration(
  replica: RestoreReplica,
  g: GenerationSummary,
  target: RestoreTarget,
): RestorePlan {
  const where = `replica "${replica.name}", generation ${g.generation}`;
  const t = target.timestamp?.getTime();
  const usable = g.snapshots.filter(
    (s) =>
      (target.index === undefined || s.index <= target.index) &&
      (t === undefined || s.createdAt.getTime() <= t),
  );
  if (usable.length === 0) {
    const why =
      target.index !== undefined
        ? ` at or before WAL index ${formatIndex(target.index)}`
        : t !== undefined
          ? ` at or before ${fmtTime(target.timestamp!)}`
          : '';
    // Not a NoBackupError: a generation without a usable snapshot is a broken or in-progress
    // backup, which -if-replica-exists must not quietly turn into an empty database.
    throw new UserError(`${where}: no snapshot${why}`, {
      hint: g.snapshots.length
        ? `Snapshots start at index ${formatIndex(g.snapshots[0].index)}, ${fmtTime(g.snapshots[0].createdAt)}.`
        : 'The generation has no snapshot yet: wait for the first snapshot or restore another generation.',
    });
  }
  const snapshot = usable.reduce((a, b) => (b.index > a.index ? b : a));

  // Segments from the snapshot's index on; a timestamp takes the chain's prefix up to it.
  const chain: WalSegmentInfo[] = [];
  for (const s of g.segments) {
    if (s.index < snapshot.index) continue;
    if (target.index !== undefined && s.index > target.index) break;
    if (t !== undefined && s.createdAt.getTime() > t) break;
    chain.push(s);
  }
  const maxIndex = chain.length ? chain[chain.length - 1].index : snapshot.index;
  if (target.index !== undefined && maxIndex !== target.index && snapshot.index !== target.index) {
    const highest = g.segments.length ? g.segments[g.segments.length - 1].index : snapshot.index;
    throw new UserError(
      `${where}: WAL index ${formatIndex(target.index)} not found (highest index is ${formatIndex(highest)})`,
      {
        hint: 'List the indexes with `ls-mix wal`.',
      },
    );
  }

  const indexes: RestorePlan['indexes'] = [];
  for (let index = snapshot.index; index <= maxIndex; index++) {
    const segments = chain.filter((s) => s.index === index);
    if (segments.length === 0 && index !== snapshot.index) {
      throw new UserError(
        `${where}: WAL index ${formatIndex(index)} is missing (expected ${walSegmentKey(g.generation, index, 0)})`,
        {
          hint: 'The chain of WAL segments has a gap: restore an earlier point with -index or -timestamp.',
        },
      );
    }
    if (segments.length > 0 && segments[0].offset !== 0) {
      throw new UserError(
        `${where}: missing WAL segment ${walSegmentKey(g.generation, index, 0)} (the index's first segment, with the WAL header)`,
        { hint: 'The chain of WAL segments has a gap: restore an earlier point with -index or -timestamp.' },
      );
    }
    if (segments.length > 0) indexes.push({ index, segments });
  }
  const bytes = snapshot.size + chain.reduce((n, s) => n + s.size, 0);
  // -index N promises all of index N: the next index records where N ended. (A -timestamp cut
  // may stop inside an index on purpose, and the latest restore has no next index.)
  const next = target.index !== undefined ? g.segments.filter((s) => s.index === maxIndex + 1) : [];
  return { replica, generation: g.generation, snapshot, indexes, bytes, next };
}

/**
 * An error from one replica of several (unreachable, refused, unreadable) names that replica
 * and, when the database has others, hints `-replica NAME` with their names.
 */
export function replicaError(
  name: string,
  err: unknown,
  all: string[],
  doing = 'cannot list backups',
): UserError {
  const message = (err as Error).message ?? String(err);
  const others = all.filter((n) => n !== name);
  const pick = others.length
    ? `Use another replica with -replica ${others.length === 1 ? others[0] : `NAME (${others.join(', ')})`}.`
    : undefined;
  const own = (err as UserError).hint?.replace(/([^.!?])$/, '$1.');
  const hint = [own, pick].filter(Boolean).join(' ') || undefined;
  const text = message.includes(`"${name}"`) ? message : `replica "${name}": ${doing}: ${message}`;
  return new UserError(text, { hint, cause: err, exitCode: (err as UserError).exitCode });
}

/** Pick replica, generation and chain across all replicas (newest data wins). */
export async function planRestore(replicas: RestoreReplica[], target: RestoreTarget): Promise<RestorePlan> {
  if (replicas.length === 0) throw new UserError('no replicas to restore from');
  if (target.index !== undefined && target.timestamp !== undefined) {
    throw new UserError('cannot restore to both an index and a timestamp', {
      hint: 'Pass -index or -timestamp, not both.',
    });
  }
  let best: { replica: RestoreReplica; g: GenerationSummary } | undefined;
  for (const replica of replicas) {
    const summaries: GenerationSummary[] = [];
    try {
      const generations = await replica.client.generations();
      const wanted = target.generation ? generations.filter((g) => g === target.generation) : generations;
      for (const gen of wanted) {
        const s = await summarizeGeneration(replica.name, replica.client, gen);
        if (s) summaries.push(s);
      }
    } catch (err) {
      // Fail rather than silently restore older data from another replica.
      throw replicaError(
        replica.name,
        err,
        replicas.map((r) => r.name),
      );
    }
    const g = chooseGeneration(summaries, target);
    if (g && (!best || g.updatedAt > best.g.updatedAt)) best = { replica, g };
  }
  if (!best) {
    const names = replicas.map((r) => `"${r.name}"`).join(', ');
    if (target.generation) {
      throw new NoBackupError(
        `generation ${target.generation} not found on replica ${names}`,
        'List generations with `ls-mix generations`.',
      );
    }
    if (target.timestamp) {
      throw new NoBackupError(`no backup at or before ${fmtTime(target.timestamp)} on replica ${names}`);
    }
    throw new NoBackupError(`no backups found on replica ${names}`);
  }
  return planGeneration(best.replica, best.g, target);
}

export { snapshotKey, walSegmentKey };
