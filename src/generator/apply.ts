/**
 * Apply: settle conflicts (--force / --skip / --yes or per-file answers), then write the files
 * and the manifest. Every target is checked before the first write, so a refusal leaves the
 * project untouched. A file of the user's is replaced only with --force (or a "yes" typed at
 * the prompt), and then its content is first copied under .ls-mix/backup/ for `remove`.
 */
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../runtime/errors.js';
import { exists, readIfExists } from './fs-util.js';
import {
  BACKUP_DIR,
  emptyManifest,
  MANIFEST_FILE,
  type Manifest,
  type ManifestRecord,
  readManifest,
  serializeManifest,
  sha256,
} from './manifest.js';
import { projectTarget, safeTarget } from './paths.js';
import type { ApplyOptions, ApplyResult, Plan, PlannedFile } from './types.js';

/** The statuses after --force / --skip / --yes: conflicts and kept create-only files become force or skip. */
export function resolvePlan(plan: Plan, opts: ApplyOptions): PlannedFile[] {
  if (opts.force && opts.skip) {
    throw new UserError('--force and --skip contradict each other', { hint: 'Pass one of them.' });
  }
  return plan.files.map((f) => {
    if (f.status === 'conflict' && opts.force) return { ...f, status: 'force' };
    if (f.status === 'conflict' && opts.skip) return { ...f, status: 'skip', reason: 'kept yours (--skip)' };
    if (f.status === 'conflict' && opts.yes)
      return {
        ...f,
        status: 'skip',
        reason: 'kept yours: --yes never replaces your files (--force does, keeping a copy)',
      };
    if (f.status === 'skip' && f.createOnly && opts.force) return { ...f, status: 'force' };
    return f;
  });
}

const WRITES = new Set(['create', 'update', 'force']);

/** `.ls-mix/backup/<path>` (`..` of a workflow in the git root spelled `_parent_`), numbered when taken. */
async function freeBackupPath(dir: string, rel: string, taken: Set<string>): Promise<string> {
  const base = `${BACKUP_DIR}/${rel
    .split('/')
    .map((p) => (p === '..' ? '_parent_' : p))
    .join('/')}`;
  for (let n = 0; ; n++) {
    const candidate = n === 0 ? base : `${base}.${n}`;
    if (taken.has(candidate) || (await exists(path.join(dir, candidate)))) continue;
    taken.add(candidate);
    return candidate;
  }
}

function conflictError(plan: Plan, conflicts: PlannedFile[]): UserError {
  return new UserError(
    `${conflicts.length === 1 ? 'This file exists and differs' : 'These files exist and differ'} from what ${plan.mixes.join(', ')} writes: ${conflicts.map((f) => f.path).join(', ')}`,
    {
      hint: 'Nothing was written. Add --force to replace them (a copy of yours is kept under .ls-mix/backup/), --skip to keep yours, --dry-run --diff to see the differences, or run in a terminal to decide per file.',
    },
  );
}

export async function applyPlan(plan: Plan, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const files = resolvePlan(plan, opts).map((f) => ({ ...f }));
  const conflicts = files.filter((f) => f.status === 'conflict');
  // A dry run shows conflicts (and their diffs) instead of stopping at them.
  if (conflicts.length > 0 && !opts.dryRun) throw conflictError(plan, conflicts);

  const old = await readManifest(plan.dir);
  const taken = new Set(Object.values(old?.files ?? {}).flatMap((r) => (r.backup ? [r.backup] : [])));
  // Replaced files of the user's, and compose files of theirs merged into for the first time.
  for (const f of files) {
    const rec = old?.files[f.path];
    const replacing = f.status === 'force' && f.existing !== undefined;
    const firstMerge = f.merged && f.status === 'update' && !rec?.backup;
    if (replacing || firstMerge) f.backup = await freeBackupPath(plan.dir, f.path, taken);
    if (replacing) {
      f.reason = `${opts.dryRun ? 'would replace yours; a copy would be kept' : 'replaced yours; a copy is kept'} in ${f.backup} (\`ls-mix remove\` puts it back)`;
    }
  }
  const result: ApplyResult = {
    dryRun: Boolean(opts.dryRun),
    files: files.map((f) => ({ path: f.path, status: f.status, reason: f.reason })),
    written: [],
    deleted: [],
    backups: files.filter((f) => f.backup && f.status === 'force').map((f) => f.backup!),
    manifest: MANIFEST_FILE,
  };
  const targets = new Map<string, string>();
  for (const f of files) targets.set(f.path, await projectTarget(plan.dir, f.path, plan.gitRoot));
  for (const f of files) if (f.backup) targets.set(f.backup, await safeTarget(plan.dir, f.backup));
  const manifestTarget = await safeTarget(plan.dir, MANIFEST_FILE);
  const obsolete = await deletableObsolete(plan, old);
  if (opts.dryRun) {
    result.deleted = obsolete.map((o) => o.path);
    return result;
  }

  for (const f of files.filter((x) => WRITES.has(x.status))) {
    // The copy first: if it cannot be written, the user's file is not touched.
    if (f.backup && f.existing !== undefined)
      await writeAtomic(targets.get(f.backup)!, f.existingBytes ?? f.existing);
    await writeAtomic(targets.get(f.path)!, f.bytes ?? f.content);
    result.written.push(f.path);
  }
  for (const o of obsolete) {
    await unlink(o.full).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    result.deleted.push(o.path);
  }
  const manifest = old ?? emptyManifest(`ls-mix@${plan.generatorVersion}`);
  for (const o of obsolete) delete manifest.files[o.path];
  manifest.generator = `ls-mix@${plan.generatorVersion}`;
  for (const f of files) {
    if (f.status === 'skip' || f.status === 'conflict') continue;
    manifest.files[f.path] = record(f, manifest.files[f.path], plan.mixes[0]);
  }
  // A replaced mix stays listed only while it still owns a file this plan did not write.
  manifest.mixes = [...new Set([...plan.mixes, ...Object.values(manifest.files).map((r) => r.mix)])];
  manifest.facts = Object.keys(plan.remembered).length ? (plan.remembered as Manifest['facts']) : undefined;
  const text = serializeManifest(manifest);
  if ((await readIfExists(manifestTarget)) !== text) {
    await writeAtomic(manifestTarget, text);
    result.written.push(MANIFEST_FILE);
  }
  return result;
}

/**
 * The plan's obsolete files (an older vendored tarball) that are still as ls-mix wrote them:
 * those are deleted. One changed since, or gone, is left alone (and dropped from the manifest when gone).
 */
async function deletableObsolete(
  plan: Plan,
  old: Manifest | undefined,
): Promise<{ path: string; full: string }[]> {
  const out: { path: string; full: string }[] = [];
  for (const o of plan.obsolete ?? []) {
    const rec = old?.files[o.path];
    if (!rec) continue;
    const full = await projectTarget(plan.dir, o.path, plan.gitRoot);
    const bytes = await readFile(full).catch(() => undefined);
    if (bytes === undefined || sha256(bytes) === rec.sha256) out.push({ path: o.path, full });
  }
  return out;
}

/** What the manifest says about a file after this run; what it said before is kept where it still holds. */
function record(f: PlannedFile, before: ManifestRecord | undefined, mix: string): ManifestRecord {
  const rec: ManifestRecord = { sha256: sha256(f.bytes ?? f.content), mix };
  if (f.merged) {
    rec.merged = true;
    if (f.added?.length) rec.added = f.added;
  }
  // The first copy is the file as it was before ls-mix: the one `remove` restores.
  const backup = before?.backup ?? f.backup;
  if (backup) rec.backup = backup;
  const unchanged = before && before.sha256 === rec.sha256;
  if (f.preexisting || (f.status === 'identical' && unchanged && before?.preexisting)) rec.preexisting = true;
  return rec;
}

async function writeAtomic(file: string, content: string | Buffer): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.ls-mix-${process.pid}.tmp`;
  await writeFile(tmp, content);
  await rename(tmp, file);
}
