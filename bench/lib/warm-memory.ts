/**
 * Free memory the host still backs, for a timed run that writes a lot of page cache.
 *
 * On a VM whose balloon reports free pages to the host (virtio-balloon free page reporting, on
 * by default on the bench's machine), memory free for a few seconds goes back to the host, and
 * the first write into it faults on the host: 1 GiB written into the page cache took 0.2 s right
 * after another 1 GiB file was deleted, 0.9–2.1 s after 3–8 s idle (measured, 2-vCPU VM). That
 * cost lands on whichever timed run touches such memory first — the restore baseline or a
 * restore — and moved the restore rows by seconds between repeats. Writing a scratch file and
 * deleting it right before a timed run leaves it memory the host backs (the kernel hands out
 * unreported free pages first), as on a machine without a balloon. BENCH_COLD_MEMORY=1 skips it.
 */
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const CHUNK = 1 << 20;
let chunk: Buffer | undefined;

export const WARM_MEMORY = process.env.BENCH_COLD_MEMORY !== '1';

/** Write `bytes` of scratch into `dir` and delete it (nothing when BENCH_COLD_MEMORY=1). */
export function warmFreeMemory(dir: string, bytes: number): void {
  if (!WARM_MEMORY || bytes <= 0) return;
  chunk ??= Buffer.alloc(CHUNK, 0x5a);
  const path = join(dir, 'warm-memory.scratch');
  const fd = openSync(path, 'w');
  try {
    for (let at = 0; at < bytes; at += CHUNK) writeSync(fd, chunk, 0, CHUNK, at);
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
}
