/**
 * Fitting what `add` writes to what the user already has: a Dockerfile of theirs that stays
 * (WORKDIR, USER, EXPOSE) and a compose file of theirs (the app service, the mount its db is
 * on, their image naming). The results feed the render context (DeployFit).
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { type ComposeFit, fitCompose } from './compose-fit.js';
import { detected } from './detect-facts.js';
import { filesHiddenByDbVolume } from './detect-node.js';
import {
  baseImageDefault,
  type DockerfileFacts,
  dockerfileEnvPort,
  readDockerfileFacts,
} from './dockerfile-facts.js';
import { connectionStringEnvName, PLAIN_COMPOSE_VALUE } from './dotnet-connection.js';
import { parseSqliteConnection } from './dotnet-db.js';
import { listFiles, readIfExists } from './fs-util.js';
import { type Manifest, type ManifestRecord, sha256 } from './manifest.js';
import { nameForms } from './names.js';
import { safeTarget } from './paths.js';
import { userComposeProxyNote } from './proxy.js';
import { type DeployFit, dbLayout } from './render.js';
import { cleanText, composeQuote } from './text.js';
import type { Overrides, ProjectFacts } from './types.js';
import { dbPathProblem } from './validate-facts.js';

export const COMPOSE = '.deploy/docker-compose.yml';

/** The file on disk is ours as written (recorded, unchanged, not a merge and not the user's copy). */
export function isOurs(rec: ManifestRecord | undefined, text: string | Buffer | undefined): boolean {
  return (
    text !== undefined && rec !== undefined && !rec.merged && !rec.preexisting && rec.sha256 === sha256(text)
  );
}

/**
 * The name of the app's Dockerfile in `root`: `Dockerfile`, or a lone lowercase `dockerfile`,
 * which docker build also takes when there is no `Dockerfile` (the names read from the folder:
 * exact on every file system).
 */
export async function appDockerfileName(root: string): Promise<'Dockerfile' | 'dockerfile'> {
  const names = await readdir(root).catch(() => [] as string[]);
  return !names.includes('Dockerfile') && names.includes('dockerfile') ? 'dockerfile' : 'Dockerfile';
}

/** A Dockerfile of the user's that stays: the compose file follows its WORKDIR, USER and port. */
export async function fitDockerfile(
  root: string,
  facts: ProjectFacts,
  manifest: Manifest | undefined,
  force: boolean,
  fit: DeployFit,
  notes: string[],
): Promise<void> {
  const name = await appDockerfileName(root);
  // Ours is written under the user's name (kept, or replaced with --force) and the release
  // builds it by that name: never a second Dockerfile beside theirs that the build would take.
  if (name !== 'Dockerfile') fit.appDockerfile = name;
  const text = await readIfExists(await safeTarget(root, name));
  if (text === undefined || force || isOurs(manifest?.files[name], text)) return;
  fit.userDockerfile = true;
  const d = readDockerfileFacts(text);
  const runs = d.runs ? undefined : baseImageDefault(d.image);
  if (runs && d.image) fit.userDockerfileRunsNothing = { name, image: d.image, runs };
  fit.layout = { ...fit.layout, workdir: d.workdir ?? '/' };
  const said: string[] = [`WORKDIR ${d.workdir ?? '/ (none set)'}`];
  if (d.user === undefined) {
    fit.appUid = 0;
    said.push('runs as root (no USER)');
  } else if (d.uid !== undefined) {
    fit.appUid = d.uid;
    said.push(`USER ${d.user} (uid ${d.uid})`);
  } else {
    said.push(`USER ${d.user}`);
    notes.push(
      `Your Dockerfile runs the app as USER ${d.user}, whose uid ls-mix cannot tell: the sidecar runs as uid ${facts.runtime === 'dotnet' ? 1654 : 1000} and must be able to write the db folder. Give the 'litestream' service \`user: "<uid of ${d.user}>"\` in .deploy/docker-compose.yml, or use a numeric USER.`,
    );
  }
  let dbEnv = dockerfileDbPath(d, facts);
  const workdir = d.workdir ?? '/';
  if (dbEnv?.containerPath.startsWith(`${workdir.replace(/\/$/, '')}/`)) {
    // Inside the app's folder: a volume there must not hide what the image holds (migrations).
    const rel = path.posix.relative(workdir, dbEnv.containerPath);
    const hidden =
      path.posix.dirname(rel) === '.'
        ? ['(the app folder itself)']
        : filesHiddenByDbVolume(rel, await listFiles(root, 6));
    if (hidden.length > 0) {
      notes.push(
        `Your ${name} puts the db at ${dbEnv.containerPath}, in a folder of the app that a volume would hide (${hidden.slice(0, 3).join(', ')}): the compose file sets ${facts.dbEnvVar ?? 'the connection string'} to a path on the db volume instead.`,
      );
      dbEnv = undefined;
    }
  }
  if (dbEnv) {
    fit.layout = { ...fit.layout, containerPath: dbEnv.containerPath, envValue: dbEnv.envValue };
    if (facts.dbConnection && dbEnv.options)
      facts.dbConnection = { ...facts.dbConnection, options: dbEnv.options };
    const theirs = facts.dbEnvVar ? d.env[facts.dbEnvVar] : undefined;
    if (theirs !== undefined && dbEnv.envValue === undefined)
      notes.push(
        `Your ${name} sets ${facts.dbEnvVar} with characters the compose file cannot hold as they are: compose sets it to the db path alone; add any options of it in .deploy/docker-compose.yml.`,
      );
    said.push(`ENV ${facts.dbEnvVar ?? connectionStringEnvName(facts.dbConnection?.name ?? '')}`);
  }
  const envPort = dockerfileEnvPort(d, facts.runtime === 'dotnet' ? 'dotnet' : 'node');
  if (envPort && facts.port.source !== 'flag') {
    if (facts.port.source === 'default' || facts.port.envDefault) {
      // The container's env is what the app reads first: its fallback never applies there.
      facts.port = detected(envPort.port, `${name} ENV ${envPort.name}`);
    } else if (envPort.port !== facts.port.value) {
      notes.push(
        `Mismatch: your ${name} sets ${envPort.name}=${envPort.port} but the app listens on ${facts.port.value} (detected in ${facts.port.from}, which does not read ${envPort.name}); the compose file uses ${facts.port.value}. Pass --port if the app does listen on ${envPort.port}.`,
      );
    }
  }
  if (d.ports.length > 0) {
    if (facts.port.source === 'default') {
      facts.port = detected(d.ports[0], `${name} EXPOSE`);
    } else if (!d.ports.includes(facts.port.value)) {
      notes.push(
        `Mismatch: your ${name} EXPOSEs ${d.ports.join(', ')} but the app listens on ${facts.port.value} (${facts.port.source === 'flag' ? facts.port.from : `detected in ${facts.port.from}`}); the compose file uses ${facts.port.value}. Fix the EXPOSE line, or pass --port.`,
      );
    }
  }
  if (envPort || d.ports.length > 0) said.push(`port ${facts.port.value}`);
  notes.push(
    `${name} is yours and stays as is: the compose file is fitted to it (${said.join(', ')})${name === 'Dockerfile' ? '' : '; the release workflow builds the app image from it'}.`,
  );
}

interface DockerfileDb {
  containerPath: string;
  /** The value compose repeats (theirs, URL options included), when it can be written as it is. */
  envValue?: string;
  /** .NET: the connection string's other keywords, theirs. */
  options?: string[];
}

/**
 * Where the user's Dockerfile puts the db when it sets the env var the app reads its path from
 * (remix-run/indie-stack: `ENV DATABASE_URL=file:/data/sqlite.db`) or, for .NET, its connection
 * string (`ENV ConnectionStrings__Default="Data Source=/data/app.db;Cache=Shared"`: ASP.NET reads
 * env vars over appsettings): there, not at a path of ours. Absolute plain paths only; --db-path wins.
 */
function dockerfileDbPath(d: DockerfileFacts, facts: ProjectFacts): DockerfileDb | undefined {
  if (facts.dbPath.source === 'flag') return undefined;
  const plainPath = (p: string) => p.startsWith('/') && !p.includes('//') && dbPathProblem(p) === undefined;
  const conn = facts.dbConnection;
  if (facts.runtime === 'dotnet' && conn) {
    const value = d.env[connectionStringEnvName(conn.name)];
    const parsed = value === undefined || value.includes('$') ? undefined : parseSqliteConnection(value);
    if (!parsed || !plainPath(parsed.dataSource)) return undefined;
    return { containerPath: path.posix.normalize(parsed.dataSource), options: parsed.options };
  }
  if (!facts.dbEnvVar) return undefined;
  const value = d.env[facts.dbEnvVar];
  if (value === undefined || value.includes('$')) return undefined;
  const scheme = facts.dbUrlScheme ?? (facts.dbEnvVar === 'DATABASE_URL' ? 'file:' : '');
  if (scheme && !value.startsWith(scheme)) return undefined;
  // URL options (`?connection_limit=1`) are the app's; the file is what comes before them.
  const p = value.slice(scheme.length).split('?')[0];
  if (!plainPath(p)) return undefined;
  const containerPath =
    facts.dbEnvKind === 'dir'
      ? path.posix.join(p, facts.dbEnvFile ?? path.posix.basename(facts.dbPath.value))
      : path.posix.normalize(p);
  return { containerPath, envValue: PLAIN_COMPOSE_VALUE.test(value) ? value : undefined };
}

/** A compose file of the user's: the sidecar will share the mount their app keeps the db on. */
export async function fitUserCompose(
  root: string,
  facts: ProjectFacts,
  manifest: Manifest | undefined,
  remembered: Overrides,
  force: boolean,
  fit: DeployFit,
): Promise<ComposeFit | undefined> {
  const text = await readIfExists(await safeTarget(root, COMPOSE));
  if (text === undefined || isOurs(manifest?.files[COMPOSE], text)) return undefined;
  const names = nameForms(facts.name.value);
  const ours = dbLayout(facts, names, fit.layout);
  const result = fitCompose({
    file: COMPOSE,
    text,
    candidates: ['app', names.kebab, names.lower, names.snake],
    service: remembered.service,
    dbEnvVar: facts.dbEnvVar,
    defaultContainerPath: ours.containerPath,
    addMount: force ? `${names.kebab}-data:${ours.containerDir}` : undefined,
  });
  if (result) {
    const proxyNote = userComposeProxyNote(COMPOSE, text, result.service, fit.proxy?.network.value);
    if (proxyNote) result.notes.push(proxyNote);
    const hostNote = facts.listenHostEnv && userComposeHostNote(text, result.service, facts.listenHostEnv);
    if (hostNote) result.notes.push(hostNote);
    // Their compose's value of the db var wins over their Dockerfile's.
    const keepEnv = result.containerPath === ours.containerPath ? fit.layout?.envValue : undefined;
    fit.layout = { ...fit.layout, containerPath: result.containerPath, envValue: keepEnv };
    fit.sidecar = {
      mount: result.mountText ?? (result.addMount ? composeQuote(result.addMount) : undefined),
      // Named like their app's image; built like it when compose builds their app.
      image: result.sidecarImage ?? (result.sidecarBuild ? '' : undefined),
      build: result.sidecarBuild,
    };
  }
  return result;
}

/**
 * Their compose keeps its app service as they wrote it: when the app listens on the loopback
 * interface unless an env var says otherwise and that service does not set it, say what to add.
 */
function userComposeHostNote(
  text: string,
  service: string,
  host: NonNullable<ProjectFacts['listenHostEnv']>,
): string | undefined {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return undefined;
  const env = (doc.toJS() as { services?: Record<string, { environment?: unknown } | null> }).services?.[
    service
  ]?.environment;
  const set = Array.isArray(env)
    ? env.some((e) => String(e).split('=')[0] === host.name)
    : env !== null && typeof env === 'object' && host.name in env;
  if (set) return undefined;
  return `Your ${COMPOSE} does not set ${host.name} for '${cleanText(service)}': the app listens on the loopback interface unless it is set (${host.from}), where nginx-proxy cannot reach it. Add \`${host.name}: "0.0.0.0"\` to that service's environment.`;
}

const ROOT_COMPOSE = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];

/**
 * A compose file of the user's in the project's top folder is not the one ls-mix deploys
 * (.deploy/docker-compose.yml): say so, rather than let them believe their stack is backed up.
 */
export async function rootComposeNote(root: string): Promise<string | undefined> {
  for (const name of ROOT_COMPOSE) {
    if ((await readIfExists(await safeTarget(root, name))) === undefined) continue;
    return `${name} is yours and stays as is: ls-mix deploys ${COMPOSE}, a stack of its own. To have ls-mix add its sidecar to your stack (on the volume your app keeps its db on), copy ${name} to ${COMPOSE} (its relative paths then start from .deploy/) and run again.`;
  }
  return undefined;
}
