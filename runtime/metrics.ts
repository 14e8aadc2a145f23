/**
 * Prometheus metrics of the replicate process, served on `addr` at /metrics. Names follow
 * Litestream v0.3.13 where it has one (dashboards keep working); live-replica metrics are
 * `ls_mix_live_*`. One registry per process (not prom-client's global one, so a host app's own
 * metrics never mix in); gauges are read at scrape time from the objects they describe.
 */
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { pipeline, type Readable, Transform } from 'node:stream';
import type { Gauge, Registry } from 'prom-client';
import type { Follower } from './live/follower.js';
import type { ReplicaClient } from './replica/client.js';
import type { MonitoredDb } from './replicate/db.js';
import type { Replication } from './replicate/index.js';

// prom-client (with its OpenTelemetry dependency) loads on the first scrape, not at start: a
// replicate process without `addr` never pays its ~3 MB of heap. It is CommonJS, so a plain
// require keeps `registry` synchronous.
type PromClient = typeof import('prom-client');
const require = createRequire(import.meta.url);
export const promClient = (): PromClient => require('prom-client') as PromClient;

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

type Op = 'GET' | 'PUT' | 'DELETE' | 'LIST';
type Labels = Record<string, string>;

/**
 * A labelled counter (or inc/dec gauge) kept in plain numbers: events are counted from the
 * start, and the prom-client metric that exposes them reads them at scrape time.
 */
class Tally {
  private readonly values = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly type: 'counter' | 'gauge',
    readonly name: string,
    readonly help: string,
    readonly labelNames: string[],
  ) {}

  inc(labels: Labels, by = 1): void {
    const key = this.labelNames.map((n) => labels[n]).join('\0');
    const entry = this.values.get(key);
    if (entry) entry.value += by;
    else this.values.set(key, { labels: { ...labels }, value: by });
  }

  dec(labels: Labels): void {
    this.inc(labels, -1);
  }

  entries(): Iterable<{ labels: Labels; value: number }> {
    return this.values.values();
  }
}

/** A gauge computed at scrape time from the objects it describes. */
interface CollectedGauge {
  type: 'collected';
  name: string;
  help: string;
  labelNames: string[];
  collect: (g: Gauge) => void | Promise<void>;
}

export class Metrics {
  private readonly replications = new Set<Replication>();
  private readonly followers = new Set<Follower>();
  private readonly instrumented = new WeakSet<object>();
  /** Every metric in exposition order. */
  private readonly defs: (Tally | CollectedGauge)[] = [];
  private built?: Registry;

  private readonly syncCount: Tally;
  private readonly syncErrors: Tally;
  private readonly newGenerations: Tally;
  private readonly syncSeconds: Tally;
  private readonly checkpointCount: Tally;
  private readonly checkpointErrors: Tally;
  private readonly checkpointSeconds: Tally;
  private readonly opTotal: Tally;
  private readonly opBytes: Tally;
  private readonly liveBatches: Tally;
  private readonly liveBytes: Tally;
  private readonly liveSnapshots: Tally;
  private readonly liveReconnects: Tally;
  private readonly streams: Tally;
  private readonly streamBytes: Tally;
  private readonly streamSnapshots: Tally;

  constructor() {
    const tally = (type: 'counter' | 'gauge', name: string, help: string, labelNames: string[]) => {
      const t = new Tally(type, name, help, labelNames);
      this.defs.push(t);
      return t;
    };
    const counter = (name: string, help: string, labelNames: string[]) =>
      tally('counter', name, help, labelNames);
    const gauge = (
      name: string,
      help: string,
      labelNames: string[],
      collect?: (g: Gauge) => void | Promise<void>,
    ): Tally | undefined => {
      if (!collect) return tally('gauge', name, help, labelNames);
      this.defs.push({ type: 'collected', name, help, labelNames, collect });
      return undefined;
    };

    gauge('litestream_db_size', 'The current size of the database file, in bytes', ['db'], async (g) => {
      for (const db of this.dbPaths()) g.set({ db }, await fileSize(db));
    });
    gauge('litestream_wal_size', 'The current size of the WAL file, in bytes', ['db'], async (g) => {
      for (const db of this.dbPaths()) g.set({ db }, await fileSize(`${db}-wal`));
    });
    gauge('litestream_shadow_wal_index', 'The current shadow WAL index', ['db'], (g) => {
      for (const d of this.monitored()) if (d.position) g.set({ db: d.path }, d.position.index);
    });
    gauge('litestream_shadow_wal_size', 'Committed bytes in the current shadow WAL file', ['db'], (g) => {
      for (const d of this.monitored()) if (d.position) g.set({ db: d.path }, d.position.size);
    });
    gauge(
      'ls_mix_write_lock_seconds',
      "Seconds the runtime held the database's write lock (the app's writers wait meanwhile), since start",
      ['db'],
      (g) => {
        for (const d of this.monitored()) g.set({ db: d.path }, d.writeLockSeconds);
      },
    );
    gauge(
      'litestream_replica_wal_index',
      'The WAL index the replica has shipped up to',
      ['db', 'name'],
      (g) => {
        for (const r of this.replicaSyncers())
          if (r.position) g.set({ db: r.db.path, name: r.name }, r.position.index);
      },
    );
    gauge(
      'litestream_replica_wal_offset',
      'The byte offset in the WAL index the replica has shipped up to',
      ['db', 'name'],
      (g) => {
        for (const r of this.replicaSyncers())
          if (r.position) g.set({ db: r.db.path, name: r.name }, r.position.offset);
      },
    );
    this.syncCount = counter('litestream_sync_count', 'Monitor passes (WAL copied to the shadow WAL)', [
      'db',
    ]);
    this.syncErrors = counter('litestream_sync_error_count', 'Monitor passes that failed', ['db']);
    this.newGenerations = counter(
      'ls_mix_new_generations_total',
      'Generations started because the backup could not continue the previous one',
      ['db', 'reason'],
    );
    this.syncSeconds = counter('litestream_sync_seconds', 'Time spent in monitor passes', ['db']);
    this.checkpointCount = counter('litestream_checkpoint_count', 'Checkpoints run', ['db', 'mode']);
    this.checkpointErrors = counter('litestream_checkpoint_error_count', 'Checkpoints that failed', [
      'db',
      'mode',
    ]);
    this.checkpointSeconds = counter('litestream_checkpoint_seconds', 'Time spent checkpointing', [
      'db',
      'mode',
    ]);
    this.opTotal = counter('litestream_replica_operation_total', 'Storage operations', [
      'replica_type',
      'operation',
    ]);
    this.opBytes = counter('litestream_replica_operation_bytes', 'Bytes moved by storage operations', [
      'replica_type',
      'operation',
    ]);

    gauge(
      'ls_mix_live_replica_lag_seconds',
      'Seconds since the live replica last had everything the primary committed (0 = caught up)',
      ['db'],
      (g) => {
        for (const f of this.followers) g.set({ db: f.path }, f.lagSeconds());
      },
    );
    gauge('ls_mix_live_replica_connected', '1 while connected to the primary', ['db'], (g) => {
      for (const f of this.followers) g.set({ db: f.path }, f.connected ? 1 : 0);
    });
    gauge(
      'ls_mix_live_replica_wal_index',
      'The primary WAL index the live replica has applied up to',
      ['db'],
      (g) => {
        for (const f of this.followers) if (f.position) g.set({ db: f.path }, f.position.index);
      },
    );
    gauge('ls_mix_live_replica_wal_offset', 'The byte offset in that WAL index', ['db'], (g) => {
      for (const f of this.followers) if (f.position) g.set({ db: f.path }, f.position.offset);
    });
    this.liveBatches = counter(
      'ls_mix_live_replica_batches_total',
      'Batches applied (one transaction each)',
      ['db'],
    );
    this.liveBytes = counter('ls_mix_live_replica_bytes_total', 'Bytes received and applied', ['db']);
    this.liveSnapshots = counter('ls_mix_live_replica_snapshots_total', 'Snapshots applied', ['db']);
    this.liveReconnects = counter(
      'ls_mix_live_replica_disconnects_total',
      'Connections to the primary lost',
      ['db'],
    );
    this.streams = gauge('ls_mix_live_streams', 'Live replicas streaming from this primary now', [
      'db',
    ]) as Tally;
    this.streamBytes = counter('ls_mix_live_stream_bytes_total', 'Bytes sent to live replicas', ['db']);
    this.streamSnapshots = counter('ls_mix_live_stream_snapshots_total', 'Snapshots sent to live replicas', [
      'db',
    ]);
  }

  /** The registry of this process's metrics (prom-client is loaded on first use). */
  get registry(): Registry {
    this.built ??= this.buildRegistry();
    return this.built;
  }

  private buildRegistry(): Registry {
    const { Counter, Gauge, Registry } = promClient();
    const registry = new Registry();
    const registers = [registry];
    for (const def of this.defs) {
      const { name, help, labelNames } = def;
      if (def.type === 'collected') {
        const collect = def.collect;
        new Gauge({
          name,
          help,
          labelNames,
          registers,
          async collect() {
            this.reset();
            await collect(this);
          },
        });
      } else {
        // After reset(), inc by the tally's total sets it: for gauges too (which may be negative).
        const Metric: typeof Counter =
          def.type === 'counter' ? Counter : (Gauge as unknown as typeof Counter);
        new Metric({
          name,
          help,
          labelNames,
          registers,
          collect() {
            this.reset();
            for (const e of def.entries()) this.inc(e.labels, e.value);
          },
        });
      }
    }
    return registry;
  }

  /**
   * The exposition text: this registry plus prom-client's global one, where other parts of the
   * runtime (validation-interval gauges, runtime/verify/) report.
   */
  async text(): Promise<string> {
    const { Registry, register: globalRegistry } = promClient();
    let merged: Registry;
    try {
      merged = Registry.merge([this.registry, globalRegistry]);
    } catch {
      merged = this.registry; // a name in both: ours wins
    }
    return merged.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Report a Replication's dbs and replicas (event listeners, client instrumentation). */
  trackReplication(rep: Replication): void {
    this.replications.add(rep);
    for (const d of rep.dbs) {
      this.trackDb(d.db);
      for (const r of d.replicas) this.instrumentClient(r.client);
    }
  }

  untrackReplication(rep: Replication): void {
    this.replications.delete(rep);
  }

  trackFollower(f: Follower): void {
    this.followers.add(f);
    const db = f.path;
    f.on('applied', (e: { bytes: number; snapshot: boolean }) => {
      this.liveBatches.inc({ db });
      this.liveBytes.inc({ db }, e.bytes);
      if (e.snapshot) this.liveSnapshots.inc({ db });
    });
    f.on('disconnected', () => this.liveReconnects.inc({ db }));
  }

  /** Hooks for the server's stream endpoint. */
  streamStarted(db: string): { bytes: (n: number) => void; snapshot: () => void; end: () => void } {
    this.streams.inc({ db });
    return {
      bytes: (n) => this.streamBytes.inc({ db }, n),
      snapshot: () => this.streamSnapshots.inc({ db }),
      end: () => this.streams.dec({ db }),
    };
  }

  private trackDb(db: MonitoredDb): void {
    if (this.instrumented.has(db)) return;
    this.instrumented.add(db);
    const labels = { db: db.path };
    db.on('sync', (e: { seconds: number; error?: boolean }) => {
      this.syncCount.inc(labels);
      this.syncSeconds.inc(labels, e.seconds);
      if (e.error) this.syncErrors.inc(labels);
    });
    db.on('generation', (_g: string, reason: string) => {
      if (reason !== 'no local state') this.newGenerations.inc({ db: db.path, reason });
    });
    db.on('checkpoint', (e: { mode: string; seconds: number; error?: boolean }) => {
      const l = { db: db.path, mode: e.mode };
      this.checkpointCount.inc(l);
      this.checkpointSeconds.inc(l, e.seconds);
      if (e.error) this.checkpointErrors.inc(l);
    });
  }

  /**
   * Count operations and bytes per storage type by wrapping the client's methods in place (the
   * syncer keeps its reference to the same object).
   */
  private instrumentClient(client: ReplicaClient): void {
    if (this.instrumented.has(client)) return;
    this.instrumented.add(client);
    const type = client.type;
    const count = (op: Op) => this.opTotal.inc({ replica_type: type, operation: op });
    const bytes = (op: Op, body: Readable): Readable => {
      // Count inside the transform: a 'data' listener would switch the stream to flowing mode
      // and drop every chunk emitted before the real consumer attaches (empty/truncated objects).
      const counter = new Transform({
        transform: (c: Buffer, _enc, cb) => {
          this.opBytes.inc({ replica_type: type, operation: op }, c.length);
          cb(null, c);
        },
      });
      return pipeline(body, counter, () => undefined);
    };
    const c = client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const wrap = (name: keyof ReplicaClient, op: Op, body?: 'arg' | 'result') => {
      const orig = c[name].bind(client);
      c[name] = async (...args: unknown[]) => {
        count(op);
        if (body === 'arg') args[args.length - 1] = bytes(op, args[args.length - 1] as Readable);
        const result = await orig(...args);
        return body === 'result' ? bytes(op, result as Readable) : result;
      };
    };
    wrap('generations', 'LIST');
    wrap('snapshots', 'LIST');
    wrap('walSegments', 'LIST');
    wrap('writeSnapshot', 'PUT', 'arg');
    wrap('writeWalSegment', 'PUT', 'arg');
    wrap('openSnapshot', 'GET', 'result');
    wrap('openWalSegment', 'GET', 'result');
    wrap('deleteGeneration', 'DELETE');
    wrap('deleteSnapshot', 'DELETE');
    wrap('deleteWalSegments', 'DELETE');
  }

  private *monitored(): Iterable<MonitoredDb> {
    for (const r of this.replications) for (const d of r.dbs) yield d.db;
  }

  private *replicaSyncers() {
    for (const r of this.replications) for (const d of r.dbs) yield* d.replicas;
  }

  private dbPaths(): Set<string> {
    const out = new Set<string>();
    for (const d of this.monitored()) out.add(d.path);
    for (const f of this.followers) out.add(f.path);
    return out;
  }
}
