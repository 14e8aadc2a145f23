/**
 * npm / Yarn / pnpm workspaces: the packages a monorepo declares (package.json `workspaces`,
 * pnpm-workspace.yaml `packages`), and which of them is the app that opens the SQLite db.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { UserError } from '../../runtime/errors.js';
import { exists, readIfExists } from './fs-util.js';

export interface Workspace {
  /** Folder relative to the repo root (posix). */
  dir: string;
  /** Its package.json `name` (may be missing). */
  name?: string;
}

/** The workspace packages of the repo at `root`, or [] when it is a single package. */
export async function findWorkspaces(
  root: string,
  pkg: { workspaces?: unknown } | undefined,
): Promise<Workspace[]> {
  const patterns: string[] = [];
  const ws = pkg?.workspaces;
  if (Array.isArray(ws)) patterns.push(...ws.filter((x): x is string => typeof x === 'string'));
  else if (ws && typeof ws === 'object' && Array.isArray((ws as { packages?: unknown }).packages))
    patterns.push(
      ...((ws as { packages: unknown[] }).packages.filter((x) => typeof x === 'string') as string[]),
    );
  const pnpm = await readIfExists(path.join(root, 'pnpm-workspace.yaml'));
  if (pnpm !== undefined) {
    let doc: unknown;
    try {
      doc = parseYaml(pnpm);
    } catch (err) {
      throw new UserError(
        `${path.join(root, 'pnpm-workspace.yaml')} is not valid YAML: ${(err as Error).message}`,
        {
          hint: 'Fix it (pnpm needs it too), then run again.',
        },
      );
    }
    const list = (doc as { packages?: unknown } | null)?.packages;
    if (Array.isArray(list)) patterns.push(...list.filter((x): x is string => typeof x === 'string'));
  }
  const dirs = new Set<string>();
  for (const p of patterns) {
    if (p.startsWith('!')) continue;
    for (const d of await expand(root, p.replace(/^\.\//, '').replace(/\/$/, ''))) dirs.add(d);
  }
  for (const p of patterns.filter((x) => x.startsWith('!'))) {
    const neg = p.slice(1).replace(/^\.\//, '');
    for (const d of [...dirs]) if (globMatch(neg, d)) dirs.delete(d);
  }
  const out: Workspace[] = [];
  for (const dir of [...dirs].sort()) {
    if (dir === '' || dir === '.') continue;
    const text = await readIfExists(path.join(root, dir, 'package.json'));
    if (text === undefined) continue;
    let name: string | undefined;
    try {
      name = (JSON.parse(text) as { name?: string }).name;
    } catch {
      throw new UserError(`${path.join(root, dir, 'package.json')} is not valid JSON`, {
        hint: 'Fix it, then run again.',
      });
    }
    out.push({ dir, name });
  }
  return out;
}

/** Folders matching a workspace glob (`apps/*`, `packages/**`, `server`). */
async function expand(root: string, pattern: string, depth = 0): Promise<string[]> {
  const parts = pattern.split('/');
  let current = [''];
  for (const part of parts) {
    const next: string[] = [];
    for (const base of current) {
      if (part === '**') {
        next.push(base, ...(await subdirs(root, base, 3)));
      } else if (/[*?[]/.test(part)) {
        const re = globPart(part);
        for (const d of await subdirs(root, base, 1)) if (re.test(path.posix.basename(d))) next.push(d);
      } else {
        const d = base ? `${base}/${part}` : part;
        if (await exists(path.join(root, d))) next.push(d);
      }
    }
    current = next;
  }
  return depth > 3 ? [] : current;
}

async function subdirs(root: string, base: string, depth: number): Promise<string[]> {
  if (depth <= 0) return [];
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(path.join(root, base), { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    if (!e.isDirectory() || e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const d = base ? `${base}/${e.name}` : e.name;
    out.push(d, ...(await subdirs(root, d, depth - 1)));
  }
  return out;
}

function globPart(part: string): RegExp {
  return new RegExp(
    `^${part
      .replace(/[.+^${}()|\\]/g, '\\$&')
      .replace(/\*/g, '[^/]*')
      .replace(/\?/g, '[^/]')}$`,
  );
}

function globMatch(pattern: string, dir: string): boolean {
  const re = pattern
    .split('/')
    .map((p) => (p === '**' ? '.*' : globPart(p).source.slice(1, -1)))
    .join('/');
  return new RegExp(`^${re}$`).test(dir);
}
