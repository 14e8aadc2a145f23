/**
 * Errors about the restore's output folder, named in the user's terms: which folder is
 * read-only (never "ENOENT" for a folder a read-only filesystem could not create), and where
 * the disk filled up.
 */
import { constants } from 'node:fs';
import { access, stat, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UserError } from '../errors.js';

/** The errno code of `err` or of any error in its `cause` chain. */
export function errnoCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The deepest folder of `dir` that exists (`dir` itself if it does). */
async function nearestExisting(dir: string): Promise<string> {
  let d = dir;
  for (let i = 0; i < 4096; i++) {
    if (
      await stat(d).then(
        () => true,
        () => false,
      )
    )
      return d;
    const up = dirname(d);
    if (up === d) return d;
    d = up;
  }
  return d;
}

/** Why `dir` (the output's folder) could not be created or written to. */
export async function outputFolderError(dir: string, err: unknown): Promise<UserError> {
  const hint = 'Restore to a folder you can write to with -o.';
  const st = await stat(dir).catch(() => undefined);
  if (st && !st.isDirectory())
    return new UserError(`cannot write to ${dir}: it is not a folder`, { hint, cause: err });
  const existing = await nearestExisting(dir);
  const probe = await access(existing, constants.W_OK).then(
    () => undefined,
    (e: unknown) => errnoCode(e),
  );
  const code = errnoCode(err);
  if (code === 'EROFS' || probe === 'EROFS') {
    const where = existing === dir ? 'the folder' : `${existing}`;
    return new UserError(`cannot write to ${dir}: ${where} is on a read-only filesystem (EROFS)`, {
      hint: 'Remount it read-write, or restore elsewhere with -o.',
      cause: err,
    });
  }
  if (code === 'EACCES' || code === 'EPERM' || probe === 'EACCES') {
    return new UserError(`cannot write to ${dir}: permission denied on ${existing}`, { hint, cause: err });
  }
  return new UserError(`cannot write to ${dir}: ${code ?? String(err)}`, { hint, cause: err });
}

/** A full disk while writing `tmp` (the database being built for `out`). */
export async function noSpaceError(
  out: string,
  tmp: string,
  storedBytes: number,
  err: unknown,
): Promise<UserError> {
  const free = await statfs(dirname(out)).then(
    (s) => s.bavail * s.bsize,
    () => undefined,
  );
  const freeText = free === undefined ? '' : `, ${free} bytes free`;
  return new UserError(
    `cannot restore to ${out}: no space left on device in ${dirname(out)} while writing ${tmp}${freeText} ` +
      `(the backup to restore is ${storedBytes} bytes compressed; the database needs more than that once decoded)`,
    { hint: 'Free space there, or restore to a bigger filesystem with -o.', cause: err },
  );
}

/** True for a full disk, from Node (ENOSPC) or from SQLite (SQLITE_FULL). */
export function isNoSpace(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOSPC' || code === 'SQLITE_FULL' || code === 'EDQUOT';
}
