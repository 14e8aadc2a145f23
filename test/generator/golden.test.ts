/**
 * Golden files: every mix applied to every fixture app it is made for must produce exactly
 * test/golden/<mix>/<variant>/**. Regenerate with `UPDATE_GOLDEN=1 npx vitest run test/generator`
 * (npm run test:update) and review the diff.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyPlan, planMixes } from '../../src/generator/index.js';
import { cleanupTemps, copyFixture, GOLDEN_DIR, GOLDEN_TARBALL, matrix, readTree } from './helpers.js';

const UPDATE = process.env.UPDATE_GOLDEN === '1';
const cases = await matrix();

afterAll(cleanupTemps);

describe('golden files', () => {
  it('covers every mix with at least one fixture app', () => {
    expect(new Set(cases.map((c) => c.mix)).size).toBe(9);
    expect(cases.length).toBe(15);
  });

  it.each(cases)('$mix on the $variant fixture ($fixture)', async ({ mix, variant, fixture }) => {
    const dir = await copyFixture(fixture);
    const before = await readTree(dir);
    // A fixed stand-in for the vendored ls-mix tarball: the real one changes with every build.
    const plan = await planMixes({ dir, mixes: [mix], sidecarTarball: GOLDEN_TARBALL });
    expect(plan.files.every((f) => f.status === 'create')).toBe(true);
    await applyPlan(plan);
    const after = await readTree(dir);
    // The tarball is bytes (readTree leaves it out): checked here rather than kept as a golden file.
    const tarball = path.join(dir, `.deploy/ls-mix-${plan.generatorVersion}.tgz`);
    expect((await readFile(tarball)).equals(await readFile(GOLDEN_TARBALL))).toBe(true);
    const generated = new Map([...after].filter(([p, text]) => before.get(p) !== text));
    // The fixture's own files are untouched.
    for (const [p, text] of before) expect(after.get(p)).toBe(text);

    const goldenDir = path.join(GOLDEN_DIR, mix, variant);
    if (UPDATE) {
      await rm(goldenDir, { recursive: true, force: true });
      for (const [p, text] of generated) {
        await mkdir(path.dirname(path.join(goldenDir, p)), { recursive: true });
        await writeFile(path.join(goldenDir, p), text);
      }
    }
    const golden = await readTree(goldenDir).catch(() => new Map<string, string>());
    expect([...generated.keys()].sort(), `files written (UPDATE_GOLDEN=1 regenerates ${goldenDir})`).toEqual(
      [...golden.keys()].sort(),
    );
    for (const [p, text] of generated) expect(text, `${mix}/${variant}/${p}`).toBe(golden.get(p));
  });
});
