/**
 * Replication of every database in a config: one MonitoredDb per db, one ReplicaSyncer per
 * replica, each on its own interval.
 */
import { statSync } from 'node:fs';
import type { Config, DbConfig } from '../config/types.js';
import { UserError } from '../errors.js';
import { type Logger, silentLogger } from '../log.js';
import { openReplicaClient } from '../replica/index.js';
import { PeriodicValidation } from '../verify/periodic.js';
import { MonitoredDb } from './db.js';
import { ReplicaSyncer } from './replica.js';
import { timerDelay } from './timers.js';

export { MonitoredDb, type ShadowPosition } from './db.js';
export { ReplicaSyncer } from './replica.js';

export interface ReplicatedDb {
  db: MonitoredDb;
  replicas: ReplicaSyncer[];
}

export interface ReplicationOptions {
  logger?: Logger;
  /** Start interval timers and the WAL watcher (default true; false for one-shot commands). */
  timers?: boolean;
}

export class Replication {
  /** validation-interval: periodic `verify` of the replicas that set it (runtime/verify/). */
  validation?: PeriodicValidation;

  private constructor(
    readonly dbs: ReplicatedDb[],
    private readonly log: Logger,
  ) {}

  /**
   * Open every db (read lock taken, shadow WAL caught up), then start the monitors and the
   * replicas. Resolves once every db holds its read lock, so an -exec child may start.
   */
  static async start(config: Config, opts: ReplicationOptions = {}): Promise<Replication> {
    const log = opts.logger ?? silentLogger();
    const timers = opts.timers !== false;
    const opened: ReplicatedDb[] = [];
    const missing: ReplicatedDb[] = [];
    try {
      for (const cfg of config.dbs) {
        // Never create a database: a mistyped or misdetected path would start an empty
        // generation whose retention deletes the real backups. Wait for it, as Litestream does.
        if (!hasDatabase(cfg.path)) {
          if (!timers) {
            throw new UserError(`database ${cfg.path} does not exist (or is still empty)`, {
              hint: 'Check the path (it is never created): the app creates it, or restore it first.',
            });
          }
          log.warn(
            { db: cfg.path },
            'database file does not exist yet: waiting for it (it is never created)',
          );
          missing.push(await openDb(cfg, log, { deferOpen: true }));
        } else opened.push(await openDb(cfg, log));
      }
    } catch (err) {
      for (const d of [...opened, ...missing]) await closeDb(d, log);
      throw err;
    }
    const r = new Replication([...opened, ...missing], log);
    if (timers) {
      for (const d of opened) r.startDb(d);
      for (const d of missing) r.waitForFile(d);
      if (PeriodicValidation.wanted(config.dbs)) {
        r.validation = new PeriodicValidation(config.dbs, { logger: log });
        r.validation.start();
      }
    }
    return r;
  }

  private readonly waiting = new Map<ReplicatedDb, NodeJS.Timeout>();
  /** A waited-for db being opened right now (close must not race it). */
  private readonly opening = new Map<ReplicatedDb, Promise<void>>();

  private startDb(d: ReplicatedDb): void {
    d.db.start();
    for (const rep of d.replicas) {
      rep.start();
      // First sync right away: finds the position, takes the generation's first snapshot.
      rep.sync().catch(() => undefined);
    }
  }

  /** Poll (monitor-interval) until the db file exists, then open and replicate it. */
  private waitForFile(d: ReplicatedDb): void {
    let opening = false;
    const timer = setInterval(() => {
      if (opening || !hasDatabase(d.db.path)) return;
      opening = true;
      const open = d.db
        .open()
        .then(() => {
          clearInterval(timer);
          this.waiting.delete(d);
          // The same line as a db that existed at start (log consumers wait for it).
          this.log.info({ db: d.db.path, replicas: d.replicas.map((r) => r.name) }, 'replicating');
          this.startDb(d);
        })
        .catch((err) => {
          this.log.error(
            { db: d.db.path, err: (err as Error).message },
            'cannot open the database; retrying',
          );
          opening = false;
        })
        .finally(() => this.opening.delete(d));
      this.opening.set(d, open);
    }, timerDelay(d.db.config.monitorInterval));
    timer.unref?.();
    this.waiting.set(d, timer);
  }

  /** Copy every WAL and ship everything to every replica now. Rejects if any replica failed. */
  async syncAll(): Promise<void> {
    const errors: unknown[] = [];
    for (const d of this.dbs) {
      await d.db.sync().catch((e) => errors.push(e));
      await Promise.all(d.replicas.map((r) => r.sync().catch((e) => errors.push(e))));
    }
    if (errors.length > 0) throw errors[0];
  }

  /** Take a snapshot on every replica of every db now. */
  async snapshotAll(): Promise<void> {
    for (const d of this.dbs) {
      await d.db.sync();
      await Promise.all(d.replicas.map((r) => r.snapshot()));
    }
  }

  /**
   * Stop timers; with finalSync, ship everything first — for at most `timeoutMs` (a storage
   * outage must not hold a shutdown until the orchestrator's SIGKILL). Errors are logged, not
   * thrown; the result names every replica left behind.
   */
  async close(opts: { finalSync?: boolean; timeoutMs?: number } = {}): Promise<CloseResult> {
    this.validation?.stop();
    const late = [...this.waiting.keys()];
    for (const t of this.waiting.values()) clearInterval(t);
    this.waiting.clear();
    await Promise.all(this.opening.values());
    if (opts.finalSync !== false) {
      // An app that created its db and committed rows between two polls, then was stopped: its
      // rows must still reach the replicas, so the final sync opens the db now.
      for (const d of late) {
        if (d.db.position !== undefined || !hasDatabase(d.db.path)) continue;
        await d.db.open().then(
          () => this.log.info({ db: d.db.path, replicas: d.replicas.map((r) => r.name) }, 'replicating'),
          (err: Error) => this.log.error({ db: d.db.path, err: err.message }, 'cannot open the database'),
        );
      }
    }
    for (const d of this.dbs) {
      d.db.stopTimers();
      for (const r of d.replicas) r.stop();
    }
    let unshipped: string[] = [];
    let abandon = false;
    if (opts.finalSync !== false) {
      let timer: NodeJS.Timeout | undefined;
      const limit = opts.timeoutMs;
      const timedOut = new Promise<'timeout'>((resolve) => {
        if (limit !== undefined) timer = setTimeout(() => resolve('timeout'), timerDelay(limit));
      });
      const outcome = await Promise.race([
        this.syncAll().then(
          () => 'ok' as const,
          (err: Error) => err,
        ),
        timedOut,
      ]);
      clearTimeout(timer);
      unshipped = this.unshipped();
      if (outcome === 'ok' && unshipped.length === 0) this.log.info('final sync done');
      else {
        abandon = outcome === 'timeout';
        const why =
          outcome === 'timeout'
            ? `final sync did not finish within ${Math.round((limit ?? 0) / 100) / 10}s`
            : 'final sync failed';
        const err = outcome instanceof Error ? outcome.message : undefined;
        if (unshipped.length === 0) unshipped = this.dbs.flatMap((d) => d.replicas.map((r) => describe(r)));
        this.log.error({ unshipped, err }, `${why}: not shipped to ${unshipped.join(', ')}`);
      }
    }
    for (const d of this.dbs) await closeDb(d, this.log, abandon);
    return { unshipped };
  }

  /** Replicas that do not hold everything the shadow WAL holds. */
  private unshipped(): string[] {
    return this.dbs.flatMap((d) => d.replicas.filter((r) => !r.caughtUp()).map((r) => describe(r)));
  }
}

export interface CloseResult {
  /** `replica "NAME" of DB` for every replica the final sync could not bring up to date. */
  unshipped: string[];
}

/**
 * The db file exists and SQLite has written its header. An app that just opened a new db holds
 * a 0-byte file until its first write: our first writes would fix its page size and journal
 * mode before its own PRAGMAs run, so we wait for that first write.
 */
export function hasDatabase(path: string): boolean {
  try {
    return statSync(path).size > 0;
  } catch {
    return false;
  }
}

function describe(r: ReplicaSyncer): string {
  return `replica "${r.name}" of ${r.db.path}`;
}

async function openDb(cfg: DbConfig, log: Logger, opts: { deferOpen?: boolean } = {}): Promise<ReplicatedDb> {
  const db = new MonitoredDb(cfg, { logger: log });
  const replicas: ReplicaSyncer[] = [];
  try {
    for (const rc of cfg.replicas) {
      const client = await openReplicaClient(rc, { logger: log });
      replicas.push(new ReplicaSyncer(db, rc, client, log));
    }
    if (opts.deferOpen) return { db, replicas };
    await db.open();
  } catch (err) {
    for (const r of replicas) await r.client.close().catch(() => undefined);
    throw err;
  }
  log.info({ db: cfg.path, replicas: cfg.replicas.map((r) => r.name) }, 'replicating');
  return { db, replicas };
}

async function closeDb(d: ReplicatedDb, log: Logger, abandon = false): Promise<void> {
  for (const r of d.replicas) {
    await r.close({ abandon }).catch((e) => log.warn({ err: (e as Error).message }, 'close'));
  }
  await d.db.close();
}
