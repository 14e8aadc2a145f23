/**
 * The monitored database: Litestream v0.3.13's algorithm (own connections, a long-lived read
 * transaction that pins the WAL, a shadow WAL of verified committed frames, runtime-owned
 * checkpoints), with the races around WAL restarts closed (see docs/replicate.md).
 *
 * Three connections:
 *  - `reader` holds the long-lived read transaction (so no other process can restart the WAL
 *    under us) and runs checkpoints (only after releasing that transaction);
 *  - `spareReader` moves that read mark forward without a moment unpinned (see repin);
 *  - `writer` runs the long, unlocked part of checkpoints, and takes the write lock (BEGIN
 *    IMMEDIATE) only for their short last part and for the small `_litestream_seq` write that
 *    restarts the WAL at a point where we know the old WAL was copied completely.
 */
import { EventEmitter } from 'node:events';
import {
  closeSync,
  type FSWatcher,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  read,
  readSync,
  rmSync,
  statSync,
  watch,
  writeSync,
} from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { DbConfig } from '../config/types.js';
import { UserError } from '../errors.js';
import { newGenerationId } from '../format/layout.js';
import type { PositionalReader } from '../format/lz4.js';
import type { Logger } from '../log.js';
import { type CheckpointLocker, checkpointLocker } from '../sqlite/checkpoint-lock.js';
import {
  type Checksum,
  frameSize,
  parseWalHeader,
  readWalHeader,
  type ScanResult,
  scanBuffer,
  scanWal,
  WAL_FRAME_HEADER_SIZE,
  WAL_HEADER_SIZE,
  type WalHeader,
} from '../sqlite/wal.js';
import { readWalIndexHeader, type WalIndexHeader } from '../sqlite/wal-index.js';
import { dbFileStamp, dbFileStampSync, defaultMetaPath, LocalState } from './local-state.js';
import { Mutex } from './mutex.js';
import { timerDelay } from './timers.js';

/** For Atomics.wait: a synchronous sub-millisecond sleep (the lock dance must not yield). */
const pollCell = new Int32Array(new SharedArrayBuffer(4));

/** `PRAGMA wal_checkpoint`'s row: busy, frames in the WAL, frames checkpointed. */
interface CheckpointRow {
  busy: number;
  log: number;
  checkpointed: number;
}

/** How long the write lock is held before a pin move, for app writers to reach their busy sleep. */
const APP_BUSY_SETTLE_MS = 0.2;

/**
 * The unlocked part of a checkpoint repeats (at most UNLOCKED_ROUNDS times) while a round takes
 * SHORT_ROUND_MS or more: what the app commits during a round is what the locked part, holding the
 * app's writers, must then copy, sync and checkpoint.
 */
const UNLOCKED_ROUNDS = 4;
const SHORT_ROUND_MS = 15;

/** beginWrite first retries without sleeping for this long (see there). */
const SPIN_MS = 2;

/** How long a complete checkpoint waits for the app's commit that restarts the WAL. */
const APP_RESTART_WAIT_MS = 5;

/** How long our writes and RESTART checkpoints may wait on the app's locks (Litestream #724). */
export const DEFAULT_BUSY_TIMEOUT = 1_000;

/** After a RESTART checkpoint waited its busy timeout for app readers in vain, none for this long. */
const RESTART_BACKOFF_MS = 10_000;

/**
 * The commit rate (from one monitor pass to the next) from which SQLite's
 * checkpoint lock is held between our checkpoints (see runtime/sqlite/checkpoint-lock.ts). Below
 * it the app's failed autocheckpoint tries cost under 1% of a core: not worth the ~3 MiB of
 * loading the FFI library.
 */
const CHECKPOINT_LOCK_MIN_COMMITS_PER_SEC = 2_000;

/** ...and over at least this many commits between two passes (a short burst does not count). */
const CHECKPOINT_LOCK_MIN_COMMITS = 1_000;

/** How long the end of a pass retries the checkpoint lock while another process holds it. */
const CHECKPOINT_LOCK_WAIT_MS = 5;

/** How long a first start keeps retrying its first writes while the app holds the write lock. */
const BOOTSTRAP_RETRY_MS = 120_000;

/** The db stayed write-locked by another process past our busy timeout. */
class DbBusyError extends UserError {}

function isBusy(err: unknown): boolean {
  if (err instanceof DbBusyError) return true;
  const e = err as { code?: string; message?: string };
  return e?.code?.startsWith('SQLITE_BUSY') === true || /database is locked/.test(e?.message ?? '');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** BEGIN plus a read: SQLite takes the read mark (and reads the wal-index) only at the first read. */
function beginRead(conn: Database.Database): void {
  conn.exec('BEGIN');
  conn.prepare('SELECT COUNT(1) FROM _litestream_seq').get();
}

/** Which file the path names: a replaced or recreated db has another device/inode. */
interface FileIdentity {
  dev: number;
  ino: number;
}

function fileIdentity(st: { dev: number; ino: number }): FileIdentity {
  return { dev: st.dev, ino: st.ino };
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/** A write returned fewer bytes than asked (a full disk): nothing past the last commit counts. */
export class ShortWriteError extends Error {
  readonly code = 'ESHORTWRITE';
}

/** writeSync that insists on every byte (a short write on a full disk is no success). */
export function writeFullySync(
  fd: number,
  buf: Buffer,
  offset: number,
  length: number,
  position: number,
): void {
  let done = 0;
  while (done < length) {
    const n = writeSync(fd, buf, offset + done, length - done, position + done);
    if (n <= 0) throw new ShortWriteError(`short write: ${done + Math.max(0, n)} of ${length} bytes`);
    done += n;
  }
}

export interface ShadowPosition {
  generation: string;
  index: number;
  /** Bytes of the current shadow WAL file that hold whole committed transactions. */
  size: number;
}

interface ShadowState extends ShadowPosition {
  header: WalHeader;
  rawHeader: Buffer;
  /** Running checksum at `size`. */
  checksum: Checksum;
}

/** We know exactly where the WAL with `rawHeader` ended when it was restarted. */
interface KnownEnd {
  rawHeader: Buffer;
  end: number;
  /** The old WAL file is gone altogether (deleted at close): any next header is fine. */
  anyHeader?: boolean;
}

export interface MonitoredDbOptions {
  logger: Logger;
  busyTimeout?: number;
  /** Watch the WAL file while live-replica streams listen, to copy as soon as it changes (default true). */
  watch?: boolean;
}

export class MonitoredDb extends EventEmitter {
  readonly path: string;
  readonly walPath: string;
  readonly local: LocalState;
  private readonly log: Logger;
  private readonly busyTimeout: number;
  private readonly lock = new Mutex();
  private reader?: Database.Database;
  private spareReader?: Database.Database;
  /**
   * One descriptor of the db file for snapshots, open as long as our connections are. Closing
   * ANY descriptor of a file drops every POSIX lock this process holds on it — SQLite's SHARED
   * lock included, after which another process may checkpoint and delete the WAL under us.
   */
  private dbFd?: number;
  /**
   * The -shm file, for SQLite's committed frame count and the checkpoint lock (see
   * holdCheckpointLock); same rule as dbFd.
   */
  private shmFd?: number;
  /** shmFd was opened for writing (an fcntl write lock needs that). */
  private shmWritable = false;
  /** Hold SQLite's checkpoint lock after each pass (the app commits fast enough, see holdCheckpointLock). */
  private checkpointLockWanted = false;
  /** Commits a second that make it wanted; Infinity once it cannot be had (or is turned off). */
  private checkpointLockMinRate: number;
  /** Commit frames copied since commitsCountedSince (the rate that decides checkpointLockWanted). */
  private commitsCounted = 0;
  private commitsCountedSince = performance.now();
  private writer?: Database.Database;
  /** Device + inode of the db file our connections have open (see checkIdentity). */
  private identity?: FileIdentity;
  /** The db file went away (deleted, or replaced and not yet reopened): waiting for it. */
  private fileGone = false;
  private state?: ShadowState;
  private knownEnd?: KnownEnd;
  /** The end of the previous WAL index, still to be recorded (writeIndexEnd). */
  private pendingIndexEnd?: { index: number; end: number };
  private pageSize = 0;
  private scanBuf?: Buffer;
  private timer?: NodeJS.Timeout;
  private watcher?: FSWatcher;
  private snapshotsActive = 0;
  /**
   * Seconds our connections held SQLite's write lock (the app's writers wait meanwhile): our
   * own small writes and checkpoints (metrics, benchmarks).
   */
  writeLockSeconds = 0;
  private writeLockedAt?: number;
  /** The current shadow WAL file has bytes not yet fsynced (see syncShadow). */
  private shadowUnsynced = false;
  private lastCheckpointAt = Date.now();
  /** No RESTART before this time (one that waited in vain for app readers backs off). */
  private restartHeldUntil = 0;
  /** The WAL restarted since our read lock began: that lock is on the db file alone (see repinAfterRestart). */
  private pinOnDbFile = false;
  private closed = false;
  private syncQueued = false;
  private lastError?: string;
  /** Indexes every replica still needs (keyed by replica name). */
  private readonly replicaNeeds = new Map<string, { generation: string; index: number }>();

  constructor(
    readonly config: DbConfig,
    private readonly opts: MonitoredDbOptions,
  ) {
    super();
    this.path = config.path;
    this.walPath = `${config.path}-wal`;
    this.local = new LocalState(config.metaPath ?? defaultMetaPath(config.path));
    this.log = opts.logger.child({ db: config.path });
    this.busyTimeout = opts.busyTimeout ?? DEFAULT_BUSY_TIMEOUT;
    // LS_MIX_CHECKPOINT_LOCK=0: never (documented in docs/replicate.md).
    this.checkpointLockMinRate =
      process.env.LS_MIX_CHECKPOINT_LOCK === '0'
        ? Number.POSITIVE_INFINITY
        : CHECKPOINT_LOCK_MIN_COMMITS_PER_SEC;
    this.on('newListener', this.onListenersChanged);
    this.on('removeListener', this.onListenersChanged);
  }

  /** Bytes per WAL frame (header + page); 0 until open() has run. */
  get frameSize(): number {
    return this.pageSize > 0 ? frameSize(this.pageSize) : 0;
  }

  /** Where the shadow WAL is: undefined until open() has run. */
  get position(): ShadowPosition | undefined {
    const s = this.state;
    return s && { generation: s.generation, index: s.index, size: s.size };
  }

  shadowPath(generation: string, index: number): string {
    return this.local.shadowPath(generation, index);
  }

  /**
   * Committed bytes of a shadow WAL file: the live size for the current index, the file size for
   * finished ones; undefined when it no longer exists locally.
   */
  async shadowSize(generation: string, index: number): Promise<number | undefined> {
    const s = this.state;
    if (!s || generation !== s.generation || index > s.index) return undefined;
    if (index === s.index) return s.size;
    try {
      return (await stat(this.shadowPath(generation, index))).size;
    } catch {
      return undefined;
    }
  }

  /** Open connections, check continuity with the local state, copy the WAL, take the read lock. */
  async open(): Promise<void> {
    await this.local.acquireLock();
    try {
      await this.openWithRetry();
    } catch (err) {
      await this.local.releaseLock();
      throw err;
    }
  }

  /**
   * The first writes (WAL mode, our tables, the first _litestream_seq bump) need SQLite's write
   * lock: while the app holds it (a busy first start) they are retried with backoff rather than
   * failing with `database is locked`.
   */
  private async openWithRetry(reason?: string): Promise<void> {
    const deadline = Date.now() + BOOTSTRAP_RETRY_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        this.openConnections();
        await this.lock.run(() => this.init(reason));
        if (attempt > 0) this.log.info({ attempts: attempt + 1 }, 'database write lock obtained');
        return;
      } catch (err) {
        this.closeConnections();
        if (!isBusy(err) || Date.now() >= deadline) throw err;
        if (attempt === 0) {
          this.log.warn('the database is locked by another writer: retrying the first writes with backoff');
        }
        await sleep(Math.min(2_000, 50 * 2 ** attempt) * (0.75 + Math.random() * 0.5));
      }
    }
  }

  private openConnections(): void {
    // Never create the database (a mistyped path would start an empty generation and retention
    // would then delete the real one): Replication waits for the file to appear.
    const w = new Database(this.path, { timeout: this.busyTimeout, fileMustExist: true });
    this.writer = w;
    const mode = String(w.pragma('journal_mode', { simple: true }));
    if (mode !== 'wal') {
      const now = String(w.pragma('journal_mode = wal', { simple: true }));
      if (now !== 'wal') {
        throw new UserError(`${this.path}: cannot switch the database to WAL mode (journal_mode is ${now})`, {
          hint: 'Stop processes that hold the database open in rollback-journal mode, then retry.',
        });
      }
      this.log.info({ from: mode }, 'switched the database to journal_mode=wal');
    }
    // The app's connections keep their own setting; ours must never checkpoint on commit.
    w.pragma('wal_autocheckpoint = 0');
    // Our only writes are the _litestream_seq marker: no fsync of the WAL on their commit
    // (checkpoints still sync the WAL and the db file: their flags are unchanged by NORMAL).
    w.pragma('synchronous = NORMAL');
    w.exec(
      'CREATE TABLE IF NOT EXISTS _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER);' +
        'CREATE TABLE IF NOT EXISTS _litestream_lock (id INTEGER);',
    );
    const r = new Database(this.path, { timeout: this.busyTimeout, fileMustExist: true });
    r.pragma('wal_autocheckpoint = 0');
    this.reader = r;
    this.spareReader = new Database(this.path, { timeout: this.busyTimeout, fileMustExist: true });
    this.pageSize = Number(r.pragma('page_size', { simple: true }));
    this.scanBuf = scanBuffer(this.pageSize);
    this.dbFd = openSync(this.path, 'r');
    this.identity = fileIdentity(fstatSync(this.dbFd));
    mkdirSync(this.local.dir, { recursive: true });
  }

  /** Size of the database file as its open descriptor sees it (a snapshot's length). */
  dbFileSize(): number {
    return this.dbFd === undefined ? 0 : fstatSync(this.dbFd).size;
  }

  /**
   * Positional reads of the database file through our long-lived descriptor (see dbFd), for a
   * snapshot's LZ4 frame (createLz4FileRangeEncoder reads into one reused buffer: a read
   * stream's new 1 MiB buffer per read left glibc's heap 14 MiB larger after a second snapshot).
   * Use it inside withCheckpointsHeld, so the file is the one the read lock pins.
   */
  dbReader(): PositionalReader {
    const fd = this.dbFd;
    if (fd === undefined) throw new Error('database is not open');
    return {
      read: (buffer, offset, length, position) =>
        new Promise((resolve, reject) => {
          read(fd, buffer, offset, length, position, (err, bytesRead) =>
            err ? reject(err) : resolve({ bytesRead }),
          );
        }),
    };
  }

  /**
   * Start the monitor: a full pass (copy + checkpoint when due) every monitor-interval, as
   * Litestream does. Replicas pull the new frames themselves before each upload (catchUp), so
   * nothing else needs to wake per commit. Only while a live-replica stream listens for 'shadow'
   * is the db folder watched, and then one wake-up per pass at most (see armWatch).
   */
  start(): void {
    this.timer = setInterval(() => {
      this.sync().catch(() => undefined);
    }, timerDelay(this.config.monitorInterval));
    this.timer.unref?.();
    this.started = true;
    this.armWatch();
  }

  private started = false;

  /** Streams come and go: the watch follows them (see start). */
  private readonly onListenersChanged = (event: string | symbol) => {
    if (event !== 'shadow') return;
    // 'newListener' fires before the listener is added.
    setImmediate(() => this.armWatch());
  };

  /**
   * One-shot watch of the db folder: the first change to the WAL closes it and schedules a
   * copy-only pass 10 ms later; the watch is armed again right before that pass, so a commit
   * after it wakes the next one. A flat-out writer then costs ~100 wake-ups/s, not one per
   * write() (each also costs the writer an inotify event in the kernel).
   */
  private armWatch(): void {
    if (this.watcher || this.syncQueued || !this.started || this.closed) return;
    if (this.opts.watch === false || this.listenerCount('shadow') === 0) return;
    const walName = `${basename(this.path)}-wal`;
    try {
      this.watcher = watch(dirname(this.path), (_e, name) => {
        if (name !== walName || this.syncQueued) return;
        this.syncQueued = true;
        this.disarmWatch();
        setTimeout(() => {
          this.syncQueued = false;
          this.armWatch();
          this.catchUp().catch(() => undefined);
        }, 10).unref?.();
      });
      this.watcher.unref?.();
    } catch {
      // fs.watch is an optimisation; the interval alone is enough.
    }
  }

  private disarmWatch(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  /**
   * One monitor pass: copy new committed frames to the shadow WAL, checkpoint when due. Only
   * the monitor-interval timer and explicit syncs (shutdown, snapshots) run it: a checkpoint costs
   * fsyncs and a moment of the app's write lock, so their number must not grow with the commit
   * rate (when every WAL change ran one, a flat-out 1-row writer got ~50 checkpoints a second).
   */
  sync(): Promise<void> {
    return this.pass(true);
  }

  /** Copy new committed frames to the shadow WAL, nothing else (replicas call it before each upload). */
  catchUp(): Promise<void> {
    return this.pass(false);
  }

  private pass(checkpoint: boolean): Promise<void> {
    return this.lock.run(async () => {
      if (this.closed) return;
      if (!(await this.followReplacedFile())) return;
      if (!this.reader) return;
      const started = performance.now();
      try {
        this.copyToShadow();
        if (checkpoint) await this.maybeCheckpoint();
        this.writeIndexEnd();
        this.repinAfterRestart();
        this.holdCheckpointLock();
        if (this.lastError) {
          this.log.info('database monitor recovered');
          this.lastError = undefined;
        }
        this.emit('sync', { seconds: (performance.now() - started) / 1000 });
      } catch (err) {
        const msg = (err as Error).message;
        if (msg !== this.lastError) this.log.error({ err: msg }, 'database sync failed; retrying');
        this.lastError = msg;
        this.emit('sync', { seconds: (performance.now() - started) / 1000, error: true });
        throw err;
      }
    });
  }

  /**
   * The db path must still name the file our connections have open, holding a SQLite header.
   * `mv other.db app.db`, or delete + recreate, leaves us reading the old file through our
   * descriptors: copy what is left of its WAL, close, and start a new generation on the new
   * file (snapshotted by every replica). False while there is nothing open to sync.
   */
  private async followReplacedFile(): Promise<boolean> {
    if (!this.fileGone && this.reader) {
      const why = this.identityProblem();
      if (!why) return true;
      try {
        this.copyToShadow();
        this.syncShadow();
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'final copy of the replaced file failed');
      }
      this.closeConnections();
      this.removeStaleWal();
      this.fileGone = true;
      // Logged once the old file's connections are closed and its stale -wal/-shm are gone: an
      // app (or a test) that recreates the db on seeing this line never races that cleanup.
      this.log.warn({ detail: why }, 'database file replaced: reopening it and starting a new generation');
      this.emit('replaced', why);
    }
    if (!this.fileGone) return !!this.reader;
    try {
      // Still gone, or new and not yet written by its app (see hasDatabase): wait quietly.
      if (statSync(this.path).size === 0) return false;
    } catch {
      return false;
    }
    try {
      this.openConnections();
      this.init('database file replaced');
      this.fileGone = false;
      return true;
    } catch (err) {
      this.closeConnections();
      const msg = (err as Error).message;
      if (!isBusy(err) && msg !== this.lastError)
        this.log.error({ err: msg }, 'cannot open the new database file');
      this.lastError = msg; // logged once; retried every pass
      return false;
    }
  }

  /**
   * SQLite keeps the -wal and -shm of a db whose file was renamed over or deleted (it sees the
   * file moved and does not checkpoint at close). Opened with the new file, they would replay
   * the old db's pages into it: remove them — only when the WAL is still the one we copied.
   */
  private removeStaleWal(): void {
    const old = this.state?.rawHeader;
    const wal = readWalHeader(this.walPath);
    if (!old || !wal?.raw.equals(old)) return;
    rmSync(this.walPath, { force: true });
    rmSync(`${this.path}-shm`, { force: true });
    this.log.info("removed the replaced database file's -wal and -shm");
  }

  /** Why the path no longer names our open db file, or undefined when it still does. */
  private identityProblem(): string | undefined {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(this.path);
    } catch {
      return 'the database file was deleted';
    }
    const id = this.identity;
    if (id && (st.dev !== id.dev || st.ino !== id.ino)) return 'another file now has the database path';
    if (st.size === 0) return 'the database file was truncated to 0 bytes';
    const head = Buffer.alloc(16);
    if (readSync(this.dbFd!, head, 0, 16, 0) < 16 || !head.equals(SQLITE_MAGIC)) {
      return 'the database file no longer starts with a SQLite header';
    }
    return undefined;
  }

  /**
   * Run `fn` while checkpoints are held off, so the database file stays the one our read
   * transaction sees and the WAL index cannot move (snapshots).
   */
  async withCheckpointsHeld<T>(fn: (pos: ShadowPosition) => Promise<T>): Promise<T> {
    const pos = await this.lock.run(() => {
      this.snapshotsActive++;
      this.copyToShadow();
      return this.position;
    });
    try {
      if (!pos) throw new Error('database is not open');
      return await fn(pos);
    } finally {
      this.snapshotsActive--;
    }
  }

  /** Replicas register before open() so no shadow file they may need is deleted early. */
  expectReplica(name: string): void {
    this.replicaNeeds.set(name, { generation: '', index: -1 });
  }

  /** Replicas report the oldest shadow index they still need; older files are deleted. */
  setReplicaNeed(name: string, generation: string, index: number): void {
    this.replicaNeeds.set(name, { generation, index });
  }

  /** A reader of the shadow WAL that went away (a live replica's stream). */
  dropReplicaNeed(name: string): void {
    this.replicaNeeds.delete(name);
  }

  /** Start a new generation (a replica found objects that do not match our state). */
  requestNewGeneration(reason: string): Promise<void> {
    return this.lock.run(() => this.newGeneration(reason));
  }

  /** Force a checkpoint now (tests, shutdown). */
  checkpoint(mode: 'PASSIVE' | 'RESTART' = 'PASSIVE'): Promise<void> {
    return this.lock.run(async () => {
      this.copyToShadow();
      await this.doCheckpoint(mode);
      this.holdCheckpointLock();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.stopTimers();
    await this.lock.run(async () => {
      if (!this.reader) return;
      try {
        this.copyToShadow();
        this.syncShadow();
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'final copy to the shadow WAL failed');
      }
      this.closed = true;
      const s = this.state;
      this.closeConnections();
      // Our connection may have been the last one: SQLite then checkpoints and deletes the
      // WAL. Everything was copied first, so note the db as it is now: a restart that finds the
      // same file may continue the generation instead of starting a new one.
      if (s && readWalHeader(this.walPath) === undefined) {
        const stamp = await dbFileStamp(this.path);
        if (stamp) {
          await this.local.writeCleanShutdown({
            generation: s.generation,
            index: s.index,
            size: s.size,
            ...stamp,
          });
        }
      }
    });
    await this.local.releaseLock();
  }

  stopTimers(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.started = false;
    this.disarmWatch();
  }

  private closeConnections(): void {
    try {
      if (this.reader?.inTransaction) this.reader.exec('ROLLBACK');
      if (this.spareReader?.inTransaction) this.spareReader.exec('ROLLBACK');
      if (this.writer?.inTransaction) this.writer.exec('ROLLBACK');
    } catch {
      // closing anyway
    }
    this.reader?.close();
    this.spareReader?.close();
    this.writer?.close();
    this.reader = undefined;
    this.spareReader = undefined;
    this.writer = undefined;
    // Only now: closing them earlier would release SQLite's locks (see dbFd).
    if (this.dbFd !== undefined) closeSync(this.dbFd);
    // (Closing shmFd also ends the checkpoint lock, if we held it.)
    if (this.shmFd !== undefined) closeSync(this.shmFd);
    this.dbFd = undefined;
    this.shmFd = undefined;
    this.shmWritable = false;
  }

  // ---------------------------------------------------------------- startup
  // Everything below runs synchronously (but the unlocked first part of a checkpoint): parts of
  // it hold SQLite's write lock, and an await there would let an application in this same
  // process block on that lock (a deadlock).

  private init(forced?: string): void {
    const previous = this.loadLocalState();
    if (!this.beginWrite()) {
      throw new DbBusyError(`${this.path}: the database stayed locked by another writer`, {
        hint: 'Retry when the application is not in a long write transaction.',
      });
    }
    // Taken only once the write lock is ours: a busy start retries and must still find it.
    const marker = this.local.takeCleanShutdownSync();
    let reason: string | undefined = forced;
    if (forced !== undefined) {
      // The in-memory position belongs to the file that was replaced: nothing continues it.
      this.state = undefined;
      this.knownEnd = undefined;
      this.pendingIndexEnd = undefined;
    }
    try {
      const wal = readWalHeader(this.walPath);
      if (reason !== undefined) {
        // The caller knows continuity is lost (the db file was replaced).
      } else if (!previous) {
        reason = 'no local state';
      } else if (!wal) {
        // No WAL: SQLite removed it when the last connection closed. The generation can go on
        // only if it was us who closed last and nobody touched the db since.
        const stamp = dbFileStampSync(this.path);
        const same =
          marker &&
          stamp &&
          marker.generation === previous.generation &&
          marker.index === previous.index &&
          marker.size === previous.size &&
          marker.dbSize === stamp.dbSize &&
          marker.dbMtimeNs === stamp.dbMtimeNs;
        if (same) {
          this.state = previous;
          this.knownEnd = { rawHeader: previous.rawHeader, end: previous.size, anyHeader: true };
        } else {
          reason = 'WAL removed while not running';
        }
      } else if (!wal.raw.equals(previous.rawHeader)) {
        // Killed right after a WAL restart of ours? The end of the old WAL was noted on disk
        // before that write: the next index then continues the generation (copyToShadow checks).
        const k = this.local.readKnownEnd();
        if (
          k &&
          k.generation === previous.generation &&
          k.index === previous.index &&
          k.rawHeader.equals(previous.rawHeader)
        ) {
          this.state = previous;
          this.knownEnd = { rawHeader: k.rawHeader, end: k.end };
        } else {
          reason = 'WAL header changed while not running';
        }
      } else if (!this.lastFrameMatches(previous)) {
        reason = 'WAL overwritten while not running';
      } else {
        this.state = previous;
      }
      if (this.state) this.copyToShadow();
      // A write of ours: gives the WAL a header and a frame our read lock can pin.
      if (this.state && !this.knownEnd) this.rememberEnd(this.state.size);
      this.bumpSeq();
      this.commitWrite();
    } finally {
      this.rollbackWrite();
    }
    if (reason !== undefined) {
      this.newGeneration(reason);
    } else {
      this.log.info(
        { generation: this.state?.generation, index: this.state?.index },
        'continuing generation',
      );
      this.copyToShadow();
    }
    this.acquireReadLock();
    // Frames committed between our write and the read lock.
    this.copyToShadow();
  }

  /** The last generation's newest shadow WAL, its torn tail (crash mid-write) cut off. */
  private loadLocalState(): ShadowState | undefined {
    const generation = this.local.readGeneration();
    if (!generation) return undefined;
    const index = this.local.shadowIndexes(generation).at(-1);
    if (index === undefined) return undefined;
    const fd = openSync(this.local.shadowPath(generation, index), 'r+');
    try {
      const rawHeader = Buffer.alloc(WAL_HEADER_SIZE);
      const bytesRead = readSync(fd, rawHeader, 0, WAL_HEADER_SIZE, 0);
      const header = bytesRead === WAL_HEADER_SIZE ? parseWalHeader(rawHeader) : undefined;
      if (!header || header.pageSize !== this.pageSize) return undefined;
      const r = scanWal(fd, {
        from: WAL_HEADER_SIZE,
        header,
        checksum: { s1: header.checksum1, s2: header.checksum2 },
        buffer: this.scanBuf,
      });
      if (fstatSync(fd).size > r.commitEnd) ftruncateSync(fd, r.commitEnd);
      return { generation, index, size: r.commitEnd, header, rawHeader, checksum: r.commitChecksum };
    } finally {
      closeSync(fd);
    }
  }

  private lastFrameMatches(s: ShadowState): boolean {
    if (s.size <= WAL_HEADER_SIZE) return true;
    const fsz = frameSize(this.pageSize);
    const a = Buffer.alloc(fsz);
    const b = Buffer.alloc(fsz);
    const sh = openSync(this.local.shadowPath(s.generation, s.index), 'r');
    const wal = openSync(this.walPath, 'r');
    try {
      readSync(sh, a, 0, fsz, s.size - fsz);
      const bytesRead = readSync(wal, b, 0, fsz, s.size - fsz);
      return bytesRead === fsz && a.equals(b);
    } finally {
      closeSync(sh);
      closeSync(wal);
    }
  }

  // ---------------------------------------------------------------- locks

  private acquireReadLock(): void {
    const r = this.reader!;
    if (r.inTransaction) return;
    beginRead(r);
  }

  private releaseReadLock(): void {
    if (this.reader?.inTransaction) this.reader.exec('ROLLBACK');
  }

  /**
   * Move our read mark to the WAL's current end with no moment unpinned: the spare connection
   * begins its read transaction first, the shadow catches up past its mark, and only then the
   * old one ends. While one of ours reads, SQLite cannot restart the WAL beyond what the shadow
   * holds: a reader with a mark blocks the restart, and one on the db file alone (mark 0: the
   * WAL was fully checkpointed when it began) blocks every checkpoint, so a restart can only
   * come at that mark. False when the shadow could not catch up (the old pin then stays).
   */
  private repin(checkpoint = false): boolean {
    const next = this.spareReader!;
    // Left inside a read by a move that failed half-way (it holds no pin of ours: `reader` does).
    if (next.inTransaction) next.exec('ROLLBACK');
    if (checkpoint) {
      this.copyToShadow(); // so that the locked part below copies only what comes meanwhile
      if (!this.beginWrite(this.busyTimeout / 4)) return false;
    }
    try {
      // Long enough for the app's writers to find the write lock taken and sleep in their busy
      // handler (SQLite's first sleep is 1 ms): our checkpoint below starts before they wake.
      if (checkpoint) Atomics.wait(pollCell, 0, 0, APP_BUSY_SETTLE_MS);
      try {
        beginRead(next);
        this.copyToShadow();
      } catch (err) {
        if (next.inTransaction) next.exec('ROLLBACK');
        throw err;
      }
      if (this.waitingFor !== undefined) {
        next.exec('ROLLBACK');
        return false;
      }
    } finally {
      if (checkpoint) this.rollbackWrite();
    }
    const old = this.reader!;
    this.spareReader = old;
    this.reader = next;
    this.pinOnDbFile = false;
    // While this pin holds, the WAL can restart only where the shadow now ends: a pin with a WAL
    // mark blocks any restart, and one on the db file alone (mark 0: the WAL was fully
    // checkpointed when it began — e.g. by the app's own checkpoint up to our old pin, the app
    // idle since) lets the app's next write restart it exactly at that end. Note it (before the
    // old pin ends), or that restart would look unproven and start a new generation.
    this.rememberEnd(this.state!.size);
    if (!old.inTransaction) return true;
    if (!checkpoint) {
      old.exec('ROLLBACK');
      return true;
    }
    try {
      // The old pin ends and the checkpoint begins in one native call. From the moment the pin
      // moves, the app's autocheckpoint (after any commit of its own) may backfill up to the
      // new one — on the app's thread, stalling its writes for the whole copy (100–300 ms a
      // pass for a flat-out 1-row writer). Ours holding SQLite's checkpoint lock first makes
      // the app's a no-op (SQLITE_BUSY at once).
      this.ownCheckpoint(() => old.exec('ROLLBACK; PRAGMA wal_checkpoint(PASSIVE)'));
    } finally {
      // A checkpoint that failed must not leave the spare inside a read: its next BEGIN would fail.
      if (old.inTransaction) old.exec('ROLLBACK');
    }
    return true;
  }

  /**
   * BEGIN IMMEDIATE on the writer: false when the app kept the write lock past `waitMs`.
   * Polled every 0.2 ms at first rather than with SQLite's busy handler (which sleeps 1, 2,
   * 5, 10… ms): an app committing small transactions back to back re-takes the lock within
   * microseconds, so a sleeping waiter almost never finds it free and the WAL could not
   * restart. Backs off to 5 ms so a long app transaction does not cost us a core.
   */
  private beginWrite(waitMs = this.busyTimeout): boolean {
    const w = this.writer!;
    const started = performance.now();
    w.pragma('busy_timeout = 0');
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          w.exec('BEGIN IMMEDIATE');
          this.writeLockedAt = performance.now();
          return true;
        } catch (err) {
          if (!(err as { code?: string }).code?.startsWith('SQLITE_BUSY')) throw err;
          if (w.inTransaction) w.exec('ROLLBACK');
          const waited = performance.now() - started;
          if (waited >= waitMs) return false;
          if (waited < SPIN_MS) continue;
          const pause = attempt < 25 ? 0.2 : Math.min(5, 0.2 * 1.25 ** (attempt - 25));
          Atomics.wait(pollCell, 0, 0, Math.min(pause, waitMs - waited));
        }
      }
    } finally {
      w.pragma(`busy_timeout = ${this.busyTimeout}`);
    }
  }

  private bumpSeq(): void {
    this.writer!.prepare(
      'INSERT INTO _litestream_seq (id, seq) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET seq = seq + 1',
    ).run();
  }

  private commitWrite(): void {
    if (this.writer?.inTransaction) this.writer.exec('COMMIT');
    this.writeUnlocked();
  }

  private rollbackWrite(): void {
    if (this.writer?.inTransaction) this.writer.exec('ROLLBACK');
    this.writeUnlocked();
  }

  private writeUnlocked(): void {
    if (this.writeLockedAt === undefined) return;
    this.writeLockSeconds += (performance.now() - this.writeLockedAt) / 1000;
    this.writeLockedAt = undefined;
  }

  // ---------------------------------------------------------------- shadow WAL

  /**
   * Copy newly committed frames of the WAL to the shadow WAL, verifying salts and the running
   * checksum, up to the last commit frame. A changed WAL header means the WAL restarted: the
   * generation continues in the next index only when we know the old WAL was copied to its end.
   */
  private copyToShadow(): void {
    const s = this.state;
    if (!s) return;
    const wal = readWalHeader(this.walPath);
    if (!wal) return; // no WAL yet, or truncated: nothing committed to copy
    if (!wal.raw.equals(s.rawHeader)) {
      this.walRestarted(wal.header, wal.raw);
      return;
    }
    // SQLite's committed end, from the wal-index: a commit frame in the file past it belongs to
    // a writer killed mid-commit and will be overwritten.
    let to: number | undefined;
    const idx = this.walIndex();
    if (idx === 'retry') {
      this.waiting('wal-index header being written');
      this.letSqliteRecover();
      return;
    }
    if (idx) {
      if (!idx.salt.equals(s.rawHeader.subarray(16, 24))) {
        this.waiting('wal-index salts differ from the WAL header (restart in progress)');
        return; // next pass sees the new WAL header
      }
      to = WAL_HEADER_SIZE + idx.mxFrame * frameSize(this.pageSize);
      if (to <= s.size) {
        if (to < s.size) this.diverged(`shadow WAL is past the committed end (${s.size} > ${to})`);
        return;
      }
    }
    const fd = openSync(this.walPath, 'r');
    try {
      // One pass: verify and copy together (frames are written only as far as they verify,
      // and the shadow is cut back to the last valid commit).
      const commitEnd = this.appendVerified(fd, s, to);
      if (to !== undefined && commitEnd !== to) {
        // Committed frames that do not chain on from the shadow WAL: continuity is lost.
        this.diverged(`committed WAL frames do not follow the shadow WAL at ${commitEnd}`);
        return;
      }
      this.waitingFor = undefined;
    } finally {
      closeSync(fd);
    }
  }

  /** The wal-index header; 'retry' while it is being written; undefined when unavailable. */
  private walIndex(): WalIndexHeader | 'retry' | undefined {
    if (this.shmFd === undefined) {
      const shm = `${this.path}-shm`;
      try {
        // For writing when we may (the checkpoint lock needs it); reads are all we do with it.
        this.shmFd = openSync(shm, 'r+');
        this.shmWritable = true;
      } catch {
        try {
          this.shmFd = openSync(shm, 'r');
        } catch {
          return undefined; // no shared-memory file (exclusive locking mode): the WAL alone decides
        }
      }
    }
    for (let i = 0; i < 3; i++) {
      const h = readWalIndexHeader(this.shmFd);
      if (h) return h;
    }
    return 'retry';
  }

  /**
   * Note where the current WAL ends (or will end) before a write of ours that may restart it —
   * in memory, and on disk so a runtime killed right after the restart can continue.
   */
  private rememberEnd(end: number): void {
    const s = this.state!;
    this.knownEnd = { rawHeader: s.rawHeader, end };
    this.local.writeKnownEnd({ generation: s.generation, index: s.index, rawHeader: s.rawHeader, end });
  }

  private waitingFor?: string;

  /** Log (once per reason) why a pass copied nothing although the WAL may have grown. */
  private waiting(reason: string): void {
    if (reason !== this.waitingFor) this.log.debug({ reason }, 'shadow WAL copy waits');
    this.waitingFor = reason;
  }

  private diverged(detail: string): void {
    this.log.warn({ detail }, 'the WAL no longer matches the shadow WAL');
    this.newGeneration('WAL diverged from the shadow WAL');
  }

  private scan(fd: number, s: ShadowState): ScanResult {
    return scanWal(fd, { from: s.size, header: s.header, checksum: s.checksum, buffer: this.scanBuf });
  }

  /**
   * Copy verified frames from the shadow's end up to `end` (or the WAL's end); returns the new
   * commit end. A short write or ENOSPC cuts the shadow back to its last verified commit and
   * throws: the frames stay in the WAL (no checkpoint runs meanwhile) and the next pass retries.
   */
  private appendVerified(walFd: number, s: ShadowState, end: number | undefined): number {
    const out = openSync(this.local.shadowPath(s.generation, s.index), 'r+');
    try {
      let r: ScanResult;
      try {
        r = scanWal(walFd, {
          from: s.size,
          to: end,
          header: s.header,
          checksum: s.checksum,
          buffer: this.scanBuf,
          onFrames: (buf, start, stop, fileOffset) => {
            writeFullySync(out, buf, start, stop - start, fileOffset);
          },
        });
      } catch (err) {
        ftruncateSync(out, s.size);
        throw new Error(`cannot write the shadow WAL (${(err as Error).message}): will retry`, {
          cause: err,
        });
      }
      // Whatever was written past the last verified commit (the WAL changed under us) goes.
      if (fstatSync(out).size > r.commitEnd) ftruncateSync(out, r.commitEnd);
      this.commitsCounted += r.commits;
      if (r.commitEnd > s.size) {
        // No fsync per pass: the WAL still holds these frames until a checkpoint, and
        // syncShadow() runs before every checkpoint (and at close). Syncing every pass doubled
        // the disk traffic of busy apps.
        this.shadowUnsynced = true;
        s.size = r.commitEnd;
        s.checksum = r.commitChecksum;
        this.emit('shadow', this.position);
      }
      return r.commitEnd;
    } finally {
      closeSync(out);
    }
  }

  /**
   * Make the shadow WAL durable. Runs before every checkpoint: once SQLite may restart the WAL,
   * the shadow is the only local copy of frames not yet on every replica.
   */
  private syncShadow(): void {
    const s = this.state;
    if (!s || !this.shadowUnsynced) return;
    const fd = openSync(this.local.shadowPath(s.generation, s.index), 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.shadowUnsynced = false;
  }

  /** syncShadow in the thread pool, so replicas keep uploading meanwhile. */
  private async syncShadowAsync(): Promise<void> {
    const s = this.state;
    if (!s || !this.shadowUnsynced) return;
    this.shadowUnsynced = false; // bytes appended from here on set it again
    const fh = await open(this.local.shadowPath(s.generation, s.index), 'r');
    try {
      await fh.sync();
    } catch (err) {
      this.shadowUnsynced = true;
      throw err;
    } finally {
      await fh.close();
    }
  }

  /** The WAL now has a different header than the shadow WAL. */
  private walRestarted(header: WalHeader, rawHeader: Buffer): void {
    const s = this.state!;
    const known = this.knownEnd;
    // salt1 comes from the shared wal-index and grows by one per restart. (The header's
    // checkpoint sequence is per-connection state in SQLite: useless across processes.)
    const oneRestart =
      known?.anyHeader === true ||
      (header.salt1 === (s.header.salt1 + 1) >>> 0 && header.pageSize === s.header.pageSize);
    if (known?.rawHeader.equals(s.rawHeader) && oneRestart && s.size <= known.end) {
      // Verify the old WAL's tail: committed frames must end exactly where we know it ended.
      const fd = openSync(this.walPath, 'r');
      try {
        const tail = this.scan(fd, s);
        if (tail.commitEnd === known.end) {
          if (known.end > s.size) this.appendVerified(fd, s, known.end);
          if (s.size === known.end) {
            this.startIndex(s.index + 1, header, rawHeader);
            this.copyToShadow();
            return;
          }
        }
      } finally {
        closeSync(fd);
      }
    }
    this.log.debug(
      { knownEnd: known?.end, size: s.size, oneRestart, salt1: [s.header.salt1, header.salt1] },
      'WAL restarted at an unknown point',
    );
    this.newGeneration('WAL restarted by another process');
  }

  private writeShadowHeader(generation: string, index: number, rawHeader: Buffer): void {
    const fd = openSync(this.local.shadowPath(generation, index), 'w');
    try {
      writeFullySync(fd, rawHeader, 0, WAL_HEADER_SIZE, 0);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Begin shadow WAL file `index` with the current WAL header. */
  private startIndex(index: number, header: WalHeader, rawHeader: Buffer): void {
    const s = this.state!;
    // Recorded in the new index (see writeIndexEnd): restores can then prove index s.index whole.
    this.pendingIndexEnd = { index: s.index, end: s.size };
    this.syncShadow(); // the finished index
    this.writeShadowHeader(s.generation, index, rawHeader);
    this.state = {
      generation: s.generation,
      index,
      size: WAL_HEADER_SIZE,
      header,
      rawHeader,
      checksum: { s1: header.checksum1, s2: header.checksum2 },
    };
    this.knownEnd = undefined;
    // Only a read lock on the db file alone lets the WAL restart: ours is one now.
    this.pinOnDbFile = true;
    this.log.debug({ index }, 'WAL restarted: new shadow WAL index');
    this.emit('shadow', this.position);
    this.pruneShadows();
  }

  private newGeneration(reason: string): void {
    let wal = readWalHeader(this.walPath);
    if (!wal) {
      // Give the WAL a header: a write of ours.
      this.bumpSeq();
      wal = readWalHeader(this.walPath);
      if (!wal) throw new Error(`${this.walPath}: no WAL header after a write`);
    }
    const generation = newGenerationId();
    mkdirSync(this.local.walDir(generation), { recursive: true });
    this.writeShadowHeader(generation, 0, wal.raw);
    this.shadowUnsynced = false; // the old generation's files are deleted
    this.state = {
      generation,
      index: 0,
      size: WAL_HEADER_SIZE,
      header: wal.header,
      rawHeader: wal.raw,
      checksum: { s1: wal.header.checksum1, s2: wal.header.checksum2 },
    };
    this.knownEnd = undefined;
    this.pendingIndexEnd = undefined;
    this.copyToShadow();
    this.local.writeGeneration(generation);
    this.local.removeOtherGenerations(() => this.state?.generation).catch(() => undefined);
    if (reason === 'no local state') this.log.info({ generation, reason }, 'new generation');
    else {
      // The replicas' newest generation is no longer the one being continued: say so loudly
      // (a replaced or rewritten db, a lost WAL). Metrics count these (ls_mix_new_generations_total).
      this.log.warn({ generation, reason }, 'new generation: the backup does not continue the previous one');
    }
    this.emit('generation', generation, reason);
  }

  /** Delete shadow files of indexes every replica has shipped (replicas call this too). */
  pruneShadows(): void {
    const s = this.state;
    if (!s) return;
    let keepFrom = s.index;
    for (const need of this.replicaNeeds.values()) {
      if (need.index < 0)
        keepFrom = 0; // a replica that has not found its position yet
      else if (need.generation === s.generation) keepFrom = Math.min(keepFrom, need.index);
    }
    for (const i of this.local.shadowIndexes(s.generation)) {
      if (i < keepFrom) this.local.removeShadow(s.generation, i).catch(() => undefined);
    }
  }

  // ---------------------------------------------------------------- checkpoints

  private async maybeCheckpoint(): Promise<void> {
    const s = this.state;
    if (!s || this.snapshotsActive > 0) return;
    const frames = Math.max(0, (s.size - WAL_HEADER_SIZE) / frameSize(this.pageSize));
    const { minCheckpointPageCount: min, maxCheckpointPageCount: max, checkpointInterval } = this.config;
    let mode: 'PASSIVE' | 'RESTART' | undefined;
    // After a RESTART that waited in vain for app readers: PASSIVE for a while (see restartHeldUntil).
    if (max > 0 && frames >= max) mode = Date.now() >= this.restartHeldUntil ? 'RESTART' : 'PASSIVE';
    else if (min > 0 && frames >= min) mode = 'PASSIVE';
    else if (
      checkpointInterval > 0 &&
      Date.now() - this.lastCheckpointAt >= checkpointInterval &&
      frames > 1
    ) {
      mode = 'PASSIVE';
    }
    if (mode) await this.doCheckpoint(mode);
  }

  /**
   * PASSIVE: with the write lock held the shadow WAL catches up to the very end of the WAL, then
   * the checkpoint runs (PASSIVE needs no write lock). RESTART: it takes the write lock itself,
   * so the shadow catches up first and the WAL's end is learnt from the checkpoint's result.
   * Then a write of ours restarts the WAL when it was fully checkpointed: the old WAL's exact
   * end is known, so the generation continues in the next index.
   */
  private async doCheckpoint(mode: 'PASSIVE' | 'RESTART'): Promise<void> {
    // Metrics (runtime/metrics.ts) listen to 'checkpoint'.
    const started = performance.now();
    let ran: boolean | undefined;
    try {
      ran = await this.runCheckpoint(mode);
    } finally {
      if (ran !== false) {
        const seconds = (performance.now() - started) / 1000;
        this.emit('checkpoint', { mode, seconds, error: ran === undefined });
      }
    }
  }

  /** False when skipped (the app held the write lock). */
  private async runCheckpoint(mode: 'PASSIVE' | 'RESTART'): Promise<boolean> {
    const fsz = frameSize(this.pageSize);
    let complete = false;
    try {
      // 1. Unlocked, the long part: pin at the WAL's end and checkpoint up to the pin while the
      //    app's writers go on (see repin), then make the shadow durable — needed only before the
      //    WAL can restart (step 2); an fsync between pin and checkpoint left the backfill to the
      //    app's autocheckpoint.
      for (let round = 0; round < UNLOCKED_ROUNDS; round++) {
        const started = performance.now();
        if (!this.repin(true)) break;
        await this.syncShadowAsync();
        if (this.closed) return false;
        if (performance.now() - started < SHORT_ROUND_MS) break;
      }
      // 2. Locked, short: catch up with what was committed meanwhile and checkpoint that. With
      //    the write lock ours, only an app reader on an older WAL mark can keep it incomplete.
      if (this.beginWrite()) {
        try {
          this.copyToShadow();
          this.syncShadow();
          this.releaseReadLock();
          const [row] = this.ownCheckpoint(
            () => this.reader!.pragma('wal_checkpoint(PASSIVE)') as CheckpointRow[],
          );
          complete = row.busy === 0 && row.log === row.checkpointed;
          // Pinned again before the app can commit: from here the WAL can only restart at the
          // end just copied (see repin), whoever writes next.
          this.acquireReadLock();
          this.rememberEnd(this.state!.size);
        } finally {
          this.rollbackWrite();
        }
      } else if (mode === 'PASSIVE') {
        this.log.debug('checkpoint not finished: the database is busy');
        return false;
      }
      if (!complete && mode === 'RESTART') {
        // An app reader on old frames (or the app kept the write lock): RESTART waits for it,
        // at most busyTimeout (Litestream #724: never hang the app), holding the app's write
        // lock for its whole run — only after PASSIVE could not finish, as SQLite's busy handler
        // sleeps whole milliseconds and rarely finds a busy app's write lock free.
        this.copyToShadow();
        this.syncShadow();
        this.releaseReadLock();
        const lockedAt = performance.now();
        const [row] = this.ownCheckpoint(
          () => this.reader!.pragma('wal_checkpoint(RESTART)') as CheckpointRow[],
        );
        const waited = performance.now() - lockedAt;
        this.writeLockSeconds += waited / 1000;
        this.acquireReadLock(); // as above: pinned before more frames can be checkpointed
        if (row.busy !== 0 && waited >= this.busyTimeout / 2) {
          // The same reader is likely still there: do not hold the app's writers for another
          // busy timeout on every pass (the WAL grows meanwhile; nothing is lost).
          this.restartHeldUntil = Date.now() + RESTART_BACKOFF_MS;
          this.log.debug(row, 'RESTART checkpoint could not finish: readers still on the WAL');
        } else if (row.busy !== 0) {
          // Returned at once: another checkpoint (the app's) held SQLite's checkpoint lock. Next pass.
          this.log.debug(row, 'RESTART checkpoint skipped: another checkpoint was running');
        } else {
          complete = true;
          if (row.log >= 0) this.rememberEnd(WAL_HEADER_SIZE + row.log * fsz);
        }
      }
      this.lastCheckpointAt = Date.now();
      // Our write restarts the WAL if it was completely checkpointed. Not worth waiting for:
      // while the app writes, its own next write restarts it (the end is known, see above).
      if (this.beginWrite(0)) {
        try {
          this.copyToShadow();
          this.rememberEnd(this.state!.size);
          this.bumpSeq();
          this.commitWrite();
        } finally {
          this.rollbackWrite();
        }
        this.copyToShadow();
      } else if (complete) {
        this.waitForAppRestart();
      }
    } finally {
      this.acquireReadLock();
    }
    this.copyToShadow();
    this.repinAfterRestart();
    return true;
  }

  /**
   * The app took the write lock right after a complete checkpoint: its commit restarts the WAL.
   * Wait a few ms for that commit, so repinAfterRestart moves our read lock now rather than a
   * monitor interval later.
   */
  private waitForAppRestart(): void {
    const s = this.state;
    if (!s) return;
    const salt = s.rawHeader.subarray(16, 24);
    const deadline = performance.now() + APP_RESTART_WAIT_MS;
    while (performance.now() < deadline) {
      const idx = this.walIndex();
      if (idx && idx !== 'retry' && idx.mxFrame > 0 && !idx.salt.equals(salt)) {
        this.copyToShadow();
        return;
      }
      Atomics.wait(pollCell, 0, 0, 0.2);
    }
  }

  /**
   * Hold SQLite's checkpoint lock until our next checkpoint, once the app commits fast enough
   * for its autocheckpoint tries to matter (see runtime/sqlite/checkpoint-lock.ts): each try then
   * fails on its first lock call. Our own checkpoints (same process) run regardless and drop the
   * hold when SQLite unlocks, so it is taken again at the end of every pass; if the app's
   * checkpoint has it at that moment, retried for a few ms, else next pass.
   */
  private holdCheckpointLock(): void {
    if (!this.checkpointLockWanted && !this.checkpointLockDue()) return;
    this.retakeCheckpointLock(CHECKPOINT_LOCK_WAIT_MS);
  }

  /** Run one of our checkpoints: SQLite's unlock at its end (or on its error) drops our hold. */
  private ownCheckpoint<T>(run: () => T): T {
    try {
      return run();
    } finally {
      this.retakeCheckpointLock();
    }
  }

  /**
   * Take the checkpoint lock again right after a checkpoint of ours dropped it (once wanted), so
   * the app's tries meanwhile — an fsync or two of the same pass — stay cheap too. One try by
   * default: an app checkpoint holding it now is one that finds nothing to do and ends at once.
   */
  private retakeCheckpointLock(waitMs = 0): void {
    if (!this.checkpointLockWanted || this.shmFd === undefined || !this.shmWritable) return;
    const locker = checkpointLocker() as CheckpointLocker;
    const deadline = performance.now() + waitMs;
    for (;;) {
      const r = locker.take(this.shmFd);
      if (r === 'held') return;
      if (r === 'failed') {
        this.checkpointLockWanted = false;
        this.checkpointLockMinRate = Number.POSITIVE_INFINITY;
        this.log.warn(
          "cannot take SQLite's checkpoint lock (fcntl failed): the app's autocheckpoint tries stay as they are",
        );
        return;
      }
      if (performance.now() >= deadline) return;
      Atomics.wait(pollCell, 0, 0, 0.2);
    }
  }

  /**
   * Has the commit rate reached the checkpoint lock's threshold? Measured from one pass to the
   * next (the first pass after a busy writer starts decides), over at least
   * CHECKPOINT_LOCK_MIN_COMMITS commits, so one burst does not count; sticky once reached.
   */
  private checkpointLockDue(): boolean {
    if (this.checkpointLockMinRate === Number.POSITIVE_INFINITY) return false;
    const now = performance.now();
    const elapsed = now - this.commitsCountedSince;
    if (elapsed < 100) return false;
    const commits = this.commitsCounted;
    const perSecond = (commits * 1000) / elapsed;
    this.commitsCounted = 0;
    this.commitsCountedSince = now;
    if (perSecond < this.checkpointLockMinRate || commits < CHECKPOINT_LOCK_MIN_COMMITS) return false;
    const locker = checkpointLocker();
    if (typeof locker === 'string') {
      this.checkpointLockMinRate = Number.POSITIVE_INFINITY;
      this.log.info(
        { reason: locker, commitsPerSecond: Math.round(perSecond) },
        "cannot hold SQLite's checkpoint lock: an app on the default wal_autocheckpoint pays a failed checkpoint try per commit (see docs/replicate.md)",
      );
      return false;
    }
    this.checkpointLockWanted = true;
    this.log.info(
      { commitsPerSecond: Math.round(perSecond) },
      "holding SQLite's checkpoint lock between checkpoints: the app's autocheckpoint tries now fail at once",
    );
    return true;
  }

  /**
   * A wal-index header that stays unreadable may be one whose writer died writing it: SQLite
   * repairs it (recovery) in the next reader, which must take the checkpoint lock — held by us
   * while checkpointLockWanted, so the app's readers would wait on us. One of our connections
   * reads now: in this process our own lock is no obstacle. Not while we hold the write lock (a
   * reader repairing a header needs it).
   */
  private letSqliteRecover(): void {
    const spare = this.spareReader;
    if (!this.checkpointLockWanted || !spare || spare.inTransaction || this.writer?.inTransaction) return;
    try {
      beginRead(spare);
    } catch {
      // the next pass tries again
    } finally {
      if (spare.inTransaction) spare.exec('ROLLBACK');
    }
  }

  /**
   * After a WAL restart our read lock is one on the db file alone (SQLite's read mark 0: only
   * such a reader lets the WAL restart). That mark blocks every checkpoint, and SQLite does not
   * know it before it has sorted the WAL's frames for one: each app commit past its
   * wal_autocheckpoint threshold (1000 frames) then paid for a checkpoint that could not run —
   * a flat-out 1-row writer lost a third of its throughput that way. So as soon as the new WAL
   * holds a committed frame, move the lock onto it: a WAL mark blocks restarts just the same,
   * and the app's autocheckpoint then stops at once at our mark.
   */
  private repinAfterRestart(): void {
    const s = this.state;
    if (!this.pinOnDbFile || !s || s.size <= WAL_HEADER_SIZE || this.writer?.inTransaction) return;
    this.repin();
  }

  /**
   * Record where the previous WAL index ended, as rows 2 (index) and 3 (end offset) of
   * `_litestream_seq`: the write lands in the new index, so a restore that applies it (or reads
   * it, for `-index`) can prove no segment at the end of the previous index is missing — the
   * layout itself does not say where an index ends. Skipped while the app holds the write lock
   * (retried next pass).
   */
  private writeIndexEnd(): void {
    const m = this.pendingIndexEnd;
    if (!m || !this.writer || this.writer.inTransaction || !this.state) return;
    if (!this.beginWrite(0)) return;
    try {
      // As for every write of ours: it may restart a fully checkpointed WAL, so note its end first.
      this.copyToShadow();
      if (this.pendingIndexEnd !== m || !this.state) return; // a restart or new generation meanwhile
      this.rememberEnd(this.state.size);
      this.writer
        .prepare(
          'INSERT INTO _litestream_seq (id, seq) VALUES (2, ?), (3, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq',
        )
        .run(m.index, m.end);
      this.commitWrite();
      this.pendingIndexEnd = undefined;
    } finally {
      this.rollbackWrite();
    }
    this.copyToShadow();
  }

  /** Frames in the live WAL file, for tests and metrics. */
  async walFrames(): Promise<number> {
    try {
      const { size } = await stat(this.walPath);
      return Math.max(0, Math.floor((size - WAL_HEADER_SIZE) / (WAL_FRAME_HEADER_SIZE + this.pageSize)));
    } catch {
      return 0;
    }
  }
}
