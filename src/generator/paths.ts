/**
 * Every path the generator writes or deletes goes through here: relative, no `..`, and no
 * symlink on the way that leads out of the project folder.
 */
import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../runtime/errors.js';

function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Resolves `rel` inside `root` (both must be trusted to exist as given) and returns the
 * absolute path, or throws when it would land outside `root`.
 */
export async function safeTarget(root: string, rel: string): Promise<string> {
  const refuse = (why: string) =>
    new UserError(`Refusing to touch '${rel}': ${why}`, {
      hint: `ls-mix only writes inside the project folder ${root}.`,
    });
  if (rel === '' || path.isAbsolute(rel) || /^[A-Za-z]:/.test(rel) || rel.includes('\0')) {
    throw refuse('not a relative path');
  }
  const parts = rel.split(/[\\/]+/);
  if (parts.includes('..')) throw refuse('it goes up with ".."');
  const realRoot = await realpath(root);
  // Walk down: each existing component must resolve (through any symlink) inside the root.
  let current = realRoot;
  for (const part of parts.filter((p) => p !== '.' && p !== '')) {
    current = path.join(current, part);
    const st = await lstat(current).catch(() => undefined);
    if (!st) break; // the rest will be created by us, as plain folders and files
    if (st.isSymbolicLink()) {
      const target = await realpath(current).catch(() => undefined);
      if (!target || !isInside(realRoot, target))
        throw refuse(`${path.relative(realRoot, current)} is a symlink out of the project`);
      current = target;
    }
  }
  const full = path.join(realRoot, ...parts);
  if (!isInside(realRoot, full)) throw refuse('outside the project');
  return full;
}

/**
 * Like safeTarget, for the one kind of file that lives above the project folder: the release
 * workflow of an app in a subfolder goes to the git root's `.github/workflows/` (GitHub reads
 * workflows nowhere else). `rel` starts with `../` only for that; it must land in the
 * `.github/workflows/` of the git root found from `dir` (never one a manifest names).
 */
export async function projectTarget(dir: string, rel: string, gitRoot: string | undefined): Promise<string> {
  if (!rel.startsWith('../')) return safeTarget(dir, rel);
  const refuse = (why: string) =>
    new UserError(`Refusing to touch '${rel}': ${why}`, {
      hint: `ls-mix only writes inside the project folder ${dir}, and the release workflow in the git root's .github/workflows/.`,
    });
  if (!gitRoot) throw refuse('the project is not in a git repository');
  const fromRoot = path.posix.normalize(
    path.posix.join(path.relative(gitRoot, path.resolve(dir)).split(path.sep).join('/'), rel),
  );
  if (!/^\.github\/workflows\/[^/]+$/.test(fromRoot))
    throw refuse("not in the git root's .github/workflows/");
  return safeTarget(gitRoot, fromRoot);
}
