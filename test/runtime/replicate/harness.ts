/** A replicated database in a temp folder, for the replicate tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { configFromArgs } from '../../../runtime/config/index.js';
import type { Config } from '../../../runtime/config/types.js';
import { createLogger, silentLogger } from '../../../runtime/log.js';
import { Replication } from '../../../runtime/replicate/index.js';
import { openApp } from '../../helpers/sqlite.js';

export interface Harness {
  dir: string;
  dbPath: string;
  replicaDirs: string[];
  config: Config;
  app: Database.Database;
  start(): Promise<Replication>;
  cleanup(): void;
}

export function harness(
  opts: {
    pageSize?: number;
    replicas?: number;
    min?: number;
    max?: number;
    sync?: number[];
    appAutocheckpoint?: number;
  } = {},
): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'repl-'));
  const dbPath = join(dir, 'app.db');
  const replicaDirs = Array.from({ length: opts.replicas ?? 1 }, (_, i) => join(dir, `replica${i}`));
  const config = configFromArgs(
    dbPath,
    replicaDirs.map((d) => `file://${d}`),
  );
  const db = config.dbs[0];
  db.monitorInterval = 50;
  db.minCheckpointPageCount = opts.min ?? 40;
  db.maxCheckpointPageCount = opts.max ?? 160;
  db.replicas.forEach((r, i) => {
    r.syncInterval = opts.sync?.[i] ?? 100;
  });
  const app = openApp(dbPath, { pageSize: opts.pageSize, autocheckpoint: opts.appAutocheckpoint ?? 0 });
  const running: Replication[] = [];
  const logger = process.env.LS_MIX_TEST_LOG ? createLogger({ level: 'debug' }) : silentLogger();
  return {
    dir,
    dbPath,
    replicaDirs,
    config,
    app,
    async start() {
      const r = await Replication.start(config, { logger });
      running.push(r);
      return r;
    },
    cleanup() {
      try {
        app.close();
      } catch {
        // already closed
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
