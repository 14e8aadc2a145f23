/**
 * The repo's own build / test workflow, if it has one: the release then deploys only after it
 * passed (`workflow_run`), as ServiceStack's mixes do. A workflow counts when it sits in the
 * git root's .github/workflows/, runs on push to the release branch, and is not a release,
 * deploy or publish workflow itself (nor ls-mix's).
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { readIfExists } from './fs-util.js';

export interface BuildWorkflow {
  /** What `workflow_run: workflows:` names: its `name:`, else its path (GitHub's default name). */
  name: string;
  /** Its path from the git root. */
  file: string;
}

const NOT_A_BUILD = /release|deploy|publish/i;
const LIKELY_BUILD = /build|ci|test|check/i;

/** The build workflow to wait for (one: `workflow_run` would fire after any listed one), or none. */
export async function findBuildWorkflow(
  workflowsRoot: string,
  branch: string,
): Promise<{ found?: BuildWorkflow; others: BuildWorkflow[] }> {
  const dir = path.join(workflowsRoot, '.github', 'workflows');
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => /\.ya?ml$/.test(n)).sort();
  const found: BuildWorkflow[] = [];
  for (const n of names) {
    const file = `.github/workflows/${n}`;
    const text = await readIfExists(path.join(dir, n));
    if (text === undefined || /^# .*\(written by ls-mix /m.test(text.split('\n', 3).join('\n'))) continue;
    let doc: unknown;
    try {
      doc = parse(text);
    } catch {
      continue; // not valid YAML: GitHub does not run it either
    }
    if (!doc || typeof doc !== 'object') continue;
    const wf = doc as { name?: unknown; on?: unknown };
    const name = typeof wf.name === 'string' && wf.name.trim() ? wf.name.trim() : file;
    if (NOT_A_BUILD.test(name) || NOT_A_BUILD.test(n)) continue;
    if (!runsOnPushTo(wf.on, branch)) continue;
    found.push({ name, file });
  }
  const preferred = found.find((w) => LIKELY_BUILD.test(w.name) || LIKELY_BUILD.test(w.file)) ?? found[0];
  return { found: preferred, others: found.filter((w) => w !== preferred) };
}

/** `on: push`, `on: [push, ...]` or `on: { push: ... }` whose branch filters let `branch` through. */
function runsOnPushTo(on: unknown, branch: string): boolean {
  if (on === 'push') return true;
  if (Array.isArray(on)) return on.includes('push');
  if (!on || typeof on !== 'object' || !('push' in on)) return false;
  const push = (on as { push: unknown }).push;
  if (!push || typeof push !== 'object') return true; // `push:` with nothing under it: every branch
  const { branches, 'branches-ignore': ignore } = push as { branches?: unknown; 'branches-ignore'?: unknown };
  if (Array.isArray(branches)) return branches.some((b) => matches(String(b), branch));
  if (Array.isArray(ignore)) return !ignore.some((b) => matches(String(b), branch));
  // Only tags or paths filters: a push of tags alone never runs it on the branch.
  const tagsOnly = 'tags' in (push as object) && !('paths' in (push as object));
  return !tagsOnly;
}

/** GitHub's branch filter glob, enough for names: `*` (no `/`), `**`, and a leading `!` is not supported here. */
function matches(pattern: string, branch: string): boolean {
  if (pattern.startsWith('!')) return false;
  const re = pattern
    .split('**')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*'))
    .join('.*');
  return new RegExp(`^${re}$`).test(branch);
}
