/**
 * The catalog of mixes: `templates/mixes/<name>/mix.yml`. Resolves the names a user typed
 * into mix definitions, suggests the nearest names for typos and checks that the mixes fit
 * the detected app.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { distance } from 'fastest-levenshtein';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { UserError } from '../../runtime/errors.js';
import { MIXES_DIR } from './package-root.js';
import { type Fact, type MixDefinition, VARIANTS, type Variant } from './types.js';

const MixYaml = z
  .object({
    name: z.string().regex(/^[a-z0-9-]+$/),
    summary: z.string().min(1),
    storage: z.enum(['aws', 'azure', 'sftp']),
    variants: z.array(z.enum(VARIANTS as [Variant, ...Variant[]])).min(1),
    tags: z.array(z.string()).default([]),
  })
  .strict();

let cache: MixDefinition[] | undefined;

export async function loadCatalog(mixesDir = MIXES_DIR): Promise<MixDefinition[]> {
  if (cache && mixesDir === MIXES_DIR) return cache;
  const out: MixDefinition[] = [];
  for (const entry of (await readdir(mixesDir, { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    if (!entry.isDirectory() || entry.name.startsWith('_')) continue;
    const file = path.join(mixesDir, entry.name, 'mix.yml');
    const parsed = MixYaml.safeParse(parseYaml(await readFile(file, 'utf8')));
    if (!parsed.success) throw new Error(`${file}: ${parsed.error.message}`);
    if (parsed.data.name !== entry.name) throw new Error(`${file}: name must be '${entry.name}'`);
    out.push({ ...parsed.data, dir: path.join(mixesDir, entry.name) });
  }
  if (mixesDir === MIXES_DIR) cache = out;
  return out;
}

export function suggest(name: string, known: string[], max = 3): string[] {
  return known
    .map((k) => ({ k, d: distance(name, k) }))
    .filter(({ d }) => d <= Math.max(3, Math.floor(name.length / 3)))
    .sort((a, b) => a.d - b.d || a.k.localeCompare(b.k))
    .slice(0, max)
    .map(({ k }) => k);
}

export async function findMixes(names: string[]): Promise<MixDefinition[]> {
  if (names.length === 0)
    throw new UserError('Name a mix to add', { hint: 'Run `ls-mix list` to see them.' });
  const catalog = await loadCatalog();
  const byName = new Map(catalog.map((m) => [m.name, m]));
  const unique = [...new Set(names)];
  for (const name of unique) {
    if (!byName.has(name)) {
      const near = suggest(name, [...byName.keys()]);
      throw new UserError(`Unknown mix '${name}'`, {
        hint: near.length
          ? `Did you mean ${near.join(', ')}? Run \`ls-mix list\` to see every mix.`
          : 'Run `ls-mix list` to see every mix.',
      });
    }
  }
  const mixes = unique.map((n) => byName.get(n)!);
  const storages = mixes.filter((m, i, all) => all.findIndex((x) => x.storage === m.storage) === i);
  if (storages.length > 1) {
    throw new UserError(`${mixes.map((m) => m.name).join(' and ')} each set up a different backup storage`, {
      hint: 'Add one storage mix at a time (a new one replaces the old one).',
    });
  }
  return mixes;
}

/** The general `litestream-*` mixes adapt to any app; the blazor/jamstack ones only to theirs. */
const GENERAL_PREFIX = 'litestream-';

/**
 * Checks each mix against the detected variant. Returns notes for the general mixes used
 * on an app with a dedicated mix; throws, naming the mix that fits, for a mismatch.
 */
export async function checkFit(mixes: MixDefinition[], variant: Fact<Variant>): Promise<string[]> {
  const catalog = await loadCatalog();
  const notes: string[] = [];
  for (const mix of mixes) {
    if (mix.variants.includes(variant.value)) continue;
    const fits = catalog.find((m) => m.storage === mix.storage && m.variants.includes(variant.value));
    if (mix.name.startsWith(GENERAL_PREFIX)) {
      notes.push(
        `Detected a ${variant.value} app: ${mix.name} uses the ${variant.value} files` +
          (fits ? ` (the same as ${fits.name}, the mix made for it).` : '.'),
      );
      continue;
    }
    throw new UserError(
      `${mix.name} is made for ${mix.variants.join(' / ')} apps, but this is a ${variant.value} app (${describe(variant)})`,
      {
        hint: fits
          ? `Use \`ls-mix add ${fits.name}\` instead, or pass --variant if the detection is wrong.`
          : 'Pass --variant if the detection is wrong.',
      },
    );
  }
  return notes;
}

function describe(f: Fact<Variant>): string {
  return f.source === 'flag' ? `from ${f.from}` : `detected from ${f.from}`;
}
