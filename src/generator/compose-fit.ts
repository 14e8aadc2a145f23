/**
 * Reads a compose file of the user's to fit the sidecar to it: which service runs the app,
 * where that app's db is inside its container, and which volume or bind mount holds the db
 * folder. The sidecar must mount exactly that (a new empty volume would back up nothing).
 */
import path from 'node:path';
import { isMap, parseDocument } from 'yaml';
import { UserError } from '../../runtime/errors.js';
import { cleanText } from './text.js';
import { dbPathProblem } from './validate-facts.js';

export interface ComposeFitInput {
  file: string;
  text: string;
  /** Service names to try, best first (`app`, the project name's forms). */
  candidates: string[];
  /** --service */
  service?: string;
  /** The env var the app reads its db path from, if any. */
  dbEnvVar?: string;
  /** The db path in the container when the compose file does not set the env var. */
  defaultContainerPath: string;
  /** Mount to add to the app service when the db folder is on none (--force only). */
  addMount?: string;
}

export interface ComposeFit {
  service: string;
  containerPath: string;
  /** The app's mount (as parsed: a string or a long-syntax map) holding the db folder. */
  mount?: unknown;
  /** That mount as YAML text for the sidecar's list (the user's own spelling of a short one). */
  mountText?: string;
  /** Set when the db folder is on no mount and --force lets ls-mix add this one. */
  addMount?: string;
  /** The sidecar's image, named after the app's (`me/notes:1` -> `me/notes-litestream:1`). */
  sidecarImage?: string;
  /** The app is built by compose: the sidecar is built too, from .deploy/litestream.Dockerfile. */
  sidecarBuild: boolean;
  notes: string[];
}

type Service = {
  build?: unknown;
  image?: unknown;
  environment?: unknown;
  volumes?: unknown;
  depends_on?: unknown;
};

/** Splits at top-level `sep` (not inside `${...}`). */
function splitTop(s: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '$' && s[i + 1] === '{') {
      depth++;
      i++;
    } else if (s[i] === '}' && depth > 0) depth--;
    else if (s[i] === sep && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

interface Mount {
  type: 'volume' | 'bind' | 'anonymous' | 'tmpfs' | 'other';
  source?: string;
  target: string;
}

export function parseMount(m: unknown): Mount | undefined {
  if (typeof m === 'string') {
    const parts = splitTop(m, ':');
    if (parts.length === 1) return { type: 'anonymous', target: parts[0] };
    const [source, target] = parts;
    const bind = /^[./~]/.test(source) || source.startsWith('$');
    return { type: bind ? 'bind' : 'volume', source, target };
  }
  if (m && typeof m === 'object') {
    const o = m as { type?: string; source?: string; target?: string };
    if (typeof o.target !== 'string') return undefined;
    const type =
      o.type === 'volume' && !o.source
        ? 'anonymous'
        : o.type === 'volume' || o.type === 'bind' || o.type === 'tmpfs'
          ? o.type
          : 'other';
    return { type, source: o.source, target: o.target };
  }
  return undefined;
}

/** `me/notes:1` -> `me/notes-litestream:1`; `${REPO}:${TAG:-latest}` -> `${REPO}-litestream:${TAG:-latest}`. */
export function sidecarImageFor(image: string): string {
  const ref = image.replace(/@sha256:[0-9a-f]+$/, '');
  const slashParts = splitTop(ref, '/');
  const last = slashParts.pop() ?? '';
  const [name, ...tag] = splitTop(last, ':');
  const repo = [...slashParts, `${name}-litestream`].join('/');
  return tag.length ? `${repo}:${tag.join(':')}` : repo;
}

function envValue(env: unknown, key: string): string | undefined {
  if (Array.isArray(env)) {
    for (const e of env) if (typeof e === 'string' && e.startsWith(`${key}=`)) return e.slice(key.length + 1);
    return undefined;
  }
  if (env && typeof env === 'object') {
    const v = (env as Record<string, unknown>)[key];
    return v === undefined || v === null ? undefined : String(v);
  }
  return undefined;
}

/** Undefined when the file has no app service (ls-mix then adds its own `app`). */
export function fitCompose(input: ComposeFitInput): ComposeFit | undefined {
  const doc = parseDocument(input.text);
  if (doc.errors.length > 0) return undefined; // the merge reports it, with file and line
  const services =
    (isMap(doc.get('services')) ? (doc.toJS() as { services: Record<string, Service> }).services : {}) ?? {};
  const names = Object.keys(services);
  const rel = input.file;
  const service = pickService(services, input, rel);
  if (service === undefined) return undefined;
  const app = services[service] ?? {};
  const notes: string[] = [];

  let containerPath = input.defaultContainerPath;
  if (input.dbEnvVar) {
    const v = envValue(app.environment, input.dbEnvVar);
    if (v !== undefined && !v.includes('$')) {
      // A URL's options (`?connection_limit=1`) are not part of the file's path.
      const p = v.replace(/^(file|sqlite):/, '').split('?')[0];
      if (p.startsWith('/') && dbPathProblem(p) === undefined) containerPath = path.posix.normalize(p);
    }
  }
  const dbDir = path.posix.dirname(containerPath);
  const mounts = (Array.isArray(app.volumes) ? app.volumes : []).map((m) => ({ raw: m, m: parseMount(m) }));
  const holding = mounts
    .filter(
      ({ m }) =>
        m &&
        !m.target.includes('$') &&
        (dbDir === m.target || dbDir.startsWith(`${m.target.replace(/\/$/, '')}/`)),
    )
    .sort((a, b) => (b.m?.target.length ?? 0) - (a.m?.target.length ?? 0))[0];

  const fit: ComposeFit = { service, containerPath, sidecarBuild: app.build !== undefined, notes };
  if (typeof app.image === 'string') {
    fit.sidecarImage = sidecarImageFor(app.image);
    if (!app.image.includes('IMAGE_REPO'))
      notes.push(
        `${rel}: '${service}' runs the image ${app.image}, the sidecar ${fit.sidecarImage}; the release workflow pushes ghcr.io/<owner>/<repo>(-litestream) and sets IMAGE_REPO and APP_VERSION in .env: name the images from those in the compose file, or change the workflow's push step.`,
      );
  }
  if (holding && (holding.m?.type === 'volume' || holding.m?.type === 'bind')) {
    fit.mount = holding.raw;
    const seq = doc.getIn(['services', service, 'volumes'], true) as
      | { items?: { range?: [number, number, number] }[] }
      | undefined;
    const node = seq?.items?.[mounts.indexOf(holding)];
    fit.mountText =
      typeof holding.raw === 'string' && node?.range
        ? input.text.slice(node.range[0], node.range[1])
        : JSON.stringify(holding.raw);
  } else {
    const why = holding
      ? `on ${holding.m?.type === 'tmpfs' ? 'a tmpfs' : holding.m?.type === 'anonymous' ? 'an anonymous volume' : 'a mount ls-mix cannot share'} (${cleanText(JSON.stringify(holding.raw))}), which the sidecar cannot share`
      : 'on no volume or bind mount, so it is lost with the container and the sidecar cannot see it';
    if (!input.addMount) {
      throw new UserError(
        `${rel}: the '${cleanText(service)}' service keeps its SQLite db folder ${dbDir} ${why}`,
        {
          hint: `Mount a named volume or a folder on ${dbDir} in '${cleanText(service)}' (e.g. \`- ${input.addMount ?? `app-data:${dbDir}`}\`), then run again; or run with --force to have ls-mix add that mount.`,
        },
      );
    }
    fit.addMount = input.addMount;
    notes.push(
      `${rel}: '${service}' kept ${dbDir} ${why}: --force added the volume mount ${input.addMount} to it.`,
    );
  }
  const deps = app.depends_on;
  const dependsOnSidecar = Array.isArray(deps)
    ? deps.includes('litestream')
    : Boolean(deps && typeof deps === 'object' && 'litestream' in deps);
  if (!dependsOnSidecar) {
    notes.push(
      `${rel}: give '${service}' \`depends_on: { litestream: { condition: service_healthy } }\` so it starts only after the sidecar has restored the db.`,
    );
  }
  if (names.length > 1 && !input.service && service !== 'app')
    notes.push(`${rel}: '${service}' is taken as the app service (--service picks another).`);
  return fit;
}

function pickService(
  services: Record<string, Service>,
  input: ComposeFitInput,
  rel: string,
): string | undefined {
  const names = Object.keys(services);
  if (input.service !== undefined) {
    if (!names.includes(input.service))
      throw new UserError(`${rel} has no service '${cleanText(input.service)}'`, {
        hint: `Its services: ${names.map(cleanText).join(', ') || 'none'}. Pass --service with one of them.`,
      });
    return input.service;
  }
  const named = input.candidates.find((c) => names.includes(c));
  if (named) return named;
  const built = names.filter((n) => services[n]?.build !== undefined);
  if (built.length === 1) return built[0];
  if (built.length === 0) return undefined;
  throw new UserError(
    `${rel}: cannot tell which service runs the app (services: ${names.map(cleanText).join(', ') || 'none'})`,
    {
      hint: 'Pass --service with the name of the app service.',
    },
  );
}
