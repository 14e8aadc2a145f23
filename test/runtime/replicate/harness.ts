/** A replicated database in a temp folder, for the replicate tests. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { expect } from 'vitest';
import { configFromArgs } from '../../../runtime/config/index.js';
import type { Config } from '../../../runtime/config/types.js';
import { createLogger, silentLogger } from '../../../runtime/log.js';
import { Replication } from '../../../runtime/replicate/index.js';
import { listObjects, lz4Cli, parseSegmentKey, SEGMENT_RE, SNAPSHOT_RE } from '../../helpers/replica.js';
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

/** Every object is a standard LZ4 frame; WAL segments are byte-contiguous per index. */
export function checkObjects(replicaDir: string): { generations: Set<string>; indexes: Set<number> } {
  const keys = listObjects(replicaDir);
  const generations = new Set<string>();
  const indexes = new Set<number>();
  const ends = new Map<string, number>();
  for (const key of keys) {
    expect(SNAPSHOT_RE.test(key) || SEGMENT_RE.test(key), key).toBe(true);
    const data = lz4Cli(join(replicaDir, key));
    const seg = parseSegmentKey(key);
    generations.add(key.split('/')[1]);
    if (!seg) {
      expect(data.subarray(0, 16).toString('latin1')).toBe('SQLite format 3\0');
      continue;
    }
    indexes.add(seg.index);
    const id = `${seg.generation}/${seg.index}`;
    if (!ends.has(id)) expect(seg.offset, `${key}: an index starts at offset 0`).toBe(0);
    if (seg.offset === 0) {
      // The offset-0 segment starts with the WAL header (magic 0x377f0682/3).
      expect(data.readUInt32BE(0) & 0xfffffffe).toBe(0x377f0682);
    } else {
      expect(ends.get(id), `segment ${key} follows the previous one`).toBe(seg.offset);
    }
    ends.set(id, seg.offset + data.length);
  }
  return { generations, indexes };
}

/** The generation the runtime's local state names. */
export function localGeneration(dbPath: string): string {
  const dir = join(dbPath, '..', `.${dbPath.split('/').pop()}-litestream`);
  return readFileSync(join(dir, 'generation'), 'utf8').trim();
}
