/**
 * `ls-mix new`: copy a starter project (built-in, local folder or git repo), rename it, apply
 * the storage mix through the generator's plan/apply, and make the first git commit.
 */
import { existsSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { UserError } from '../../runtime/errors.js';
import { ghSecretLines, type SecretInfo, type Storage } from '../generator/index.js';
import { type CopySource, copyTemplate } from './copy.js';
import { initRepository } from './git.js';
import { MANIFEST_FILE, type TemplateManifest } from './manifest.js';
import { applyMixToNewProject } from './mix.js';
import { defaultFolderName, type ProjectNames, validateProjectName } from './names.js';
import { nextSteps } from './next-steps.js';
import { templateReservedNames } from './reserved.js';
import { resolveTemplateSource, type TemplateSource } from './source.js';
import { assertOutsideTemplate, prepareTarget } from './target.js';

export { listBuiltinTemplates, TEMPLATE_ALIASES } from './catalog.js';
export { DEFAULT_NEW_MIX, mixPromptChoices, NEW_MIX_CHOICES, storageOfMix } from './mix.js';
export { validateProjectName } from './names.js';

export interface ScaffoldOptions {
  /** Built-in template name or alias, git URL (`#ref` optional) or local folder. */
  template: string;
  name: string;
  storage: Storage;
  /** The folder to create; default `<cwd>/<name>`. */
  output?: string;
  cwd?: string;
  /** Write into a non-empty folder. */
  force?: boolean;
  /** `git init` + first commit (default true). */
  git?: boolean;
}

export interface ScaffoldResult {
  dir: string;
  template: { kind: TemplateSource['kind']; source: string };
  names: ProjectNames;
  variant: string;
  runtime: 'node' | 'dotnet';
  port: number;
  dbPath: string;
  mix: string;
  /** Files copied from the template (relative, sorted). */
  templateFiles: string[];
  /** Files the mix planned, with their status (create, skip, ...). */
  mixFiles: { path: string; status: string; reason?: string }[];
  secrets: SecretInfo[];
  secretCommands: string[];
  git?: { commit: string; usedFallbackIdentity: boolean };
  nextSteps: string[];
  notes: string[];
  warnings: string[];
}

export async function scaffoldProject(opts: ScaffoldOptions): Promise<ScaffoldResult> {
  const cwd = opts.cwd ?? process.cwd();
  const source = await resolveTemplateSource(opts.template);
  try {
    const sources = [...includeSources(source), { dir: source.dir }];
    const names = validateProjectName(opts.name, templateReservedNames(sources.map((s) => s.dir)));
    const dir = resolve(cwd, opts.output ?? defaultFolderName(names));
    assertOutsideTemplate(dir, source.dir);
    const { created } = prepareTarget(dir, opts.force ?? false);
    try {
      return await build(opts, source, sources, names, dir, cwd);
    } catch (err) {
      // Leave nothing half-made behind: a rerun must not need --force.
      if (created) rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  } finally {
    source.cleanup();
  }
}

async function build(
  opts: ScaffoldOptions,
  source: TemplateSource,
  sources: CopySource[],
  names: ProjectNames,
  dir: string,
  cwd: string,
): Promise<ScaffoldResult> {
  const manifest = source.manifest;
  // --force into a folder that is already a repository: its history is the user's.
  const existingRepo = existsSync(join(dir, '.git'));
  const copied = copyTemplate(sources, dir, names);
  const applied = await applyMixToNewProject(dir, opts.storage, {
    name: names.raw,
    variant: manifest.variant,
    port: manifest.port,
    dbPath: manifest.dbPath,
    packageManager: manifest.packageManager,
  });
  const facts = applied.plan.facts;
  // The generator's notes name `ls-mix add` flags; for a new project, that is how to change them.
  const notes = applied.plan.notes.map((n) =>
    n.replace(/; (--[a-z-]+) sets it\.$/, '; `ls-mix add $1` changes it.'),
  );
  let git: ScaffoldResult['git'];
  if (opts.git !== false && existingRepo) {
    notes.push(
      `${dir} is already a git repository: nothing was committed (review and commit the new files yourself).`,
    );
  } else if (opts.git !== false) {
    git = await initRepository(dir, commitMessage(source, applied.mix));
  }
  return {
    dir,
    template: { kind: source.kind, source: source.label },
    names,
    variant: facts.variant.value,
    runtime: facts.runtime,
    port: facts.port.value,
    dbPath: facts.dbPath.value,
    mix: applied.mix,
    templateFiles: copied.files,
    mixFiles: applied.result.files,
    secrets: applied.plan.secrets,
    secretCommands: ghSecretLines(applied.plan.secrets),
    git,
    nextSteps: nextSteps({ dir, cwd, manifest, runtime: facts.runtime }),
    notes,
    warnings: copied.warnings,
  };
}

/** The shared folders a built-in template's `include:` names, in order. */
function includeSources(source: TemplateSource): CopySource[] {
  const include: NonNullable<TemplateManifest['include']> = source.manifest.include ?? [];
  if (include.length === 0) return [];
  const root = source.includeRoot;
  if (!root) {
    throw new UserError(`${source.label}: "include:" works only in ls-mix's built-in templates`, {
      hint: `Copy the shared files into your template and remove "include:" from ${MANIFEST_FILE}.`,
    });
  }
  return include.map((entry) => {
    const from = typeof entry === 'string' ? entry : entry.from;
    const dir = resolve(root, from);
    if (relative(root, dir).startsWith('..') || !existsSync(dir)) {
      throw new Error(`${source.label}/${MANIFEST_FILE}: include "${from}" is not a folder of ${root}`);
    }
    return { dir, into: typeof entry === 'string' ? '' : entry.to };
  });
}

function commitMessage(source: TemplateSource, mix: string): string {
  const from = source.kind === 'builtin' ? `the ${source.label} template` : source.label;
  return `New project from ${from}, with the ${mix} mix (ls-mix new)`;
}
