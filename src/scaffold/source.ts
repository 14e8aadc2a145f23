import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../../runtime/errors.js';
import { findBuiltinTemplate, projectTemplatesRoot, TEMPLATE_ALIASES } from './catalog.js';
import { readManifest, type TemplateManifest } from './manifest.js';

export interface TemplateSource {
  kind: 'builtin' | 'local' | 'git';
  /** What the user asked for, safe to print (no credentials). */
  label: string;
  /** The folder to copy from. */
  dir: string;
  manifest: TemplateManifest;
  /** Where `include:` entries are looked up (built-in templates only). */
  includeRoot?: string;
  /** Removes the temporary clone of a git template. */
  cleanup(): void;
}

const GIT_URL = /^(?:(?:https?|ssh|git|file):\/\/|[\w.-]+@[\w.-]+:)/i;

export function isGitUrl(spec: string): boolean {
  return GIT_URL.test(spec);
}

function looksLikePath(spec: string): boolean {
  return /[/\\]/.test(spec) || spec.startsWith('.') || spec.startsWith('~');
}

/** Hides the user-info part (tokens, passwords) of a URL before it is printed. */
export function redactGitUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]+@/i, '$1[redacted]@');
}

/**
 * Resolves `--template`: a built-in name or alias, a git URL (`URL#branch` picks a branch or
 * tag; cloned with --depth 1 into a temp folder) or a local folder.
 */
export async function resolveTemplateSource(spec: string): Promise<TemplateSource> {
  const trimmed = spec.trim();
  if (trimmed.length === 0) throw new UserError('--template is empty', { hint: 'Try --template node.' });
  if (isGitUrl(trimmed)) return cloneGitTemplate(trimmed);
  if (looksLikePath(trimmed)) return localTemplate(trimmed);
  if (!TEMPLATE_ALIASES[trimmed] && !isBuiltinName(trimmed) && existsSync(trimmed)) {
    return localTemplate(trimmed);
  }
  const t = findBuiltinTemplate(trimmed);
  return {
    kind: 'builtin',
    label: t.name,
    dir: t.dir,
    manifest: t.manifest,
    includeRoot: projectTemplatesRoot(),
    cleanup: () => {},
  };
}

function isBuiltinName(name: string): boolean {
  return existsSync(join(projectTemplatesRoot(), name)) && !name.startsWith('_');
}

function localTemplate(spec: string): TemplateSource {
  const dir = resolve(spec.startsWith('~') ? join(homedir(), spec.slice(1)) : spec);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UserError(`Template folder not found: ${dir}`, {
      hint: 'Give a built-in template name, a git URL or an existing folder.',
    });
  }
  if (readdirSync(dir).every((f) => f === '.git')) {
    throw new UserError(`Template ${dir} has no files`, {
      hint: 'Point --template at the folder holding the project.',
    });
  }
  return { kind: 'local', label: dir, dir, manifest: readManifest(dir), cleanup: () => {} };
}

async function cloneGitTemplate(spec: string): Promise<TemplateSource> {
  const hash = spec.lastIndexOf('#');
  const url = hash > 0 ? spec.slice(0, hash) : spec;
  const ref = hash > 0 ? spec.slice(hash + 1) : undefined;
  const label = redactGitUrl(spec);
  const tmp = mkdtempSync(join(tmpdir(), 'ls-mix-template-'));
  const dir = join(tmp, 'template');
  const cleanup = () => rmSync(tmp, { recursive: true, force: true });
  const args = ['clone', '--depth', '1', '--quiet', ...(ref ? ['--branch', ref] : []), '--', url, dir];
  try {
    // No prompt for credentials: a CI run must fail, not hang.
    await execa('git', args, { env: { GIT_TERMINAL_PROMPT: '0' }, timeout: 300_000 });
  } catch (err) {
    cleanup();
    const stderr = String((err as { stderr?: string }).stderr ?? '').trim();
    const reason = stderr.split('\n').filter(Boolean).pop() ?? (err as Error).message;
    throw new UserError(`Could not clone template ${label}: ${redactGitUrl(reason)}`, {
      hint: 'Check the URL (and #branch), and that git can reach it: try `git clone` yourself.',
    });
  }
  try {
    if (readdirSync(dir).every((f) => f === '.git')) {
      throw new UserError(`Template ${label} has no files`, {
        hint: 'If the repo has files on another branch than its default one, add #branch to the URL.',
      });
    }
    return { kind: 'git', label, dir, manifest: readManifest(dir), cleanup };
  } catch (err) {
    cleanup();
    throw err;
  }
}
