import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFileReplicaClient } from '../../../runtime/replica/file.js';
import { restoreDatabase } from '../../../runtime/restore.js';
import {
  ageOf,
  FIXTURES,
  integrity,
  manifest,
  prepareCase,
  restoreTarget,
  tableContents,
} from './fixture-helpers.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('restores every Litestream v0.3.13 fixture exactly', () => {
  for (const [name, c] of Object.entries(manifest.cases)) {
    describe(`${name}: ${c.about}`, () => {
      const dir = prepareCase(name);
      dirs.push(dir);
      const age = c.restores.some((r) => r.config) ? ageOf(dir) : undefined;
      const seen = new Set<string>();

      it.each(c.restores.map((r) => [r.args.join(' ') || '(latest)', r] as const))(
        '%s',
        async (_label, r) => {
          const out = join(dir, 'out', `${r.expect.replace(/\W+/g, '_')}.db`);
          const result = await restoreDatabase({
            replicas: [
              { name: 'file', client: createFileReplicaClient({ path: join(dir, 'replica') }), age },
            ],
            outputPath: out,
            parallelism: 3,
            ...restoreTarget(r.args),
          });
          // Nothing beside the output: no temp db, no WAL, no downloaded segments.
          expect(existsSync(`${out}-wal`)).toBe(false);
          expect(readdirSync(join(dir, 'out')).filter((f) => f.startsWith(`${basename(out)}.`))).toEqual([]);
          const expected = tableContents(join(FIXTURES, name, r.expect));
          const actual = tableContents(out);
          expect(expected.rows).toBeGreaterThan(0);
          expect(actual.json).toBe(expected.json);
          // Byte for byte what Litestream's restore wrote (it has SQLite checkpoint the WAL; ls-mix
          // writes the frames at their pages itself).
          expect(readFileSync(out).equals(readFileSync(join(FIXTURES, name, r.expect)))).toBe(true);
          expect(integrity(out)).toBe('ok');
          expect(result.path).toBe(out);
          if (r.args[0] === '-generation') expect(result.generation).toBe(r.args[1]);
          if (r.args[0] === '-index') expect(result.index).toBe(Number.parseInt(r.args[1], 16));
          // Each restore of a case yields a different database: the arguments really matter.
          expect(seen.has(actual.json)).toBe(false);
          seen.add(actual.json);
        },
      );
    });
  }
});
