/**
 * Live-replica test harness: `ls-mix replicate` processes (the built CLI, as users run it) for a
 * primary and its replicas on 127.0.0.1, a bank workload, and readers that check its invariant.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { freePort, killPid, spawnServer, waitFor } from '../../services/process.js';

export const ROOT = join(import.meta.dirname, '../../..');
export const CLI = join(ROOT, 'bin/run.js');
export const BANK = join(import.meta.dirname, 'bank.mjs');
export const ACCOUNTS = 20;

/** One `ls-mix replicate -config FILE` process. */
export class Node {
  child?: ChildProcess;

  constructor(
    readonly name: string,
    readonly dir: string,
    readonly db: string,
    readonly configFile: string,
    readonly port: number,
    readonly extraArgs: string[] = [],
  ) {}

  get logFile(): string {
    return join(this.dir, `${this.name}.log`);
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  start(args: string[] = this.extraArgs): ChildProcess {
    this.child = spawnServer('node', [CLI, 'replicate', '-config', this.configFile, ...args], this.logFile);
    return this.child;
  }

  /** Resolves with the exit code. */
  exited(): Promise<number | null> {
    const c = this.child;
    if (!c || c.exitCode !== null) return Promise.resolve(c?.exitCode ?? null);
    return new Promise((r) => c.once('exit', (code) => r(code)));
  }

  async stop(): Promise<void> {
    await killPid(this.child?.pid, 10_000);
  }

  kill(): void {
    if (this.child?.pid) process.kill(this.child.pid, 'SIGKILL');
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async healthz(): Promise<number> {
    try {
      return (await fetch(this.url('/healthz'))).status;
    } catch {
      return 0;
    }
  }

  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      `${this.name} /healthz 200`,
      async () => (await this.healthz()) === 200,
      timeoutMs,
      () => this.log().slice(-3000),
    );
  }
}

export interface PrimaryOptions {
  token?: string;
  /** Extra YAML under the db (e.g. replicas). */
  dbExtra?: string;
}

export async function primaryNode(dir: string, opts: PrimaryOptions = {}): Promise<Node> {
  const port = await freePort();
  const db = join(dir, 'primary.db');
  // The app's db exists (WAL mode) before the runtime starts: `replicate` never creates one.
  const app = new Database(db);
  app.pragma('journal_mode = wal');
  app.close();
  const config = join(dir, 'primary.yml');
  writeFileSync(
    config,
    [
      `addr: "127.0.0.1:${port}"`,
      ...(opts.token ? [`auth-token: ${opts.token}`] : []),
      'dbs:',
      `  - path: ${db}`,
      '    monitor-interval: 20ms',
      // Small thresholds: the WAL restarts (new WAL index) many times during a test.
      '    min-checkpoint-page-count: 200',
      '    max-checkpoint-page-count: 800',
      '    checkpoint-interval: 2s',
      ...(opts.dbExtra ? [opts.dbExtra] : []),
    ].join('\n'),
  );
  return new Node('primary', dir, db, config, port);
}

export async function replicaNode(
  dir: string,
  name: string,
  primary: Node,
  opts: { token?: string; extra?: string } = {},
): Promise<Node> {
  const port = await freePort();
  const db = join(dir, `${name}.db`);
  const config = join(dir, `${name}.yml`);
  writeFileSync(
    config,
    [
      `addr: "127.0.0.1:${port}"`,
      'dbs:',
      `  - path: ${db}`,
      '    upstream:',
      `      url: http://127.0.0.1:${primary.port}`,
      `      path: ${primary.db}`,
      ...(opts.token ? [`      token: ${opts.token}`] : []),
      ...(opts.extra ? [opts.extra] : []),
    ].join('\n'),
  );
  return new Node(name, dir, db, config, port);
}

/** The bank workload against the primary db, as a separate process. */
export function startBank(dir: string, db: string, args: string[]): ChildProcess {
  return spawnServer('node', [BANK, db, ...args], join(dir, 'bank.log'));
}

export function lastSeq(path: string): number {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT coalesce(max(seq), 0) AS m FROM moves').get() as { m: number }).m;
  } finally {
    db.close();
  }
}

/**
 * Reads a replica the way an application would (read-only connection) and checks, in one read
 * transaction, that the balances sum to the constant and that `moves` holds exactly 1..max(seq),
 * and that seq never goes backwards between reads. Every 40th read also runs PRAGMA quick_check.
 */
export class InvariantReader {
  checks = 0;
  quickChecks = 0;
  violations: string[] = [];
  private db?: Database.Database;
  private lastSeq = 0;
  private stopped = false;
  private done?: Promise<void>;

  constructor(readonly path: string) {}

  start(): void {
    this.db = new Database(this.path, { readonly: true, fileMustExist: true });
    this.done = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
    this.db?.close();
  }

  private async loop(): Promise<void> {
    const db = this.db!;
    const sum = db.prepare('SELECT sum(bal) AS s, count(*) AS n FROM acct');
    const moves = db.prepare('SELECT count(*) AS n, coalesce(max(seq), 0) AS m FROM moves');
    while (!this.stopped) {
      try {
        db.exec('BEGIN');
        const s = sum.get() as { s: number; n: number };
        const m = moves.get() as { n: number; m: number };
        const quick = this.checks % 40 === 0 ? String(db.pragma('quick_check', { simple: true })) : 'ok';
        db.exec('COMMIT');
        if (this.checks % 40 === 0) this.quickChecks++;
        if (s.s !== ACCOUNTS * 100 || s.n !== ACCOUNTS)
          this.violations.push(`sum ${s.s} over ${s.n} accounts`);
        if (m.n !== m.m) this.violations.push(`moves: ${m.n} rows but max seq ${m.m}`);
        if (m.m < this.lastSeq) this.violations.push(`seq went back from ${this.lastSeq} to ${m.m}`);
        if (quick !== 'ok') this.violations.push(`quick_check: ${quick}`);
        this.lastSeq = m.m;
      } catch (err) {
        if (db.inTransaction) db.exec('ROLLBACK');
        this.violations.push(`read failed: ${(err as Error).message}`);
      }
      this.checks++;
      if (this.violations.length > 20) return;
      // A short pause: thousands of checks, without taking a whole core from the processes.
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}
