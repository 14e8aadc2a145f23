/**
 * SQLite's WAL checkpoint lock, taken by the runtime between its own checkpoints.
 *
 * An app on SQLite's default `wal_autocheckpoint` tries a checkpoint after every commit once its
 * WAL holds 1000 frames; with the runtime's read mark in place that is every commit between two
 * WAL restarts, and each try takes the checkpoint lock, walks the read marks (a lock call each)
 * and gives up — ~4 µs a commit, 12–15% of a flat-out 1-row writer. With the checkpoint lock
 * held by another process, SQLite returns SQLITE_BUSY from the first lock call of the try.
 *
 * The lock is a POSIX fcntl write lock on one byte of the `-shm` file (sqlite/src/wal.c:
 * WALINDEX_LOCK_OFFSET 120 + WAL_CKPT_LOCK 1). Node has no fcntl, so the call goes through the
 * FFI library koffi (an optional dependency with prebuilt binaries); without it, or off Linux,
 * nothing is taken and the app's tries stay as they were.
 *
 * POSIX locks belong to the process, not to the descriptor: the runtime's own SQLite
 * connections still checkpoint (same process), and SQLite's unlock after such a checkpoint drops
 * this hold — so it is taken again after each monitor pass. For the same reason it is never
 * released explicitly (an unlock could drop a lock an in-process SQLite connection holds): it
 * ends when the descriptor closes, which the caller does only after closing its connections.
 */
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Byte of the -shm file SQLite's unix VFS locks for WAL_CKPT_LOCK. */
export const CHECKPOINT_LOCK_BYTE = 121;

export type TakeResult = 'held' | 'busy' | 'failed';

export interface CheckpointLocker {
  /** Try once, without waiting: 'busy' when another process holds the lock (a checkpoint runs). */
  take(shmFd: number): TakeResult;
}

// Linux on 64-bit targets (glibc and musl agree): struct flock is
// { short l_type; short l_whence; off_t l_start; off_t l_len; pid_t l_pid; } = 32 bytes.
const F_SETLK = 6;
const F_WRLCK = 1;
const SEEK_SET = 0;
const EAGAIN = 11;
const EACCES = 13;
const SUPPORTED_ARCHS = new Set(['x64', 'arm64']);

let cached: CheckpointLocker | string | undefined;

/**
 * The locker, or why there is none (not Linux x64/arm64, koffi not installed or not loadable).
 * Loads koffi (~3 MiB resident) on the first call only.
 */
export function checkpointLocker(): CheckpointLocker | string {
  if (cached === undefined) cached = load();
  return cached;
}

function load(): CheckpointLocker | string {
  if (process.platform !== 'linux' || !SUPPORTED_ARCHS.has(process.arch)) {
    return `not supported on ${process.platform}/${process.arch}`;
  }
  let koffi: typeof import('koffi');
  try {
    koffi = createRequire(import.meta.url)('koffi');
  } catch (err) {
    return `koffi is not available (${(err as Error).message.split('\n')[0]})`;
  }
  let fcntl: ReturnType<ReturnType<typeof koffi.load>['func']>;
  try {
    // The process's own symbols: libc's fcntl, whichever libc this Node runs on.
    fcntl = koffi.load(null).func('int fcntl(int fd, int cmd, ...)');
  } catch (err) {
    return `cannot bind fcntl (${(err as Error).message})`;
  }
  const flock = Buffer.alloc(32);
  flock.writeInt16LE(F_WRLCK, 0);
  flock.writeInt16LE(SEEK_SET, 2);
  flock.writeBigInt64LE(BigInt(CHECKPOINT_LOCK_BYTE), 8);
  flock.writeBigInt64LE(1n, 16);
  const locker: CheckpointLocker = {
    take(shmFd) {
      if (fcntl(shmFd, F_SETLK, 'void *', flock) === 0) return 'held';
      const errno = koffi.errno();
      return errno === EAGAIN || errno === EACCES ? 'busy' : 'failed';
    },
  };
  const wrong = selfCheck(locker);
  return wrong ? `the lock call does not lock what it should here (${wrong})` : locker;
}

/**
 * Lock a scratch file the same way and read back from /proc/locks what the kernel recorded: one
 * write lock of this process on exactly that byte. A struct layout that does not match this
 * platform's would lock some other range — on the -shm, possibly SQLite's own lock bytes. Closing
 * the scratch file releases it (it is no SQLite file: nothing else of ours is dropped).
 */
function selfCheck(locker: CheckpointLocker): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'ls-mix-lock-'));
  const file = join(dir, 'check');
  try {
    writeFileSync(file, Buffer.alloc(CHECKPOINT_LOCK_BYTE + 1));
    const fd = openSync(file, 'r+');
    try {
      const r = locker.take(fd);
      if (r !== 'held') return `fcntl: ${r}`;
      const ino = fstatSync(fd).ino;
      const ours = readFileSync('/proc/locks', 'utf8')
        .split('\n')
        .map((l) => l.trim().split(/\s+/))
        .filter((f) => f[4] === String(process.pid) && f[5]?.endsWith(`:${ino}`));
      const want = ['POSIX', 'ADVISORY', 'WRITE', String(CHECKPOINT_LOCK_BYTE), String(CHECKPOINT_LOCK_BYTE)];
      const got = ours.map((f) => [f[1], f[2], f[3], f[6], f[7]].join(' '));
      return got.length === 1 && got[0] === want.join(' ')
        ? undefined
        : `recorded: ${got.join('; ') || 'none'}`;
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    return (err as Error).message;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
