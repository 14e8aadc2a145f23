/**
 * Who holds a db's lock: a PID alone is not enough (PIDs are recycled, and a stale lock's PID may
 * now belong to an unrelated process). A lock names its process by PID *and* the kernel's start
 * time of that PID (Linux /proc/PID/stat field 22), so a recycled PID is recognised as stale and
 * never signalled.
 */
import { readFileSync } from 'node:fs';

export interface LockRecord {
  pid: number;
  /** Clock ticks after boot at which the process started (Linux); undefined elsewhere. */
  startTime?: string;
  /** What holds it ("replicate"). */
  command: string;
}

/** The start time of a live PID, or undefined when it is not running (or not knowable). */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may hold spaces and parentheses: the fields after it start past the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19]; // field 22 = index 19 after "state" (field 3)
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function ownRecord(command = 'replicate'): LockRecord {
  return { pid: process.pid, startTime: processStartTime(process.pid), command };
}

/** A lock file's text: JSON; the bare PID of older versions is read too (and treated as unverifiable). */
export function parseLockRecord(text: string): LockRecord | undefined {
  const t = text.trim();
  if (/^\d+$/.test(t)) return { pid: Number(t), command: 'unknown' };
  try {
    const r = JSON.parse(t) as Partial<LockRecord>;
    if (typeof r.pid !== 'number' || !Number.isSafeInteger(r.pid) || r.pid <= 0) return undefined;
    return {
      pid: r.pid,
      startTime: typeof r.startTime === 'string' ? r.startTime : undefined,
      command: typeof r.command === 'string' ? r.command : 'unknown',
    };
  } catch {
    return undefined;
  }
}

/**
 * Is the process that wrote `r` still the one running under its PID? With /proc, the start
 * time must match; without it (not Linux), a live PID is taken at its word.
 */
export function holderAlive(r: LockRecord): boolean {
  if (!isAlive(r.pid)) return false;
  const now = processStartTime(r.pid);
  if (r.startTime === undefined) return now === undefined; // an old bare-PID lock on Linux: stale
  return now === undefined ? !existsProc() : now === r.startTime;
}

/**
 * Is `pid` an `ls-mix replicate` process (the one that handles SIGUSR1 by taking a snapshot)?
 * A library user's process holding the lock, or a one-shot `ls-mix snapshot`, would be killed by
 * the signal. Without /proc (not Linux) it cannot be told, and the lock is taken at its word.
 */
export function isReplicateProcess(pid: number): boolean {
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return !existsProc();
  }
  const script = argv.findIndex((a) => /(^|\/)(ls-mix|run\.js|dev\.js)$/.test(a));
  return script >= 0 && argv[script + 1] === 'replicate';
}

function existsProc(): boolean {
  return processStartTime(process.pid) !== undefined;
}
