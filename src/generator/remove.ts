/**
 * Remove a mix: delete the files it wrote that still hash as written; keep (and report) the
 * ones the user changed, and files merged into the user's own.
 */
import { readdir, rmdir, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../runtime/errors.js';
import { readIfExists } from './fs-util.js';
import { MANIFEST_FILE, readManifest, serializeManifest, sha256 } from './manifest.js';
import { safeTarget } from './paths.js';

export type RemoveStatus = 'delete' | 'kept' | 'missing';
export interface RemoveResult {
  dryRun: boolean;
  mix: string;
  files: { path: string; status: RemoveStatus; reason?: string }[];
  deleted: string[];
}

export async function removeMix(
  dir: string,
  mix: string,
  opts: { dryRun?: boolean; force?: boolean } = {},
): Promise<RemoveResult> {
  const root = path.resolve(dir);
  const manifest = await readManifest(root);
  if (!manifest) {
    throw new UserError(`No ${MANIFEST_FILE} in ${root}: no mix was added here`, {
      hint: 'Pass --dir with the folder you ran `ls-mix add` in.',
    });
  }
  if (!manifest.mixes.includes(mix)) {
    throw new UserError(`${mix} is not added in ${root}`, {
      hint: manifest.mixes.length ? `Added here: ${manifest.mixes.join(', ')}.` : 'No mix is added here.',
    });
  }
  const result: RemoveResult = { dryRun: Boolean(opts.dryRun), mix, files: [], deleted: [] };
  const toDelete: { rel: string; full: string }[] = [];
  for (const [rel, rec] of Object.entries(manifest.files).sort(([a], [b]) => a.localeCompare(b))) {
    if (rec.mix !== mix) continue;
    const full = await safeTarget(root, rel); // a hand-edited manifest must not reach outside
    const text = await readIfExists(full);
    if (text === undefined) result.files.push({ path: rel, status: 'missing', reason: 'already gone' });
    else if (rec.merged)
      result.files.push({ path: rel, status: 'kept', reason: 'merged into your own file' });
    else if (sha256(text) !== rec.sha256 && !opts.force) {
      result.files.push({
        path: rel,
        status: 'kept',
        reason: 'changed since it was written; --force deletes it',
      });
    } else {
      result.files.push({ path: rel, status: 'delete' });
      toDelete.push({ rel, full });
    }
  }
  if (opts.dryRun) return result;

  for (const { rel, full } of toDelete) {
    await unlink(full);
    result.deleted.push(rel);
    await removeEmptyParents(root, path.dirname(full));
  }
  // Kept files stay recorded (a later `remove --force` can still take them); the mix stays
  // listed until none of its files is left.
  for (const f of result.files) if (f.status !== 'kept') delete manifest.files[f.path];
  if (!Object.values(manifest.files).some((r) => r.mix === mix))
    manifest.mixes = manifest.mixes.filter((m) => m !== mix);
  const manifestFile = await safeTarget(root, MANIFEST_FILE);
  if (manifest.mixes.length === 0 && Object.keys(manifest.files).length === 0) await unlink(manifestFile);
  else await writeFile(manifestFile, serializeManifest(manifest));
  return result;
}

/** Folders we emptied (.deploy, .github/workflows) go too; the project root never does. */
async function removeEmptyParents(root: string, dir: string): Promise<void> {
  const realRoot = path.resolve(root);
  while (dir.startsWith(realRoot + path.sep)) {
    if ((await readdir(dir).catch(() => ['?'])).length > 0) return;
    await rmdir(dir).catch(() => undefined);
    dir = path.dirname(dir);
  }
}
