/**
 * 5. Memory: peak RSS (VmHWM from /proc/PID/status) of `ls-mix replicate` while it snapshots
 * and replicates a large db, and of `ls-mix restore` of it, at two db sizes: flat means the
 * peak does not grow with the db.
 */
import { join } from 'node:path';
import { log, MiB, QUICK, removeDir, tempDir, writeConfig } from '../lib/env.js';
import { lsMix, sleep, waitUntil } from '../lib/proc.js';
import { isSnapshot, listFiles } from '../lib/replica.js';
import { load, restoreOnce } from './bulk.js';

export interface MemoryRow {
  dbMiB: number;
  replicatePeakMiB: number;
  restorePeakMiB: number;
  restoreSeconds: number;
}

async function atSize(bytes: number): Promise<MemoryRow> {
  const dir = tempDir('memory');
  try {
    const db = join(dir, 'app.db');
    const replica = join(dir, 'replica');
    await load({ db, bytes, txBytes: 64 * MiB });
    const rep = lsMix([
      'replicate',
      '-config',
      writeConfig(dir, db, [`url: file://${replica}\nsync-interval: 1s`]),
    ]);
    try {
      const snaps = () => listFiles(replica).filter((f) => isSnapshot(f.key) && f.size > 0).length;
      await waitUntil('initial snapshot', () => snaps() > 0, 900_000);
      // Replicate some writes, then snapshot again (SIGUSR1) with them in the WAL.
      await load({ db, bytes: 32 * MiB, txBytes: 1 * MiB, pauseMs: 5 });
      const before = snaps();
      rep.child.kill('SIGUSR1');
      await waitUntil('second snapshot', () => snaps() > before, 900_000);
      await sleep(1500);
    } finally {
      const code = await rep.stop();
      if (code !== 0) log(`WARNING: replicate exited ${code}: ${rep.stderr.slice(-1000)}`);
    }
    const r = await restoreOnce(`file://${replica}`, join(dir, 'restored.db'), 8);
    const row = {
      dbMiB: bytes / MiB,
      replicatePeakMiB: rep.peakMiB,
      restorePeakMiB: r.peakMiB,
      restoreSeconds: r.seconds,
    };
    log(
      `memory ${row.dbMiB} MiB db: replicate peak ${row.replicatePeakMiB.toFixed(0)} MiB, restore peak ${row.restorePeakMiB.toFixed(0)} MiB`,
    );
    return row;
  } finally {
    removeDir(dir);
  }
}

export async function benchMemory(): Promise<MemoryRow[]> {
  const sizes = QUICK ? [32 * MiB, 192 * MiB] : [256 * MiB, 2048 * MiB];
  const rows: MemoryRow[] = [];
  for (const s of sizes) rows.push(await atSize(s));
  return rows;
}
