/**
 * Renders a mix's templates (`templates/mixes/_base/files/**` shared by every mix, then the
 * mix's own `files/**`, which override by path) with the project facts, into file contents.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import ejs from 'ejs';
import { UserError } from '../../runtime/errors.js';
import { PROXY_IMAGES, SIDECAR_NODE_VERSION } from './defaults.js';
import { dotnetConnectionEnv } from './dotnet-connection.js';
import { type NameForms, nameForms, replacePlaceholders } from './names.js';
import { nodeCommands } from './node-build.js';
import { MIXES_DIR } from './package-root.js';
import { type ProxySettings, proxySettings } from './proxy.js';
import { STORAGES, sidecarReads } from './storage.js';
import { composeQuote, shQuote, yamlQuote } from './text.js';
import type { MixDefinition, ProjectFacts, SidecarKind, Storage } from './types.js';
import { mountProblem } from './validate-facts.js';

export interface RenderedFile {
  path: string;
  /** Text rendered from a template; for a binary file, a line describing `bytes`. */
  content: string;
  /** A binary file (the vendored ls-mix tarball): what is written. */
  bytes?: Buffer;
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

/** What the deployment around the app says about the db (a kept Dockerfile, a compose file of the user's). */
export interface LayoutFit {
  /** The app's working dir in its image (WORKDIR of a kept Dockerfile); ours is /app. */
  workdir?: string;
  /** Where the user's compose file (or Dockerfile ENV) points the app at its db. */
  containerPath?: string;
  /** The db env var's value as the user's Dockerfile sets it (URL options kept): compose repeats it. */
  envValue?: string;
  /** The replica path to keep (`--replica-path`, or a ServiceStack mix's `MyApp.sqlite`). */
  replicaPath?: string;
}

export function dbLayout(facts: ProjectFacts, names: NameForms, fit: LayoutFit = {}): DbLayout {
  const appPath = facts.dbPath.value;
  const file = path.posix.basename(appPath);
  const workdir = fit.workdir ?? '/app';
  let containerPath: string;
  let envValue: string | undefined;
  if (fit.containerPath) {
    containerPath = fit.containerPath;
  } else if (facts.dbEnvVar && facts.dbEnvKind === 'dir') {
    // The app reads the db's folder from an env var (DATA_DIR): point it at the volume.
    containerPath = path.posix.join('/data', facts.dbEnvFile ?? file);
    envValue = '/data';
  } else if (facts.dbEnvVar) {
    // The app reads its path from an env var: point it at the volume (--db-path /abs: there).
    containerPath = appPath.startsWith('/') ? appPath : `/data/${file}`;
    const scheme = facts.dbUrlScheme ?? (facts.dbEnvVar === 'DATABASE_URL' ? 'file:' : '');
    envValue = `${scheme}${containerPath}`;
  } else {
    containerPath = path.posix.resolve(workdir, appPath);
    // A .NET app gets its connection string from compose: a db in its top folder moves to
    // App_Data, where the volume can be mounted.
    if (facts.dbConnection && path.posix.dirname(containerPath) === workdir) {
      containerPath = path.posix.join(workdir, 'App_Data', file);
    }
  }
  // A db path set by the user's own compose file: the app's variable points at it as well.
  if (facts.dbEnvVar && envValue === undefined) {
    envValue =
      facts.dbEnvKind === 'dir'
        ? path.posix.dirname(containerPath)
        : `${facts.dbUrlScheme ?? (facts.dbEnvVar === 'DATABASE_URL' ? 'file:' : '')}${containerPath}`;
  }
  if (facts.dbEnvVar && fit.envValue !== undefined) envValue = fit.envValue;
  const containerDir = path.posix.dirname(containerPath);
  if (containerDir === workdir || workdir.startsWith(`${containerDir}/`) || containerDir === '/') {
    throw new UserError(
      `The app opens its SQLite db '${appPath}' in its own top folder (${containerDir} in the container): the db volume cannot be mounted there without hiding the app`,
      {
        hint: 'Move the db into a folder (e.g. data/app.db), or read its path from an env var, then run again with --db-path <new path>.',
      },
    );
  }
  const system = mountProblem(containerDir);
  if (system) {
    throw new UserError(
      `The SQLite db '${appPath}' would be at ${containerPath} in the containers: ${system}, and the db volume mounted on ${containerDir} would hide it`,
      {
        hint: 'Pass --db-path with a path in a folder of its own, e.g. --db-path data/app.db or --db-path /data/app.db.',
      },
    );
  }
  return {
    appPath,
    containerPath,
    containerDir,
    envVar: facts.dbEnvVar,
    envValue,
    replicaPath: fit.replicaPath ?? `${names.kebab}/${file}`,
    buildDir:
      appPath.startsWith('/') || path.posix.dirname(appPath) === '.'
        ? undefined
        : path.posix.dirname(appPath),
  };
}

/** Where the release workflow lives and what it releases (an app in a subfolder of the repo). */
export interface WorkflowInfo {
  branch: string;
  /** The app folder relative to the git root (posix), '' when the app is the repo. */
  appDir: string;
  /** The workflow was given another name because the user has a release.yml of their own. */
  renamed: boolean;
  /** The repo's build / test workflow: the release runs after it passed (`workflow_run`), not on push. */
  after?: { name: string; file: string };
}

/**
 * The sidecar's /healthz port (litestream.yml `addr`, bound to 127.0.0.1 inside its container
 * and called by compose's healthcheck there): off the common app and exporter ports.
 */
export const SIDECAR_HEALTH_PORT = 9465;

export interface DeployFit {
  layout?: LayoutFit;
  /** A Dockerfile of the user's stays: the app image is built from it, not from ours. */
  userDockerfile?: boolean;
  /** That Dockerfile has no CMD / ENTRYPOINT over an official base image: what its containers run. */
  userDockerfileRunsNothing?: { name: string; image: string; runs: string };
  /** uid the app runs as (USER of a kept Dockerfile): the sidecar runs as it too. */
  appUid?: number;
  /** The app's Dockerfile goes by another name (a lone lowercase `dockerfile`): written and built as that. */
  appDockerfile?: 'dockerfile';
  workflow?: WorkflowInfo;
  /** The sidecar in a compose file of the user's: their app's db mount (YAML text) and image naming. */
  sidecar?: { mount?: string; image?: string; build?: boolean };
  /** nginx-proxy's network and the host port, if any (default: the `nginx` network, no port). */
  proxy?: ProxySettings;
  /** `litestream`: the Go Litestream image instead of ls-mix's (`--sidecar litestream`). */
  sidecarKind?: SidecarKind;
  /** The db volume's name (default `<app>-data`; a ServiceStack mix's `app-mydb`). */
  volume?: string;
  /** Our storage env var name -> the name the user's secrets have (a ServiceStack mix's). */
  storageEnv?: Record<string, string>;
  /** The ls-mix tarball vendored into .deploy/ that the sidecar Dockerfile installs (file name, hex sha512). */
  vendored?: { fileName: string; sha512: string };
}

/** The Go Litestream image `--sidecar litestream` runs (pinned: its replica format is v0.3's). */
export const LITESTREAM_IMAGE = 'litestream/litestream:0.3.13';

/** Storage env var names as the user's secrets have them. */
export function storageEnvNames(storage: Storage, fit: Pick<DeployFit, 'storageEnv' | 'sidecarKind'> = {}) {
  const rename = (n: string) => fit.storageEnv?.[n] ?? n;
  const env = STORAGES[storage].env.filter((n) => sidecarReads(n, fit.sidecarKind));
  return {
    env: env.map(rename),
    example: STORAGES[storage].example
      .filter(([k]) => env.includes(k))
      .map(([k, v]) => [rename(k), v] as [string, string]),
    name: Object.fromEntries(STORAGES[storage].env.map((n) => [n, rename(n)])) as Record<string, string>,
  };
}

export function renderContext(
  facts: ProjectFacts,
  mix: MixDefinition,
  storage: Storage,
  version: string,
  fit: DeployFit = {},
) {
  const names = nameForms(facts.name.value);
  const info = STORAGES[storage];
  const workflow = fit.workflow ?? { branch: 'main', appDir: '', renamed: false };
  const db = dbLayout(facts, names, fit.layout);
  const node = { ...nodeCommands(facts), versionFrom: versionFrom(facts) };
  const proxy = fit.proxy ?? proxySettings({});
  const volume = fit.volume ?? `${names.kebab}-data`;
  const envNames = storageEnvNames(storage, fit);
  return {
    name: names,
    version,
    mix: mix.name,
    storage,
    storageLabel: info.label,
    storageEnv: envNames.env,
    /** Our storage env name -> the one the generated files use (the user's, for a ServiceStack mix). */
    env: envNames.name,
    storageExample: envNames.example.map(([k, v]) => [k, replacePlaceholders(v, names)]),
    variant: facts.variant.value,
    runtime: facts.runtime,
    port: facts.port.value,
    /** The env var the app's listen host comes from (loopback unless set): compose sets 0.0.0.0. */
    listenHost: facts.listenHostEnv,
    db,
    proxy: { network: proxy.network.value, hostPort: proxy.hostPort, images: PROXY_IMAGES },
    volume,
    appUid: fit.appUid ?? (facts.runtime === 'dotnet' ? 1654 : 1000),
    /** The app's Dockerfile when it is not `Dockerfile` (the release passes it to the build). */
    appDockerfile: fit.appDockerfile,
    workflow: {
      ...workflow,
      /** Path prefix of the app's files in the repo ('' or 'sub/app/'). */
      prefix: workflow.appDir ? `${workflow.appDir}/` : '',
      /** scp-action strip_components for `<prefix>.deploy/docker-compose.yml`. */
      strip: workflow.appDir ? workflow.appDir.split('/').length + 1 : 1,
    },
    sidecar: {
      kind: fit.sidecarKind ?? 'ls-mix',
      litestreamImage: LITESTREAM_IMAGE,
      healthPort: SIDECAR_HEALTH_PORT,
      // '' when compose builds the sidecar and names its image itself.
      image:
        fit.sidecar?.image === undefined
          ? // biome-ignore lint/suspicious/noTemplateCurlyInString: compose interpolation, not a JS template
            '${IMAGE_REPO:?set IMAGE_REPO in .env}-litestream:${APP_VERSION:-latest}'
          : fit.sidecar.image && yamlQuote(fit.sidecar.image),
      build: fit.sidecar?.build ?? false,
      mount: fit.sidecar?.mount ?? composeQuote(`${volume}:${db.containerDir}`),
      // The vendored tarball (.deploy/<fileName>) and its sha512; a placeholder only when
      // rendered without a plan (the plan always vendors it).
      package: fit.vendored ?? { fileName: `ls-mix-${version}.tgz`, sha512: '0'.repeat(128) },
    },
    // Quoting for values from the repo: a shell word, a YAML string, a compose string.
    sh: shQuote,
    yq: yamlQuote,
    cq: composeQuote,
    node,
    migration: facts.runtime === 'dotnet' ? facts.migration : node.migration,
    seedDbFiles: facts.nodeBuild?.seedDbFiles ?? [],
    sidecarNodeVersion: SIDECAR_NODE_VERSION,
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
  fit: DeployFit = {},
): Promise<RenderedFile[]> {
  const ctx = renderContext(facts, mix, storage, version, fit);
  const sources = new Map<string, string>();
  for (const root of [path.join(MIXES_DIR, '_base', 'files'), path.join(mix.dir, 'files')]) {
    for (const rel of await listTemplates(root)) sources.set(rel.replace(/\.ejs$/, ''), path.join(root, rel));
  }
  const out: RenderedFile[] = [];
  for (const [rel, file] of [...sources].sort(([a], [b]) => a.localeCompare(b))) {
    // The Go Litestream image is used as it is: no sidecar image to build.
    if (ctx.sidecar.kind === 'litestream' && rel === '.deploy/litestream.Dockerfile') continue;
    // Placeholders are replaced in the template text, never in values taken from the repo.
    const template = replacePlaceholders(await readFile(file, 'utf8'), ctx.name);
    const content = file.endsWith('.ejs') ? ejs.render(template, ctx, { filename: file }) : template;
    // A template that renders to nothing is for another setting (the proxy's files without one).
    if (content.trim() === '') continue;
    const target = replacePlaceholders(rel, ctx.name);
    out.push({
      path: target === 'Dockerfile' && fit.appDockerfile ? fit.appDockerfile : target,
      content,
      ...FILE_RULES[target],
    });
  }
  return out;
}

function versionFrom(facts: ProjectFacts): string {
  const v = facts.nodeVersion;
  return v.source === 'default'
    ? `no version declared: ${v.from}`
    : `${v.source === 'flag' ? 'from' : 'from'} ${v.from}`;
}
