/**
 * The runtime's local state beside each database, as Litestream v0.3.13 lays it out:
 *
 *   .<dbfile>-litestream/generation                        current generation id
 *   .<dbfile>-litestream/generations/<gen>/wal/<idx>.wal   shadow WAL, one file per WAL index
 *
 * plus two files of our own: `lock` (PID and start time of the process replicating this db) and
 * `clean-shutdown.json` (lets a restart continue the generation after SQLite deleted the WAL
 * when our connection was the last to close).
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync as writeFileSyncFs,
  writeSync,
} from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../errors.js';
import { formatHex8, isGenerationId } from '../format/layout.js';
import { holderAlive, type LockRecord, ownRecord, parseLockRecord } from './lock-holder.js';

export function defaultMetaPath(dbPath: string): string {
  return join(dirname(dbPath), `.${basename(dbPath)}-litestream`);
}

const SHADOW_RE = /^([0-9a-f]{8})\.wal$/;

export class LocalState {
  constructor(readonly dir: string) {}

  get generationFile(): string {
    return join(this.dir, 'generation');
  }

  walDir(generation: string): string {
    return join(this.dir, 'generations', generation, 'wal');
  }

  shadowPath(generation: string, index: number): string {
    return join(this.walDir(generation), `${formatHex8(index)}.wal`);
  }

  readGeneration(): string | undefined {
    try {
      const g = readFileSync(this.generationFile, 'utf8').trim();
      return isGenerationId(g) ? g : undefined;
    } catch {
      return undefined;
    }
  }

  /** Atomic replace (temp + fsync + rename): a crash leaves the old or the new id, never half. */
  writeGeneration(generation: string): void {
    atomicWriteSync(this.generationFile, `${generation}\n`);
  }

  /** Shadow WAL indexes present for a generation, ascending. */
  shadowIndexes(generation: string): number[] {
    let names: string[];
    try {
      names = readdirSync(this.walDir(generation));
    } catch {
      return [];
    }
    return names
      .map((n) => SHADOW_RE.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number.parseInt(m[1], 16))
      .sort((a, b) => a - b);
  }

  /**
   * Remove every generation folder except `keep` — a function is asked again for each folder,
   * so a generation started while this runs (two in a row) is never the one removed.
   */
  async removeOtherGenerations(keep: string | (() => string | undefined)): Promise<void> {
    let names: string[];
    try {
      names = await readdir(join(this.dir, 'generations'));
    } catch {
      return;
    }
    for (const n of names) {
      const current = typeof keep === 'function' ? keep() : keep;
      if (n !== current) await rm(join(this.dir, 'generations', n), { recursive: true, force: true });
    }
  }

  async removeShadow(generation: string, index: number): Promise<void> {
    await unlink(this.shadowPath(generation, index)).catch(() => undefined);
  }

  /**
   * Take the per-db lock: one process replicates a db at a time (two would fight over the shadow
   * WAL). The lock names its holder by PID and start time (lock-holder.ts): a lock left by a
   * dead process, or whose PID now belongs to another process, is stale and taken over. The
   * lock is created with O_EXCL, and a stale one is replaced through a rename, so two processes
   * taking over the same stale lock cannot both win.
   */
  async acquireLock(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const file = join(this.dir, 'lock');
    const mine = `${JSON.stringify(ownRecord())}\n`;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await writeFile(file, mine, { flag: 'wx' });
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const text = await readFile(file, 'utf8').catch(() => undefined);
      if (text === undefined) continue; // removed meanwhile: try again
      const holder = parseLockRecord(text);
      if (holder && holder.pid !== process.pid && holderAlive(holder)) {
        throw new UserError(
          `another ls-mix process (pid ${holder.pid}) is already replicating this database`,
          {
            hint: `Stop it first, or run ls-mix snapshot to make it take a snapshot now.`,
            exitCode: 1,
          },
        );
      }
      // Stale: move it aside under a unique name. Only one taker's rename finds it; the others
      // get ENOENT and go round again (and then meet the winner's fresh lock).
      const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
      try {
        await rename(file, aside);
      } catch {
        continue;
      }
      const moved = await readFile(aside, 'utf8').catch(() => '');
      await unlink(aside).catch(() => undefined);
      if (moved !== text) {
        // Someone replaced the stale lock with a live one between our read and rename: put it back.
        await writeFile(file, moved, { flag: 'wx' }).catch(() => undefined);
      }
    }
    throw new UserError(`cannot take the lock file ${file}`, {
      hint: 'Another process keeps replacing it: is a second replicate starting in a loop?',
    });
  }

  /** The live process holding the lock (verified by PID and start time), if any. */
  async lockHolder(): Promise<LockRecord | undefined> {
    const text = await readFile(join(this.dir, 'lock'), 'utf8').catch(() => undefined);
    const r = text === undefined ? undefined : parseLockRecord(text);
    return r && holderAlive(r) ? r : undefined;
  }

  async releaseLock(): Promise<void> {
    const file = join(this.dir, 'lock');
    const r = parseLockRecord(await readFile(file, 'utf8').catch(() => ''));
    if (r?.pid === process.pid) await unlink(file).catch(() => undefined);
  }

  /** Where a WAL ended before the runtime's own restart of it (see MonitoredDb.rememberEnd). */
  writeKnownEnd(k: { generation: string; index: number; rawHeader: Buffer; end: number }): void {
    // No fsync: this protects against the process being killed, not the machine losing power.
    const file = join(this.dir, 'known-end.json');
    const tmp = `${file}.tmp`;
    writeFileSyncFs(tmp, JSON.stringify({ ...k, rawHeader: k.rawHeader.toString('hex') }));
    renameSync(tmp, file);
  }

  readKnownEnd(): { generation: string; index: number; rawHeader: Buffer; end: number } | undefined {
    try {
      const k = JSON.parse(readFileSync(join(this.dir, 'known-end.json'), 'utf8'));
      return { ...k, rawHeader: Buffer.from(k.rawHeader, 'hex') };
    } catch {
      return undefined;
    }
  }

  async writeCleanShutdown(marker: CleanShutdown): Promise<void> {
    await atomicWrite(join(this.dir, 'clean-shutdown.json'), JSON.stringify(marker));
  }

  /** Read and remove the marker: it vouches for one restart only. */
  takeCleanShutdownSync(): CleanShutdown | undefined {
    const file = join(this.dir, 'clean-shutdown.json');
    try {
      const m = JSON.parse(readFileSync(file, 'utf8')) as CleanShutdown;
      unlinkSync(file);
      return m;
    } catch {
      return undefined;
    }
  }

  async takeCleanShutdown(): Promise<CleanShutdown | undefined> {
    const file = join(this.dir, 'clean-shutdown.json');
    try {
      const m = JSON.parse(await readFile(file, 'utf8')) as CleanShutdown;
      await unlink(file);
      return m;
    } catch {
      return undefined;
    }
  }
}

/** What the db looked like when we closed and SQLite removed the WAL after its final checkpoint. */
export interface CleanShutdown {
  generation: string;
  index: number;
  size: number;
  dbSize: number;
  dbMtimeNs: string;
}

export function dbFileStampSync(dbPath: string): { dbSize: number; dbMtimeNs: string } | undefined {
  try {
    const s = statSync(dbPath, { bigint: true });
    return { dbSize: Number(s.size), dbMtimeNs: s.mtimeNs.toString() };
  } catch {
    return undefined;
  }
}

export async function dbFileStamp(
  dbPath: string,
): Promise<{ dbSize: number; dbMtimeNs: string } | undefined> {
  try {
    const s = await stat(dbPath, { bigint: true });
    return { dbSize: Number(s.size), dbMtimeNs: s.mtimeNs.toString() };
  } catch {
    return undefined;
  }
}

async function atomicWrite(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

function atomicWriteSync(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
