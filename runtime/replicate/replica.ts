/**
 * One replica of a monitored database: ships shadow-WAL bytes as LZ4 segments at its own
 * sync-interval, takes snapshots, enforces retention.
 *
 * Its position (generation, index, offset) lives in memory; storage is LISTed only when the
 * position must be found (start, new generation) and for retention — never per sync (#234).
 * Segment bodies stream from the shadow file through the LZ4 encoder (never whole in RAM, #474).
 */

import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { ReplicaConfig } from '../config/types.js';
import { isUserError } from '../errors.js';
import { walSegmentKey } from '../format/layout.js';
import { createLz4FileRangeEncoder, Lz4FormatError } from '../format/lz4.js';
import { decodeObject, encodeFramed } from '../format/object.js';
import type { Logger } from '../log.js';
import type { Pos, ReplicaClient, SnapshotInfo } from '../replica/client.js';
import { WAL_HEADER_SIZE } from '../sqlite/wal.js';
import type { ByteCountListener } from './byte-count.js';
import type { MonitoredDb } from './db.js';
import { Mutex } from './mutex.js';
import { timerDelay } from './timers.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref?.());

export class ReplicaSyncer {
  readonly name: string;
  private readonly log: Logger;
  private readonly lock = new Mutex();
  /** Next byte to ship; undefined until found for the db's current generation. */
  private pos?: Pos;
  private hasSnapshot = false;
  private lastSnapshotAt = 0;
  private lastRetentionAt = Date.now();
  private failing?: string;
  /** Set by the first successful sync (the server's /healthz waits for it). */
  syncedOnce = false;
  private lastSyncedAt = 0;
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    readonly db: MonitoredDb,
    readonly config: ReplicaConfig,
    readonly client: ReplicaClient,
    logger: Logger,
  ) {
    this.name = config.name;
    this.log = logger.child({ db: db.path, replica: config.name });
    db.expectReplica(this.name);
  }

  /** Where the next segment starts (tests, status). */
  get position(): Pos | undefined {
    return this.pos && { ...this.pos };
  }

  /**
   * Failing for longer than max(3 x sync-interval, 10 s): the last attempt failed and no sync
   * succeeded within that bound (the sidecar's /healthz answers 503 until one does).
   */
  get stale(): boolean {
    const bound = Math.max(3 * this.config.syncInterval, 10_000);
    return this.failing !== undefined && this.syncedOnce && Date.now() - this.lastSyncedAt > bound;
  }

  start(): void {
    this.timer = setInterval(() => {
      this.sync().catch(() => undefined);
    }, timerDelay(this.config.syncInterval));
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Ship everything the shadow WAL holds; take the first snapshot of a generation, and later
   * ones on snapshot-interval; enforce retention on retention-check-interval. Errors are logged
   * once per change of state and retried on the next sync — the shadow WAL keeps the data.
   */
  sync(): Promise<void> {
    return this.lock.run(async () => {
      if (this.closed) return;
      try {
        await this.syncOnce();
        this.syncedOnce = true;
        this.lastSyncedAt = Date.now();
        if (this.failing) {
          this.log.info('replica reachable again; caught up');
          this.failing = undefined;
        }
      } catch (err) {
        const msg = (err as Error).message;
        if (msg !== this.failing) this.log.error({ err: msg }, 'replica sync failed; will retry every sync');
        this.failing = msg;
        throw err;
      }
    });
  }

  private async syncOnce(): Promise<void> {
    // Pull what was committed since the last monitor pass: the monitor itself wakes only every
    // monitor-interval, so a shorter sync-interval still ships commits within one interval.
    // (A failing pass is logged by the db; what the shadow WAL holds still ships.)
    await this.db.catchUp().catch(() => undefined);
    const cur = this.db.position;
    if (!cur) return;
    if (this.pos?.generation !== cur.generation) await this.findPosition(cur.generation);
    if (!this.pos) return;
    const { snapshotInterval, retention, retentionCheckInterval } = this.config;
    if (!this.hasSnapshot || (snapshotInterval > 0 && Date.now() - this.lastSnapshotAt >= snapshotInterval)) {
      await this.snapshotLocked();
    } else {
      await this.ship();
    }
    if (
      retention > 0 &&
      retentionCheckInterval > 0 &&
      Date.now() - this.lastRetentionAt >= retentionCheckInterval
    ) {
      await this.enforceRetentionLocked();
    }
  }

  /** Take a snapshot now (ls-mix snapshot, SIGUSR1). */
  snapshot(onBytes?: ByteCountListener): Promise<SnapshotInfo | undefined> {
    return this.lock.run(async () => {
      const cur = this.db.position;
      if (!cur) return undefined;
      if (this.pos?.generation !== cur.generation) await this.findPosition(cur.generation);
      return this.snapshotLocked(onBytes);
    });
  }

  enforceRetention(): Promise<void> {
    return this.lock.run(() => this.enforceRetentionLocked());
  }

  /** True when storage holds everything the shadow WAL holds (and a snapshot of the generation). */
  caughtUp(): boolean {
    const cur = this.db.position;
    const pos = this.pos;
    if (!cur) return true; // nothing opened yet (a db still waiting to exist): nothing to ship
    return (
      this.hasSnapshot &&
      pos !== undefined &&
      pos.generation === cur.generation &&
      pos.index === cur.index &&
      pos.offset >= cur.size
    );
  }

  /**
   * Stop; with abandon (a shutdown whose final sync ran out of time), do not wait for a sync
   * still retrying against unreachable storage.
   */
  async close(opts: { abandon?: boolean } = {}): Promise<void> {
    this.stop();
    if (opts.abandon) {
      this.closed = true;
      await Promise.race([this.client.close().catch(() => undefined), sleep(2_000)]);
      return;
    }
    await this.lock.run(async () => {
      this.closed = true;
    });
    await this.client.close();
  }

  // ---------------------------------------------------------------- position

  /** LIST the generation's segments once to learn where this replica stopped. */
  private async findPosition(generation: string): Promise<void> {
    const cur = this.db.position!;
    const [segments, snapshots] = await Promise.all([
      this.client.walSegments(generation),
      this.client.snapshots(generation),
    ]);
    this.hasSnapshot = snapshots.length > 0;
    this.lastSnapshotAt = Math.max(0, ...snapshots.map((s) => s.createdAt.getTime()));
    const last = segments.at(-1);
    let pos: Pos = { generation, index: cur.index, offset: 0 };
    if (last) {
      let length: number;
      try {
        length = await this.segmentLength(last);
      } catch (err) {
        // Format and decryption problems only; storage errors go to the normal retry.
        if (err instanceof Lz4FormatError || (isUserError(err) && /age|decrypt/i.test(err.message))) {
          // Unreadable (e.g. age-encrypted and no identities configured): where this replica
          // stopped is unknown, and writing on could overlap stored segments. Start afresh.
          this.pos = undefined;
          this.log.warn({ err: err.message }, 'cannot read the last stored WAL segment');
          await this.db.requestNewGeneration(`replica "${this.name}": last stored segment unreadable`);
          return;
        }
        throw err;
      }
      const end = { generation, index: last.index, offset: last.offset + length };
      const local = await this.db.shadowSize(generation, end.index);
      if (local !== undefined && end.offset <= local) {
        pos = end;
      } else if (local === undefined && end.index < cur.index) {
        // Shadow files are deleted only once every replica moved past them: this replica had
        // finished that index. Continue with the next one if it is still here.
        const next = { generation, index: end.index + 1, offset: 0 };
        if ((await this.db.shadowSize(generation, next.index)) !== undefined) {
          pos = next;
        } else {
          this.log.warn(
            { index: end.index },
            'local shadow WAL after the replica position is gone; new snapshot',
          );
          this.hasSnapshot = false;
        }
      } else {
        // Its objects do not match our shadow WAL (local state lost or replaced): a new
        // generation keeps the two from ever mixing.
        this.pos = undefined;
        await this.db.requestNewGeneration(`replica "${this.name}" is ahead of the local shadow WAL`);
        return;
      }
    } else {
      this.hasSnapshot = false;
    }
    this.pos = pos;
    this.db.setReplicaNeed(this.name, generation, pos.index);
    this.log.debug({ pos, snapshots: snapshots.length }, 'replica position found');
  }

  /** Decompressed length of a stored segment: its next offset is offset + length. */
  private async segmentLength(seg: Pos): Promise<number> {
    const body = await this.client.openWalSegment(seg);
    const plain = await decodeObject(body, {
      name: walSegmentKey(seg.generation, seg.index, seg.offset),
      age: this.config.age,
    });
    let n = 0;
    for await (const chunk of plain) n += (chunk as Buffer).length;
    return n;
  }

  // ---------------------------------------------------------------- shipping

  /** Upload shadow WAL bytes from the position to the end, one segment per index touched. */
  private async ship(): Promise<void> {
    const pos = this.pos;
    if (!pos) return;
    for (;;) {
      const cur = this.db.position;
      if (!cur || cur.generation !== pos.generation) return;
      const size = await this.db.shadowSize(pos.generation, pos.index);
      if (size === undefined) {
        // Only when an index was pruned under us: a snapshot restarts the chain.
        this.hasSnapshot = false;
        return;
      }
      if (pos.offset < size) {
        await this.uploadSegment(pos, size);
        pos.offset = size;
        continue;
      }
      if (pos.index < cur.index) {
        // That index is finished (the WAL restarted): move on to the next one.
        pos.index++;
        pos.offset = 0;
        this.db.setReplicaNeed(this.name, pos.generation, pos.index);
        this.db.pruneShadows();
        continue;
      }
      return;
    }
  }

  private async uploadSegment(pos: Pos, end: number): Promise<void> {
    // The shadow holds whole verified frames only; a length that is not whole frames means it
    // was torn (a full disk): never ship it — a new generation starts from a fresh snapshot.
    const fsz = this.db.frameSize;
    const frames = end - pos.offset - (pos.offset === 0 ? WAL_HEADER_SIZE : 0);
    if (fsz > 0 && (frames < 0 || frames % fsz !== 0)) {
      this.pos = undefined;
      await this.db.requestNewGeneration(
        `shadow WAL ${pos.index} failed verification before upload (${end - pos.offset} bytes at ${pos.offset})`,
      );
      throw new Error('shadow WAL segment failed verification before upload: started a new generation');
    }
    const fh = await open(this.db.shadowPath(pos.generation, pos.index), 'r');
    const framed = createLz4FileRangeEncoder(fh, pos.offset, end);
    // The upload gets read errors through its own listener; this one keeps an error that comes
    // after the upload gave up from crashing the process.
    framed.on('error', () => undefined);
    let body: Readable | undefined;
    try {
      body = await encodeFramed(framed, this.config.age);
      await this.client.writeWalSegment({ ...pos }, body);
    } finally {
      // Stopped before the handle closes (close waits for a read in flight): a failed upload
      // never reads from a closed descriptor.
      body?.destroy();
      framed.destroy();
      await fh.close();
    }
    this.log.debug(
      { generation: pos.generation, index: pos.index, offset: pos.offset, bytes: end - pos.offset },
      'wal segment written',
    );
  }

  // ---------------------------------------------------------------- snapshots

  /**
   * Ship first, then snapshot, with checkpoints held off: every page the database file can
   * differ in from the read transaction's view is in segments stored before the snapshot, so a
   * restore to any time at or after the snapshot is consistent.
   */
  private async snapshotLocked(onBytes?: ByteCountListener): Promise<SnapshotInfo | undefined> {
    return this.db.withCheckpointsHeld(async (cur) => {
      if (this.pos?.generation !== cur.generation) await this.findPosition(cur.generation);
      if (!this.pos) return undefined;
      // A replica without a snapshot in this generation starts a new chain: snapshot first, so
      // no restore ever finds segments without the snapshot they follow. Otherwise ship first:
      // every page the database file can differ in from the read transaction's view is then in
      // segments stored before the snapshot, so restores to any later time are consistent.
      const fresh = !this.hasSnapshot;
      if (fresh) {
        this.pos = { generation: cur.generation, index: cur.index, offset: 0 };
        this.db.setReplicaNeed(this.name, cur.generation, cur.index);
      } else {
        await this.ship();
      }
      const now = this.db.position;
      if (!now || now.generation !== cur.generation || this.pos.index !== now.index) {
        return undefined; // the generation moved on meanwhile: the next sync starts over
      }
      // The file's size under the read lock: checkpoints are held, so nothing writes to it.
      const size = this.db.dbFileSize();
      let read = 0;
      const onRead = (n: number) => {
        read += n;
        onBytes?.(read, size);
      };
      const framed = createLz4FileRangeEncoder(this.db.dbReader(), 0, size, { onRead });
      framed.on('error', () => undefined); // the upload gets it through its own listener
      const body = await encodeFramed(framed, this.config.age);
      const info = await this.client.writeSnapshot(now.generation, now.index, body);
      this.hasSnapshot = true;
      this.lastSnapshotAt = Date.now();
      this.log.info({ generation: now.generation, index: now.index, size: info.size }, 'snapshot written');
      if (fresh) await this.ship();
      return info;
    });
  }

  // ---------------------------------------------------------------- retention

  /**
   * Litestream's rule: keep snapshots newer than `retention` (taking a fresh one when the current
   * generation has none left), delete older generations that keep none, and in kept
   * generations delete snapshots and WAL segments before the oldest kept snapshot's index.
   */
  private async enforceRetentionLocked(): Promise<void> {
    this.lastRetentionAt = Date.now();
    const retention = this.config.retention;
    if (retention <= 0) return;
    const cur = this.db.position;
    if (!cur) return;
    const cutoff = Date.now() - retention;
    const generations = await this.client.generations();
    const byGen = new Map<string, SnapshotInfo[]>();
    for (const g of generations) byGen.set(g, await this.client.snapshots(g));
    const retained = (g: string) => (byGen.get(g) ?? []).filter((s) => s.createdAt.getTime() >= cutoff);
    if (retained(cur.generation).length === 0) {
      const snap = await this.snapshotLocked();
      if (!snap) return;
      byGen.set(cur.generation, [...(byGen.get(cur.generation) ?? []), snap]);
    }
    // While the current generation is younger than retention it cannot restore the whole window:
    // the newest earlier generation stays (a new generation may hold other content — a replaced
    // db, a wrong path — and must never be the reason the last good backup is deleted).
    const snapTimes = (g: string) => (byGen.get(g) ?? []).map((sn) => sn.createdAt.getTime());
    const curStart = Math.min(...snapTimes(cur.generation));
    let previous: string | undefined;
    if (curStart > cutoff) {
      let newest = Number.NEGATIVE_INFINITY;
      for (const g of generations) {
        const t = Math.max(...snapTimes(g));
        if (g !== cur.generation && t > newest) [previous, newest] = [g, t];
      }
    }
    let deleted = 0;
    for (const g of generations.includes(cur.generation) ? generations : [...generations, cur.generation]) {
      const keep = retained(g);
      if (keep.length === 0) {
        if (g === cur.generation || g === previous) continue;
        await this.client.deleteGeneration(g);
        deleted++;
        continue;
      }
      const minIndex = Math.min(...keep.map((s) => s.index));
      for (const s of byGen.get(g) ?? []) {
        if (s.index < minIndex) {
          await this.client.deleteSnapshot(g, s.index);
          deleted++;
        }
      }
      const old = (await this.client.walSegments(g)).filter((w) => w.index < minIndex);
      if (old.length > 0) {
        await this.client.deleteWalSegments(old);
        deleted += old.length;
      }
    }
    if (deleted > 0) this.log.info({ deleted }, 'retention: old objects deleted');
  }
}
