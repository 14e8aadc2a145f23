/**
 * Apply: settle conflicts (--force / --skip or per-file answers), then write the files and
 * the manifest. Every target is checked before the first write, so a refusal leaves the
 * project untouched.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../runtime/errors.js';
import { readIfExists } from './fs-util.js';
import { emptyManifest, MANIFEST_FILE, readManifest, serializeManifest, sha256 } from './manifest.js';
import { safeTarget } from './paths.js';
import type { ApplyOptions, ApplyResult, Plan, PlannedFile } from './types.js';

/** The statuses after --force / --skip: conflicts and kept create-only files become force or skip. */
export function resolvePlan(plan: Plan, opts: ApplyOptions): PlannedFile[] {
  if (opts.force && opts.skip) {
    throw new UserError('--force and --skip contradict each other', { hint: 'Pass one of them.' });
  }
  return plan.files.map((f) => {
    if (f.status === 'conflict' && opts.force) return { ...f, status: 'force' };
    if (f.status === 'conflict' && opts.skip) return { ...f, status: 'skip', reason: 'kept yours (--skip)' };
    if (f.status === 'skip' && f.createOnly && opts.force) return { ...f, status: 'force' };
    return f;
  });
}

const WRITES = new Set(['create', 'update', 'force']);

export async function applyPlan(plan: Plan, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const files = resolvePlan(plan, opts);
  const conflicts = files.filter((f) => f.status === 'conflict');
  if (conflicts.length > 0) {
    throw new UserError(
      `${conflicts.length === 1 ? 'This file exists and differs' : 'These files exist and differ'} from what ${plan.mixes.join(', ')} writes: ${conflicts.map((f) => f.path).join(', ')}`,
      {
        hint: 'Nothing was written. Add --force to overwrite them, --skip to keep yours, --diff to see the differences, or run in a terminal to decide per file.',
      },
    );
  }
  const result: ApplyResult = {
    dryRun: Boolean(opts.dryRun),
    files: files.map((f) => ({ path: f.path, status: f.status, reason: f.reason })),
    written: [],
    manifest: MANIFEST_FILE,
  };
  const targets = new Map<string, string>();
  for (const f of files) targets.set(f.path, await safeTarget(plan.dir, f.path));
  const manifestTarget = await safeTarget(plan.dir, MANIFEST_FILE);
  if (opts.dryRun) return result;

  for (const f of files.filter((x) => WRITES.has(x.status))) {
    await writeAtomic(targets.get(f.path)!, f.content);
    result.written.push(f.path);
  }
  const manifest = (await readManifest(plan.dir)) ?? emptyManifest(`ls-mix@${plan.generatorVersion}`);
  manifest.generator = `ls-mix@${plan.generatorVersion}`;
  for (const f of files) {
    if (f.status === 'skip' || f.status === 'conflict') continue;
    manifest.files[f.path] = {
      sha256: sha256(f.content),
      mix: plan.mixes[0],
      ...(f.merged ? { merged: true } : {}),
    };
  }
  // A replaced mix stays listed only while it still owns a file this plan did not write.
  manifest.mixes = [...new Set([...plan.mixes, ...Object.values(manifest.files).map((r) => r.mix)])];
  const text = serializeManifest(manifest);
  if ((await readIfExists(manifestTarget)) !== text) {
    await writeAtomic(manifestTarget, text);
    result.written.push(MANIFEST_FILE);
  }
  return result;
}

async function writeAtomic(file: string, content: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.ls-mix-${process.pid}.tmp`;
  await writeFile(tmp, content);
  await rename(tmp, file);
}
