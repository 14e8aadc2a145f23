/**
 * Remove a mix: undo what `add` did, file by file, and only where the file is still as ls-mix
 * left it. A file ls-mix created is deleted; a file of the user's that `--force` replaced gets
 * its copy from .ls-mix/backup/ back; a compose file of theirs loses only the service and
 * volume ls-mix added; a file that was already there is never deleted. Files changed since
 * are kept (and listed) unless --force.
 */
import { readdir, readFile, rename, rmdir, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../runtime/errors.js';
import { readIfExists } from './fs-util.js';
import { findGitRoot } from './git-repo.js';
import {
  BACKUP_DIR,
  MANIFEST_FILE,
  type ManifestRecord,
  readManifest,
  serializeManifest,
  sha256,
} from './manifest.js';
import { unmergeCompose } from './merge.js';
import { projectTarget, safeTarget } from './paths.js';

export type RemoveStatus = 'delete' | 'restore' | 'unmerge' | 'kept' | 'missing';
export interface RemoveResult {
  dryRun: boolean;
  mix: string;
  files: { path: string; status: RemoveStatus; reason?: string }[];
  deleted: string[];
  /** Files of the user's put back from .ls-mix/backup/, or taken back to their own content. */
  restored: string[];
}

type Action =
  | { kind: 'delete'; rel: string; full: string }
  | { kind: 'write'; rel: string; full: string; content: string; backup?: string };

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
  const gitRoot = await findGitRoot(root);
  const result: RemoveResult = { dryRun: Boolean(opts.dryRun), mix, files: [], deleted: [], restored: [] };
  const actions: Action[] = [];
  for (const [rel, rec] of Object.entries(manifest.files).sort(([a], [b]) => a.localeCompare(b))) {
    if (rec.mix !== mix) continue;
    // A hand-edited manifest must not reach outside (the workflow: only the git root's .github/workflows/).
    const full = await projectTarget(root, rel, gitRoot);
    const backup = rec.backup ? await safeTarget(root, rec.backup) : undefined;
    const action = await planFile(rel, full, rec, backup, opts.force ?? false);
    result.files.push(action.line);
    if (action.do) actions.push(action.do);
  }
  if (opts.dryRun) return result;

  for (const a of actions) {
    if (a.kind === 'delete') {
      await unlink(a.full);
      result.deleted.push(a.rel);
      await removeEmptyParents(a.rel.startsWith('../') && gitRoot ? gitRoot : root, path.dirname(a.full));
    } else {
      const tmp = `${a.full}.ls-mix-${process.pid}.tmp`;
      await writeFile(tmp, a.content);
      await rename(tmp, a.full);
      result.restored.push(a.rel);
      if (a.backup) {
        await unlink(a.backup).catch(() => undefined);
        await removeEmptyParents(root, path.dirname(a.backup));
      }
    }
  }
  // Kept files stay recorded (a later `remove --force` can still take them); the mix stays
  // listed until none of its files is left.
  for (const f of result.files) if (f.status !== 'kept') delete manifest.files[f.path];
  if (!Object.values(manifest.files).some((r) => r.mix === mix))
    manifest.mixes = manifest.mixes.filter((m) => m !== mix);
  const manifestFile = await safeTarget(root, MANIFEST_FILE);
  if (manifest.mixes.length === 0 && Object.keys(manifest.files).length === 0) {
    await unlink(manifestFile);
    await removeEmptyParents(root, path.join(root, BACKUP_DIR));
  } else await writeFile(manifestFile, serializeManifest(manifest));
  return result;
}

type Line = RemoveResult['files'][number];

async function planFile(
  rel: string,
  full: string,
  rec: ManifestRecord,
  backupFull: string | undefined,
  force: boolean,
): Promise<{ line: Line; do?: Action }> {
  const text = await readIfExists(full);
  const backup = backupFull ? await readIfExists(backupFull) : undefined;
  // Hashed as bytes: the vendored tarball is not text (for a text file both hashes agree).
  const asWritten = text !== undefined && sha256(await readFile(full)) === rec.sha256;
  if (text === undefined) {
    if (backup !== undefined)
      return {
        line: { path: rel, status: 'restore', reason: `was yours: put back from ${rec.backup}` },
        do: { kind: 'write', rel, full, content: backup, backup: backupFull },
      };
    return { line: { path: rel, status: 'missing', reason: 'already gone' } };
  }
  if (rec.preexisting)
    return { line: { path: rel, status: 'kept', reason: 'was there before ls-mix: yours' } };
  if (rec.merged) {
    if (asWritten && backup !== undefined)
      return {
        line: { path: rel, status: 'restore', reason: `yours again, as before ls-mix (from ${rec.backup})` },
        do: { kind: 'write', rel, full, content: backup, backup: backupFull },
      };
    const added = rec.added ?? [];
    if (added.length === 0)
      return { line: { path: rel, status: 'kept', reason: 'yours; ls-mix added nothing to it' } };
    const content = unmergeCompose(text, added, rel);
    return {
      line: {
        path: rel,
        status: 'unmerge',
        reason: `yours: took out ${added.map(describeAdded).join(', ')}`,
      },
      do: { kind: 'write', rel, full, content, backup: backupFull },
    };
  }
  if (!asWritten && !force)
    return {
      line: { path: rel, status: 'kept', reason: 'changed since it was written; --force removes it' },
    };
  if (backup !== undefined)
    return {
      line: { path: rel, status: 'restore', reason: `was yours: put back from ${rec.backup}` },
      do: { kind: 'write', rel, full, content: backup, backup: backupFull },
    };
  if (rec.backup)
    return {
      line: {
        path: rel,
        status: 'kept',
        reason: `replaced a file of yours, but its copy ${rec.backup} is gone: not deleted`,
      },
    };
  return { line: { path: rel, status: 'delete' }, do: { kind: 'delete', rel, full } };
}

function describeAdded(key: string): string {
  const [kind, name, ...rest] = key.split('/');
  if (kind === 'eol') return 'the final newline';
  return kind === 'mount' ? `the mount ${rest.join('/')} of ${name}` : `${kind}.${name}`;
}

/** Folders we emptied (.deploy, .github/workflows, .ls-mix/backup) go too; the root never does. */
async function removeEmptyParents(root: string, dir: string): Promise<void> {
  const realRoot = path.resolve(root);
  while (dir.startsWith(realRoot + path.sep)) {
    if ((await readdir(dir).catch(() => ['?'])).length > 0) return;
    await rmdir(dir).catch(() => undefined);
    dir = path.dirname(dir);
  }
}
