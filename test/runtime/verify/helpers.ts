import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The WAL segment files of a file replica's first generation, in order. */
export function segments(replicaDir: string): string[] {
  const gens = readdirSync(join(replicaDir, 'generations'));
  const dir = join(replicaDir, 'generations', gens[0], 'wal');
  return readdirSync(dir)
    .sort()
    .map((f) => join(dir, f));
}
