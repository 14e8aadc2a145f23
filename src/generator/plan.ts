/**
 * Plan: render the mixes in memory and compare each file with what is on disk, giving it a
 * status (create / identical / update / conflict / skip). Nothing is written here.
 */
import { stat } from 'node:fs/promises';
import { UserError } from '../../runtime/errors.js';
import { checkFit, findMixes } from './catalog.js';
import { detectProject } from './detect.js';
import { readIfExists } from './fs-util.js';
import { type Manifest, readManifest, sha256 } from './manifest.js';
import { mergeCompose } from './merge.js';
import { GENERATOR_VERSION } from './package-root.js';
import { safeTarget } from './paths.js';
import { renderMix } from './render.js';
import { relevantFacts } from './report.js';
import { secretsFor } from './storage.js';
import type { Fact, Overrides, Plan, PlannedFile } from './types.js';

export interface PlanOptions {
  dir: string;
  mixes: string[];
  overrides?: Overrides;
}

export async function planMixes(opts: PlanOptions): Promise<Plan> {
  const mixes = await findMixes(opts.mixes);
  const facts = await detectProject(opts.dir, opts.overrides);
  const notes = await checkFit(mixes, facts.variant);
  notes.push(...(facts.detectNotes ?? []));
  for (const [label, key] of relevantFacts(facts)) {
    const fact = facts[key] as Fact<unknown>;
    if (fact.source === 'default') {
      notes.push(`${label} not found: using ${fact.value} (${fact.from}); --${flagOf(key)} sets it.`);
    }
  }
  const manifest = await readManifest(facts.dir);
  const storage = mixes[0].storage;
  const replaces = (manifest?.mixes ?? []).filter((m) => !mixes.some((x) => x.name === m));
  if (replaces.length) notes.push(`Replaces ${replaces.join(', ')} (one backup storage per app).`);

  const files: PlannedFile[] = [];
  for (const mix of mixes) {
    for (const r of await renderMix(mix, facts, storage, GENERATOR_VERSION)) {
      const { file, note } = await compare(facts.dir, r, manifest);
      files.push(file);
      if (note) notes.push(note);
    }
  }
  return {
    dir: facts.dir,
    mixes: mixes.map((m) => m.name),
    replaces,
    storage,
    facts,
    files,
    secrets: secretsFor(storage),
    notes,
    generatorVersion: GENERATOR_VERSION,
  };
}

function flagOf(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

type Rendered = { path: string; content: string; createOnly?: boolean; merge?: 'compose' };

async function compare(
  dir: string,
  r: Rendered,
  manifest: Manifest | undefined,
): Promise<{ file: PlannedFile; note?: string }> {
  const full = await safeTarget(dir, r.path);
  const st = await stat(full).catch(() => undefined);
  if (st && !st.isFile()) {
    throw new UserError(`${full} exists and is not a file`, { hint: 'Move it away, then run again.' });
  }
  const base = { path: r.path, content: r.content, createOnly: r.createOnly };
  const existing = st ? await readIfExists(full) : undefined;
  if (existing === undefined) return { file: { ...base, status: 'create' } };
  if (existing === r.content) return { file: { ...base, existing, status: 'identical' } };
  const recorded = manifest?.files[r.path];
  if (recorded && !recorded.merged && recorded.sha256 === sha256(existing)) {
    return {
      file: { ...base, existing, status: 'update', reason: 'written by ls-mix and not changed since' },
    };
  }
  if (r.merge === 'compose') return mergeInto(base, existing, full);
  if (r.createOnly) {
    return {
      file: { ...base, existing, status: 'skip', reason: 'exists: kept as is (--force replaces it)' },
    };
  }
  const reason = 'exists and differs: changed by you, or not written by ls-mix';
  return { file: { ...base, existing, status: 'conflict', reason } };
}

/** A compose file of the user's: ours is merged in (add only), never a conflict. */
function mergeInto(
  base: Pick<PlannedFile, 'path' | 'content' | 'createOnly'>,
  existing: string,
  full: string,
): { file: PlannedFile; note?: string } {
  const merged = mergeCompose(existing, base.content, full);
  const note = merged.kept.includes('services.app')
    ? `${base.path}: your own 'app' service is kept as is: give it the db volume mount and ` +
      '`depends_on: { litestream: { condition: service_healthy } }` (the generated app service shows both).'
    : undefined;
  if (merged.added.length === 0) {
    const reason = 'has every service and volume already';
    return {
      file: { ...base, content: existing, existing, status: 'identical', merged: true, reason },
      note,
    };
  }
  const reason = `adds ${merged.added.join(', ')}; keeps yours`;
  return {
    file: { ...base, content: merged.content, existing, status: 'update', merged: true, reason },
    note,
  };
}
