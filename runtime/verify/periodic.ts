/**
 * `validation-interval`: inside `replicate`, verify each replica that sets it on its own timer
 * (in a child process, see child.ts), log the outcome and expose it as Prometheus gauges:
 *   litestream_validation_ok{db,name}            1 when the last verification passed, else 0
 *   litestream_validation_restore_seconds{db,name}  how long its restore took
 *   litestream_validation_rpo_seconds{db,name}      age of the newest replicated object then
 *   litestream_validation_timestamp_seconds{db,name} when it finished (unix time)
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Gauge, Registry } from 'prom-client';
import type { DbConfig, ReplicaConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { promClient } from '../metrics.js';
import { timerDelay } from '../replicate/timers.js';
import type { ReplicaVerification, VerifyReport } from '../verify.js';
import type { VerifyJob } from './child.js';

// prom-client loads only when some replica has a validation-interval (promClient: a plain
// require, so the constructor stays synchronous).

const CHILD_TIMEOUT_MS = 30 * 60_000;

function childEntry(): { path: string; execArgv: string[] } {
  const fromSources = import.meta.url.endsWith('.ts');
  const path = fileURLToPath(new URL(fromSources ? './child.ts' : './child.js', import.meta.url));
  const hasTsx = process.execArgv.some((a) => a.includes('tsx'));
  return {
    path,
    execArgv: fromSources && !hasTsx ? [...process.execArgv, '--import', 'tsx'] : process.execArgv,
  };
}

/** Run one verification of one replica in a child process. */
export function verifyInChild(job: VerifyJob): Promise<ReplicaVerification> {
  const { path, execArgv } = childEntry();
  return new Promise((resolve) => {
    const child = fork(path, [], { execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    let settled = false;
    const done = (v: ReplicaVerification) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(v);
    };
    const failed = (error: string): ReplicaVerification => ({
      db: job.dbPath,
      replica: job.replica.name,
      ok: false,
      restoreMs: 0,
      error,
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done(failed('verification timed out'));
    }, CHILD_TIMEOUT_MS);
    timer.unref?.();
    child.on('message', (m: { report?: VerifyReport; error?: string }) => {
      if (m.report?.replicas[0]) done(m.report.replicas[0]);
      else done(failed(m.error ?? 'verification returned nothing'));
    });
    child.on('error', (err) => done(failed(err.message)));
    child.on('exit', (code, signal) => done(failed(`verification process exited (${signal ?? code})`)));
    child.send(job);
  });
}

function gauge(registry: Registry, name: string, help: string): Gauge<'db' | 'name'> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge<'db' | 'name'>;
  return new (promClient().Gauge)({ name, help, labelNames: ['db', 'name'], registers: [registry] });
}

export interface PeriodicValidationOptions {
  logger: Logger;
  /** Where the gauges go (default: prom-client's global registry). */
  registry?: Registry;
  scratchDir?: string;
}

export class PeriodicValidation {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly running = new Set<string>();
  private stopped = false;
  /** Last result per `db\0replica` (status, tests). */
  readonly last = new Map<string, ReplicaVerification>();
  private readonly gauges;

  constructor(
    private readonly dbs: DbConfig[],
    private readonly opts: PeriodicValidationOptions,
  ) {
    const reg = opts.registry ?? promClient().register;
    this.gauges = {
      ok: gauge(
        reg,
        'litestream_validation_ok',
        '1 when the last verification of the replica passed, else 0',
      ),
      restore: gauge(reg, 'litestream_validation_restore_seconds', 'Restore time of the last verification'),
      rpo: gauge(
        reg,
        'litestream_validation_rpo_seconds',
        'Age of the newest replicated object at the last verification',
      ),
      at: gauge(reg, 'litestream_validation_timestamp_seconds', 'Unix time the last verification finished'),
    };
  }

  /** True when some replica has a validation-interval. */
  static wanted(dbs: DbConfig[]): boolean {
    return dbs.some((d) => d.replicas.some((r) => r.validationInterval > 0));
  }

  start(): void {
    for (const db of this.dbs) {
      for (const replica of db.replicas) {
        if (replica.validationInterval <= 0) continue;
        const t = setInterval(() => {
          this.runOnce(db, replica).catch(() => undefined);
        }, timerDelay(replica.validationInterval));
        t.unref?.();
        this.timers.push(t);
      }
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
  }

  /** Verify one replica now (skipped while the previous run of it is still going). */
  async runOnce(db: DbConfig, replica: ReplicaConfig): Promise<ReplicaVerification | undefined> {
    const key = `${db.path}\0${replica.name}`;
    if (this.running.has(key) || this.stopped) return undefined;
    this.running.add(key);
    try {
      const v = await verifyInChild({ dbPath: db.path, replica, scratchDir: this.opts.scratchDir });
      this.last.set(key, v);
      const labels = { db: db.path, name: replica.name };
      this.gauges.ok.set(labels, v.ok ? 1 : 0);
      this.gauges.restore.set(labels, v.restoreMs / 1000);
      if (v.rpoMs !== undefined) this.gauges.rpo.set(labels, v.rpoMs / 1000);
      this.gauges.at.set(labels, Date.now() / 1000);
      const log = this.opts.logger.child({ db: db.path, replica: replica.name });
      if (v.ok)
        log.info({ restoreMs: v.restoreMs, rpoMs: v.rpoMs, compare: v.compare?.status }, 'validation ok');
      else log.error({ err: v.error, restoreMs: v.restoreMs }, 'validation FAILED');
      return v;
    } finally {
      this.running.delete(key);
    }
  }
}
