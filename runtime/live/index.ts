/**
 * What `ls-mix replicate` runs besides the monitors: the HTTP server when `addr` is set, and a
 * follower for every db with `upstream:` (a live read replica). A follower db that also lists
 * `replicas:` gets its own monitor once it has caught up, so a replica can back up to S3 too.
 */
import type { Config, DbConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { Metrics } from '../metrics.js';
import { Replication } from '../replicate/index.js';
import { LiveServer, type Readiness, serverLimits } from '../server/http.js';
import { Follower } from './follower.js';

export { Follower } from './follower.js';
export { assertDbpageAvailable } from './pages.js';

export interface LiveOptions {
  logger: Logger;
  /** Re-sync diverged replicas from the primary instead of refusing to start. */
  resync?: boolean;
}

/** The dbs this process monitors itself (the others follow a primary). */
export function primaryDbs(config: Config): DbConfig[] {
  return config.dbs.filter((d) => !d.upstream);
}

export class LiveRuntime {
  readonly metrics = new Metrics();
  readonly followers: Follower[] = [];
  server?: LiveServer;
  private primary?: Replication;
  private readonly followerReplications = new Map<Follower, Replication>();
  private closed = false;

  private constructor(
    private readonly config: Config,
    private readonly opts: LiveOptions,
  ) {}

  /** Start the server (answering 503 until ready) and the followers. */
  static async start(config: Config, opts: LiveOptions): Promise<LiveRuntime> {
    const live = new LiveRuntime(config, opts);
    try {
      if (config.addr) {
        live.server = await LiveServer.listen({
          addr: config.addr,
          authToken: config.authToken,
          limits: serverLimits(config),
          logger: opts.logger,
          metrics: live.metrics,
          dbs: () => live.primary?.dbs.map((d) => d.db) ?? [],
          readiness: () => live.readiness(),
        });
      }
      for (const cfg of config.dbs) {
        if (!cfg.upstream) continue;
        const f = new Follower(cfg, { logger: opts.logger, resync: opts.resync || cfg.upstream.resync });
        live.metrics.trackFollower(f);
        await f.start();
        live.followers.push(f);
        if (cfg.replicas.length > 0) f.once('ready', () => live.monitorFollower(f, cfg));
      }
    } catch (err) {
      await live.close();
      throw err;
    }
    return live;
  }

  /** The primary dbs' replication, once open: /stream serves them, /metrics reports them. */
  attach(rep: Replication): void {
    this.primary = rep;
    this.metrics.trackReplication(rep);
  }

  readiness(): Readiness {
    const waiting: string[] = [];
    if (primaryDbs(this.config).length > 0 && !this.primary) waiting.push('databases to open');
    const reps = [...(this.primary ? [this.primary] : []), ...this.followerReplications.values()];
    for (const rep of reps) {
      for (const d of rep.dbs) {
        // A db its app has not created yet holds nothing to back up. The generated compose
        // starts the app only once this answers 200: waiting for the db here would deadlock.
        if (d.db.position === undefined) continue;
        for (const r of d.replicas) {
          if (!r.syncedOnce) waiting.push(`first sync of ${d.db.path} to ${r.name}`);
          else if (r.stale) waiting.push(`sync of ${d.db.path} to ${r.name} (failing)`);
        }
      }
    }
    for (const f of this.followers) {
      if (!f.ready) waiting.push(`live replica ${f.path} to catch up`);
      else if (f.config.replicas.length > 0 && !this.followerReplications.has(f)) {
        waiting.push(`monitor of ${f.path}`);
      }
    }
    return { ready: waiting.length === 0, waiting };
  }

  private async monitorFollower(f: Follower, cfg: DbConfig): Promise<void> {
    if (this.closed) return;
    try {
      const rep = await Replication.start({ ...this.config, dbs: [cfg] }, { logger: this.opts.logger });
      if (this.closed) {
        await rep.close({ finalSync: true });
        return;
      }
      this.followerReplications.set(f, rep);
      this.metrics.trackReplication(rep);
    } catch (err) {
      this.opts.logger.error(
        { db: cfg.path, err: (err as Error).message },
        'live replica: cannot start replicating it to its replicas',
      );
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.server?.close();
    for (const [f, rep] of this.followerReplications) {
      await rep.close({ finalSync: true });
      this.followerReplications.delete(f);
    }
    for (const f of this.followers) await f.close();
  }
}
