/**
 * Renders a mix's templates (`templates/mixes/_base/files/**` shared by every mix, then the
 * mix's own `files/**`, which override by path) with the project facts, into file contents.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import ejs from 'ejs';
import { UserError } from '../../runtime/errors.js';
import { dotnetConnectionEnv } from './dotnet-connection.js';
import { type NameForms, nameForms, replacePlaceholders } from './names.js';
import { MIXES_DIR } from './package-root.js';
import { STORAGES } from './storage.js';
import type { MixDefinition, ProjectFacts, Storage } from './types.js';

export interface RenderedFile {
  path: string;
  content: string;
  /** Written only when missing: an existing one is the user's (--force replaces it). */
  createOnly?: boolean;
  /** An existing file is merged with this one instead of conflicting. */
  merge?: 'compose';
}

const FILE_RULES: Record<string, Pick<RenderedFile, 'createOnly' | 'merge'>> = {
  Dockerfile: { createOnly: true },
  '.dockerignore': { createOnly: true },
  '.deploy/docker-compose.yml': { merge: 'compose' },
};

/** Where the app's db lives inside the containers, and how the app finds it there. */
export interface DbLayout {
  /** As the app sees it in the repo. */
  appPath: string;
  containerPath: string;
  containerDir: string;
  envVar?: string;
  envValue?: string;
  /** Key prefix inside the bucket / container / SFTP home. */
  replicaPath: string;
  /** The db folder relative to the app, created before a build step that may open the db. */
  buildDir?: string;
}

export function dbLayout(facts: ProjectFacts, names: NameForms): DbLayout {
  const appPath = facts.dbPath.value;
  const file = path.posix.basename(appPath);
  let containerPath: string;
  let envValue: string | undefined;
  if (facts.dbEnvVar) {
    // The app reads its path from an env var: point it at the volume.
    containerPath = `/data/${file}`;
    envValue = facts.dbEnvVar === 'DATABASE_URL' ? `file:${containerPath}` : containerPath;
  } else {
    containerPath = appPath.startsWith('/') ? appPath : path.posix.join('/app', appPath);
    // A .NET app gets its connection string from compose: a db in its top folder moves to
    // App_Data, where the volume can be mounted.
    if (facts.dbConnection && path.posix.dirname(containerPath) === '/app') {
      containerPath = `/app/App_Data/${file}`;
    }
  }
  const containerDir = path.posix.dirname(containerPath);
  if (containerDir === '/app' || containerDir === '/') {
    throw new UserError(
      `The app opens its SQLite db '${appPath}' in its own top folder: the db volume cannot be mounted there`,
      {
        hint: 'Move the db into a folder (e.g. data/app.db), or read its path from an env var, then run again with --db-path <new path>.',
      },
    );
  }
  return {
    appPath,
    containerPath,
    containerDir,
    envVar: facts.dbEnvVar,
    envValue,
    replicaPath: `${names.kebab}/${file}`,
    buildDir:
      appPath.startsWith('/') || path.posix.dirname(appPath) === '.'
        ? undefined
        : path.posix.dirname(appPath),
  };
}

function nodeCommands(facts: ProjectFacts) {
  const pm = facts.packageManager.value;
  const locked = facts.hasLockfile ?? false;
  const lockfile = { npm: 'package-lock.json', yarn: 'yarn.lock', pnpm: 'pnpm-lock.yaml' }[pm];
  return {
    version: facts.nodeVersion.value,
    pm,
    manifestFiles: locked ? ['package.json', lockfile] : ['package.json'],
    install: {
      npm: locked ? 'npm ci' : 'npm install',
      yarn: locked ? 'yarn install --frozen-lockfile' : 'yarn install',
      pnpm: locked ? 'pnpm install --frozen-lockfile' : 'pnpm install',
    }[pm],
    build: `${pm} run build`,
    prune: {
      npm: 'npm prune --omit=dev',
      yarn: locked ? 'yarn install --production --frozen-lockfile' : 'yarn install --production',
      pnpm: 'pnpm prune --prod',
    }[pm],
    hasBuildScript: facts.hasBuildScript ?? false,
    start: facts.startCommand ?? ['npm', 'start'],
  };
}

export function renderContext(facts: ProjectFacts, mix: MixDefinition, storage: Storage, version: string) {
  const names = nameForms(facts.name.value);
  const info = STORAGES[storage];
  const db = dbLayout(facts, names);
  return {
    name: names,
    version,
    mix: mix.name,
    storage,
    storageLabel: info.label,
    storageEnv: info.env,
    storageExample: info.example.map(([k, v]) => [k, replacePlaceholders(v, names)]),
    variant: facts.variant.value,
    runtime: facts.runtime,
    port: facts.port.value,
    db,
    volume: `${names.kebab}-data`,
    appUid: facts.runtime === 'dotnet' ? 1654 : 1000,
    node: nodeCommands(facts),
    dotnet: {
      version: facts.dotnetVersion.value,
      csproj: facts.csproj,
      assemblyName: facts.assemblyName,
      uiDir: facts.uiDir,
      major: Number(facts.dotnetVersion.value.split('.')[0]),
      connectionEnv: dotnetConnectionEnv(facts, db.containerPath),
      buildRunsNode: facts.dotnetBuildRunsNode,
      uiRunsDotnet: facts.uiRunsDotnet,
    },
  };
}

async function listTemplates(dir: string, rel = ''): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(path.join(dir, rel), { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listTemplates(dir, p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

export async function renderMix(
  mix: MixDefinition,
  facts: ProjectFacts,
  storage: Storage,
  version: string,
): Promise<RenderedFile[]> {
  const ctx = renderContext(facts, mix, storage, version);
  const sources = new Map<string, string>();
  for (const root of [path.join(MIXES_DIR, '_base', 'files'), path.join(mix.dir, 'files')]) {
    for (const rel of await listTemplates(root)) sources.set(rel.replace(/\.ejs$/, ''), path.join(root, rel));
  }
  const out: RenderedFile[] = [];
  for (const [rel, file] of [...sources].sort(([a], [b]) => a.localeCompare(b))) {
    // Placeholders are replaced in the template text, never in values taken from the repo.
    const template = replacePlaceholders(await readFile(file, 'utf8'), ctx.name);
    const content = file.endsWith('.ejs') ? ejs.render(template, ctx, { filename: file }) : template;
    const target = replacePlaceholders(rel, ctx.name);
    out.push({ path: target, content, ...FILE_RULES[target] });
  }
  return out;
}
