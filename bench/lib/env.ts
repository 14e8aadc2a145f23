/** Bench settings: BENCH_QUICK=1 scales everything down to a ~2-minute smoke run. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const QUICK = process.env.BENCH_QUICK === '1';
export const MiB = 1 << 20;

/** A temp folder removed by cleanupAll() (also on Ctrl-C). */
const dirs: string[] = [];
export function tempDir(tag: string): string {
  const d = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), `ls-mix-bench-${tag}-`));
  dirs.push(d);
  return d;
}
export function removeDir(d: string): void {
  rmSync(d, { recursive: true, force: true });
  const i = dirs.indexOf(d);
  if (i >= 0) dirs.splice(i, 1);
}
export function cleanupAll(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A litestream.yml for one db with the given replicas (YAML fragments). */
export function writeConfig(dir: string, db: string, replicas: string[], dbExtra = ''): string {
  const path = join(dir, 'litestream.yml');
  const reps = replicas.map((r) => `      - ${r.trim().split('\n').join('\n        ')}`).join('\n');
  writeFileSync(path, `dbs:\n  - path: ${db}\n${dbExtra}    replicas:\n${reps}\n`);
  return path;
}

export function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}
