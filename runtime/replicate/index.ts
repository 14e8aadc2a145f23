/**
 * Replication of every database in a config: one MonitoredDb per db, one ReplicaSyncer per
 * replica, each on its own interval.
 */
import type { Config, DbConfig } from '../config/types.js';
import { type Logger, silentLogger } from '../log.js';
import { openReplicaClient } from '../replica/index.js';
import { PeriodicValidation } from '../verify/periodic.js';
import { MonitoredDb } from './db.js';
import { ReplicaSyncer } from './replica.js';

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
    const opened: ReplicatedDb[] = [];
    try {
      for (const cfg of config.dbs) opened.push(await openDb(cfg, log));
    } catch (err) {
      for (const d of opened) await closeDb(d, log);
      throw err;
    }
    const r = new Replication(opened, log);
    if (opts.timers !== false) {
      for (const d of opened) {
        d.db.start();
        for (const rep of d.replicas) {
          rep.start();
          // First sync right away: finds the position, takes the generation's first snapshot.
          rep.sync().catch(() => undefined);
        }
      }
      if (PeriodicValidation.wanted(config.dbs)) {
        r.validation = new PeriodicValidation(config.dbs, { logger: log });
        r.validation.start();
      }
    }
    return r;
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

  /** Stop timers; with finalSync, ship everything first (errors are logged, not thrown). */
  async close(opts: { finalSync?: boolean } = {}): Promise<void> {
    this.validation?.stop();
    for (const d of this.dbs) {
      d.db.stopTimers();
      for (const r of d.replicas) r.stop();
    }
    if (opts.finalSync !== false) {
      try {
        await this.syncAll();
        this.log.info('final sync done');
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'final sync failed');
      }
    }
    for (const d of this.dbs) await closeDb(d, this.log);
  }
}

async function openDb(cfg: DbConfig, log: Logger): Promise<ReplicatedDb> {
  const db = new MonitoredDb(cfg, { logger: log });
  const replicas: ReplicaSyncer[] = [];
  try {
    for (const rc of cfg.replicas) {
      const client = await openReplicaClient(rc, { logger: log });
      replicas.push(new ReplicaSyncer(db, rc, client, log));
    }
    await db.open();
  } catch (err) {
    for (const r of replicas) await r.client.close().catch(() => undefined);
    throw err;
  }
  log.info({ db: cfg.path, replicas: cfg.replicas.map((r) => r.name) }, 'replicating');
  return { db, replicas };
}

async function closeDb(d: ReplicatedDb, log: Logger): Promise<void> {
  for (const r of d.replicas) await r.close().catch((e) => log.warn({ err: (e as Error).message }, 'close'));
  await d.db.close();
}
