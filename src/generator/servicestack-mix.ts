/**
 * A deployment made by ServiceStack's `x mix litestream-*` (or a template that ships it): a
 * compose file with a `litestream/litestream` sidecar that restores and replicates the app's
 * db with `litestream restore|replicate DB URL` (or `-config` and a litestream.yml). Moving to
 * ls-mix must keep its replica path (else the first deploy finds no backup and the app starts
 * on an empty db), the env var names its secrets have, and the volume (and the db file in it).
 * What cannot be read unambiguously stops the run, naming the file and the flag that settles it.
 */
import path from 'node:path';
import { isMap, parseDocument } from 'yaml';
import { UserError } from '../../runtime/errors.js';
import { parseMount } from './compose-fit.js';
import { readIfExists } from './fs-util.js';
import { originUrl } from './git-repo.js';
import { safeTarget } from './paths.js';
import { cleanText } from './text.js';
import type { Storage } from './types.js';

/** Where ServiceStack's mixes put their compose file: the template (envsubst'ed by the workflow) or the file itself. */
export const SERVICESTACK_COMPOSE_FILES = [
  '.deploy/docker-compose-template.yml',
  '.deploy/docker-compose.yml',
];

export interface ServiceStackMix {
  /** The compose file it was read from (project-relative). */
  file: string;
  /** The sidecar service (`${APP_NAME}-litestream`, `app-litestream`). */
  service: string;
  storage: Storage;
  /** Key prefix of the replica in its bucket / container / SFTP home (`MyApp.sqlite`). */
  replicaPath: string;
  /** Our env var name -> the one the user's secrets have (only for names they set as `${VAR}`). */
  env: Record<string, string>;
  /** Literal (not `${VAR}`) storage values in the file, e.g. a bucket name: ls-mix reads them from env. */
  literals: Record<string, string>;
  /** The compose volume key, as it was named on the server (`app-mydb`, `acme-mydb`). */
  volume: string;
  /** Where that name came from (`${APP_NAME}` resolved from the git remote, ...). */
  volumeFrom: string;
  /** The db file's path inside the volume (`MyApp.sqlite`). */
  dbInVolume: string;
  /** The db path as the app's container sees it (`/app/App_Data/MyApp.sqlite`), when the app mounts the volume. */
  appDbPath?: string;
  /** What a user must do by hand (stop the old stack, delete the old workflow, ...). */
  notes: string[];
}

type Service = {
  image?: unknown;
  command?: unknown;
  entrypoint?: unknown;
  healthcheck?: { test?: unknown };
  environment?: unknown;
  volumes?: unknown;
  profiles?: unknown;
};

const VAR = /^\$\{?(\w+)\}?$/;

/** The words of a command given as a string or a list (each list item split on spaces too). */
function words(v: unknown): string[] {
  if (typeof v === 'string') return v.split(/\s+/).filter(Boolean);
  if (Array.isArray(v)) return v.flatMap((x) => (typeof x === 'string' ? words(x) : []));
  return [];
}

/** `litestream <verb> [flags] DB URL` in a word list: flags with a value (-config, -o) are skipped. */
interface Invocation {
  verb: 'replicate' | 'restore';
  config?: string;
  out?: string;
  args: string[];
}
function invocations(ws: string[]): Invocation[] {
  const out: Invocation[] = [];
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i];
    const isBinary = w === 'litestream' || w.endsWith('/litestream');
    if (!isBinary) continue;
    const vi = i + 1;
    const verb = ws[vi];
    if (verb !== 'replicate' && verb !== 'restore') continue;
    const inv: Invocation = { verb, args: [] };
    let j = vi + 1;
    for (; j < ws.length; j++) {
      const a = ws[j];
      if (a === '&&' || a === ';' || a === '||' || a === '|') break;
      if (/^--?(config|o|exec|generation|index|timestamp|replica|parallelism)$/.test(a)) {
        const flag = a.replace(/^-+/, '');
        if (flag === 'config') inv.config = ws[j + 1];
        if (flag === 'o') inv.out = ws[j + 1];
        j++;
      } else if (!a.startsWith('-')) inv.args.push(a.replace(/^["']|["']$/g, ''));
    }
    out.push(inv);
    i = j;
  }
  return out;
}

interface Replica {
  storage: Storage;
  path: string;
  /** Our env names -> the value in the file (`${VAR}` or a literal). */
  fields: Record<string, string>;
}

/** `s3://${AWS_S3_BUCKET}/MyApp.sqlite`, `abs://${ACCOUNT}@${CONTAINER}/x`, `sftp://${U}:${P}@${H}:${PORT}/x`. */
export function parseReplicaUrl(url: string): Replica | undefined {
  const m = /^(s3|abs|sftp):\/\/(.+?)\/(.*)$/.exec(url);
  if (!m) return undefined;
  const [, scheme, authority, rest] = m;
  const replicaPath = rest.replace(/\/+$/, '');
  if (scheme === 's3') return { storage: 'aws', path: replicaPath, fields: { AWS_S3_BUCKET: authority } };
  if (scheme === 'abs') {
    const at = authority.lastIndexOf('@');
    if (at < 0) return undefined;
    return {
      storage: 'azure',
      path: replicaPath,
      fields: { AZURE_STORAGEACCOUNT: authority.slice(0, at), AZURE_CONTAINER: authority.slice(at + 1) },
    };
  }
  const at = authority.lastIndexOf('@');
  const creds = at < 0 ? '' : authority.slice(0, at);
  const hostPort = at < 0 ? authority : authority.slice(at + 1);
  const fields: Record<string, string> = {};
  // Split at the last ':' outside `${...}`.
  const split = (s: string): [string, string | undefined] => {
    const i = s.replace(/\$\{[^}]*\}/g, (x) => '_'.repeat(x.length)).lastIndexOf(':');
    return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
  };
  const [host, port] = split(hostPort);
  fields.SFTP_HOST = host;
  if (port !== undefined) fields.SFTP_PORT = port;
  if (creds) {
    const [user, password] = split(creds);
    fields.SFTP_USERNAME = user;
    if (password !== undefined) fields.SFTP_PASSWORD = password;
  }
  return { storage: 'sftp', path: replicaPath, fields };
}

/** The one replica of the one db in a Litestream config of theirs. */
function replicaFromConfig(text: string, file: string): { db: string; replica: Replica } {
  const doc = parseDocument(text);
  const fail = (what: string) =>
    new UserError(`${file}: ${what}: cannot tell which replica the ServiceStack mix's backup is in`, {
      hint: 'Pass --replica-path with the path of the existing replica in your storage (e.g. --replica-path MyApp.sqlite).',
    });
  if (doc.errors.length > 0) throw fail(`not valid YAML (${doc.errors[0].message.split('\n')[0]})`);
  const cfg = doc.toJS() as { dbs?: { path?: string; replicas?: Record<string, string>[] }[] };
  const dbs = cfg?.dbs ?? [];
  if (dbs.length !== 1) throw fail(`${dbs.length} dbs`);
  const reps = dbs[0].replicas ?? [];
  if (reps.length !== 1) throw fail(`${reps.length} replicas of ${dbs[0].path}`);
  const r = reps[0];
  const db = String(dbs[0].path ?? '');
  if (r.url) {
    const parsed = parseReplicaUrl(String(r.url));
    if (!parsed) throw fail(`replica url ${r.url} is not s3://, abs:// or sftp://`);
    return { db, replica: parsed };
  }
  const p = String(r.path ?? '').replace(/\/+$/, '');
  if (r.type === 's3')
    return { db, replica: { storage: 'aws', path: p, fields: { AWS_S3_BUCKET: String(r.bucket) } } };
  if (r.type === 'abs')
    return {
      db,
      replica: {
        storage: 'azure',
        path: p,
        fields: { AZURE_STORAGEACCOUNT: String(r['account-name']), AZURE_CONTAINER: String(r.bucket) },
      },
    };
  if (r.type === 'sftp')
    return {
      db,
      replica: {
        storage: 'sftp',
        path: p,
        fields: {
          SFTP_HOST: String(r.host),
          SFTP_USERNAME: String(r.user),
          SFTP_PASSWORD: String(r.password),
        },
      },
    };
  throw fail(`replica type ${r.type}`);
}

/** Sidecar env that carries a credential (as Litestream reads it) -> our name for it. */
const CREDENTIAL_ENV: Record<string, string> = {
  LITESTREAM_ACCESS_KEY_ID: 'AWS_ACCESS_KEY_ID',
  AWS_ACCESS_KEY_ID: 'AWS_ACCESS_KEY_ID',
  LITESTREAM_SECRET_ACCESS_KEY: 'AWS_SECRET_ACCESS_KEY',
  AWS_SECRET_ACCESS_KEY: 'AWS_SECRET_ACCESS_KEY',
  LITESTREAM_AZURE_ACCOUNT_KEY: 'AZURE_ACCOUNT_KEY',
};

function envEntries(env: unknown): [string, string][] {
  if (Array.isArray(env))
    return env
      .filter((e): e is string => typeof e === 'string' && e.includes('='))
      .map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]);
  if (env && typeof env === 'object')
    return Object.entries(env as Record<string, unknown>).map(([k, v]) => [k, v == null ? '' : String(v)]);
  return [];
}

/** The GitHub repository's name (what ServiceStack's workflow gives APP_NAME): from the git remote, else the git root's folder. */
async function repoName(root: string, gitRoot: string | undefined): Promise<{ name: string; from: string }> {
  if (gitRoot) {
    const url = (await originUrl(gitRoot)) ?? '';
    const m = /([^/:]+?)(\.git)?\/?$/.exec(url);
    if (url && m) return { name: m[1], from: 'the git remote origin' };
    return { name: path.basename(gitRoot), from: 'the git root folder name' };
  }
  return { name: path.basename(root), from: 'the project folder name' };
}

/**
 * Reads a ServiceStack-mix compose file, if the project has one. `oursOnDisk` says the
 * `.deploy/docker-compose.yml` there is ls-mix's own (then it is not theirs).
 */
export async function detectServiceStackMix(
  root: string,
  opts: { gitRoot?: string; oursOnDisk?: (rel: string, text: string) => boolean; replicaPath?: string },
): Promise<ServiceStackMix | undefined> {
  for (const file of SERVICESTACK_COMPOSE_FILES) {
    const text = await readIfExists(await safeTarget(root, file));
    if (text === undefined || opts.oursOnDisk?.(file, text)) continue;
    const found = await readComposeOf(root, file, text, opts);
    if (found) return found;
  }
  return undefined;
}

async function readComposeOf(
  root: string,
  file: string,
  text: string,
  opts: { gitRoot?: string; replicaPath?: string },
): Promise<ServiceStackMix | undefined> {
  const doc = parseDocument(text);
  if (doc.errors.length > 0 || !isMap(doc.get('services'))) return undefined;
  const services = (doc.toJS() as { services: Record<string, Service> }).services ?? {};
  const sidecars = Object.entries(services).filter(
    ([, s]) => typeof s?.image === 'string' && /^(docker\.io\/)?litestream\/litestream(:|@|$)/.test(s.image),
  );
  if (sidecars.length === 0) return undefined;
  const settle =
    'Pass --replica-path with the path of the existing replica in your storage (e.g. --replica-path MyApp.sqlite).';
  if (sidecars.length > 1)
    throw new UserError(
      `${file}: ${sidecars.length} litestream/litestream services (${sidecars.map(([n]) => cleanText(n)).join(', ')}): cannot tell which one holds the app's backup`,
      { hint: settle },
    );
  const [service, sc] = sidecars[0];
  // The image's entrypoint is litestream itself: a `command:` alone starts with the verb.
  const entry = words(sc.entrypoint);
  const invs = [
    ...invocations([...(entry.length ? entry : ['litestream']), ...words(sc.command)]),
    ...invocations(words(sc.healthcheck?.test)),
  ];
  const replicate = invs.filter((i) => i.verb === 'replicate');
  const restore = invs.filter((i) => i.verb === 'restore');
  if (replicate.length !== 1)
    throw new UserError(
      `${file}: '${cleanText(service)}' runs \`litestream replicate\` ${replicate.length} times: cannot tell where its backup goes`,
      { hint: settle },
    );

  // Where the db is in the sidecar, and which replica it goes to.
  let sidecarDb: string;
  let replica: Replica;
  const rep = replicate[0];
  if (rep.args.length >= 2) {
    if (rep.args.length > 2)
      throw new UserError(
        `${file}: '${cleanText(service)}' replicates to ${rep.args.length - 1} replica URLs: cannot tell which one holds the backup to keep`,
        { hint: settle },
      );
    sidecarDb = rep.args[0];
    const parsed = parseReplicaUrl(rep.args[1]);
    if (!parsed)
      throw new UserError(
        `${file}: '${cleanText(service)}' replicates to ${cleanText(rep.args[1])}, not an s3://, abs:// or sftp:// URL ls-mix can read`,
        { hint: settle },
      );
    replica = parsed;
  } else {
    // -config (or Litestream's default /etc/litestream.yml): the file mounted there.
    const target = rep.config ?? '/etc/litestream.yml';
    const mount = (Array.isArray(sc.volumes) ? sc.volumes : [])
      .map(parseMount)
      .find((m) => m?.type === 'bind' && m.target === target && m.source && !m.source.includes('$'));
    const cfgFile = mount?.source
      ? path.posix.normalize(path.posix.join(path.posix.dirname(file), mount.source))
      : undefined;
    const cfgText = cfgFile ? await readIfExists(await safeTarget(root, cfgFile)) : undefined;
    if (!cfgFile || cfgText === undefined)
      throw new UserError(
        `${file}: '${cleanText(service)}' reads its replicas from ${cleanText(target)}, which is not a file of this project mounted into it`,
        { hint: settle },
      );
    ({ db: sidecarDb, replica } = replicaFromConfig(cfgText, cfgFile));
  }
  // The restore (usually the healthcheck) must read the replica the sidecar writes.
  for (const r of restore) {
    const url = r.args.find((a) => /^\w+:\/\//.test(a));
    const p = url ? parseReplicaUrl(url) : undefined;
    if (p && (p.path !== replica.path || p.storage !== replica.storage))
      throw new UserError(
        `${file}: '${cleanText(service)}' restores from ${cleanText(url ?? '')} but replicates to ${cleanText(replica.path)}: cannot tell which replica holds the backup`,
        { hint: settle },
      );
  }

  const replicaPath = opts.replicaPath ?? replica.path;
  if (replicaPath.includes('$') || replicaPath === '')
    throw new UserError(
      `${file}: the replica path '${cleanText(replica.path)}' is ${replicaPath ? 'set from a variable' : 'empty'}: cannot tell where in your storage the backup is`,
      { hint: settle },
    );

  const env: Record<string, string> = {};
  const literals: Record<string, string> = {};
  for (const [ours, value] of Object.entries(replica.fields)) {
    const v = VAR.exec(value);
    if (v) env[ours] = v[1];
    else if (value) literals[ours] = value;
  }
  for (const [key, value] of envEntries(sc.environment)) {
    const ours = CREDENTIAL_ENV[key];
    const v = VAR.exec(value);
    if (ours && v) env[ours] = v[1];
  }

  // The volume the db is on, and the db's path inside it. A source named in the top-level
  // `volumes:` is a volume, even when spelled with a variable (`${APP_NAME}-mydb`).
  const topVolumes = doc.get('volumes');
  const volumeKeys = new Set(
    isMap(topVolumes)
      ? topVolumes.items.map((i) => String((i.key as { value?: unknown })?.value ?? i.key))
      : [],
  );
  const mountOf = (raw: unknown) => {
    const m = parseMount(raw);
    return m?.source && volumeKeys.has(m.source) ? { ...m, type: 'volume' as const } : m;
  };
  const mounts = (Array.isArray(sc.volumes) ? sc.volumes : []).map(mountOf);
  const dbDir = path.posix.dirname(sidecarDb);
  const dbMount = mounts
    .filter((m) => m && (dbDir === m.target || dbDir.startsWith(`${m.target.replace(/\/$/, '')}/`)))
    .sort((a, b) => (b?.target.length ?? 0) - (a?.target.length ?? 0))[0];
  if (dbMount?.type !== 'volume' || !dbMount.source)
    throw new UserError(
      `${file}: '${cleanText(service)}' replicates ${cleanText(sidecarDb)}, which is on no named volume of it: cannot tell where the db lives`,
      {
        hint: `Give '${cleanText(service)}' in ${file} the named volume the db is on (as on the server), then run again.`,
      },
    );
  const dbInVolume = path.posix.relative(dbMount.target, sidecarDb);
  let volume = dbMount.source;
  let volumeFrom = file;
  if (volume.includes('$')) {
    // ServiceStack's workflow fills ${APP_NAME} with the GitHub repository's name (envsubst).
    if (!/^[\w.-]*\$\{?APP_NAME\}?[\w.-]*$/.test(volume))
      throw new UserError(
        `${file}: the volume '${cleanText(volume)}' is named from variables ls-mix cannot resolve`,
        {
          hint: `Rename it in ${file} to the name it has on the server, then run again.`,
        },
      );
    const repo = await repoName(root, opts.gitRoot);
    volume = volume.replace(/\$\{?APP_NAME\}?/, repo.name);
    volumeFrom = `${file}, \${APP_NAME} = ${repo.name} from ${repo.from}`;
  }

  // The app: the service (not the sidecar, not the migration profile) mounting that volume.
  let appDbPath: string | undefined;
  for (const [name, s] of Object.entries(services)) {
    if (name === service || (Array.isArray(s?.profiles) && s.profiles.length > 0)) continue;
    const m = (Array.isArray(s?.volumes) ? s.volumes : [])
      .map(mountOf)
      .find((x) => x?.type === 'volume' && x.source === dbMount.source);
    if (m) {
      appDbPath = path.posix.join(m.target, dbInVolume);
      break;
    }
  }

  const notes = [
    `Before the first deploy with ls-mix, stop the ServiceStack mix's stack on the server (\`docker compose down\` in its folder, without -v): two sidecars must never replicate to ${replicaPath} at once.`,
  ];
  if (file.endsWith('-template.yml'))
    notes.push(
      `${file} and its release workflow are no longer used: delete them once ls-mix's deploy works.`,
    );
  for (const [ours, value] of Object.entries(literals))
    notes.push(
      `${file} names the ${ours} '${cleanText(value)}' in the file: ls-mix reads it from the secret ${ours} (set it to that value).`,
    );
  return {
    file,
    service,
    storage: replica.storage,
    replicaPath,
    env,
    literals,
    volume,
    volumeFrom,
    dbInVolume,
    appDbPath,
    notes,
  };
}

/** Lines of the `add` report: exactly what was kept from the ServiceStack mix. */
export function keptLines(m: ServiceStackMix): string[] {
  const renamed = Object.entries(m.env).map(([ours, theirs]) =>
    ours === theirs ? theirs : `${theirs} (for ${ours})`,
  );
  return [
    `replica path ${m.replicaPath} (from ${m.file}, service ${m.service})`,
    `volume ${m.volume} (from ${m.volumeFrom}), db file ${m.dbInVolume} in it${m.appDbPath ? `, the app's ${m.appDbPath}` : ''}`,
    ...(renamed.length ? [`env/secret names ${renamed.join(', ')}`] : []),
  ];
}
