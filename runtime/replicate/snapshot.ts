import type { DbConfig } from '../config/types.js';
import { type Logger, silentLogger } from '../log.js';
import { Replication } from './index.js';

export interface TakenSnapshot {
  replica: string;
  generation: string;
  index: number;
  size: number;
  createdAt: Date;
}

/**
 * One-shot snapshot of a db on every replica (`ls-mix snapshot`): opens the db like `replicate`
 * does (continuing its generation), ships pending WAL, snapshots, final sync, closes.
 */
export async function takeSnapshot(
  db: DbConfig,
  opts: {
    logger?: Logger;
    onProgress?: (replica: string, bytesDone: number, bytesTotal: number) => void;
  } = {},
): Promise<TakenSnapshot[]> {
  const rep = await Replication.start(
    { logging: { level: 'info', type: 'text', stderr: true }, dbs: [db] },
    {
      logger: opts.logger ?? silentLogger(),
      timers: false,
    },
  );
  const out: TakenSnapshot[] = [];
  try {
    for (const r of rep.dbs[0].replicas) {
      const onProgress = opts.onProgress;
      const info = await r.snapshot(onProgress && ((done, total) => onProgress(r.name, done, total)));
      if (info) out.push({ replica: r.name, ...info });
    }
  } finally {
    await rep.close({ finalSync: true });
  }
  return out;
}
