/**
 * The sidecar's ls-mix, vendored: `add` copies the exact `npm pack` tarball of the running
 * ls-mix into `.deploy/ls-mix-<version>.tgz`, and the sidecar Dockerfile installs that file
 * after checking its sha512. The release then builds with no registry lookup of our name (it
 * may not be published yet, and an unpinned name could be taken by someone else).
 *
 * The tarball is packed once per package content and kept in a cache folder, so repeated
 * `add` runs are fast. From a source checkout, dist/ must be built and newer than the sources:
 * packing a stale dist/ would ship code that is not the code that wrote the files.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, type Stats, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { UserError } from '../../runtime/errors.js';
import { exists } from './fs-util.js';
import { GENERATOR_VERSION, PACKAGE_ROOT } from './package-root.js';

/** Where the tarball goes in the project (the sidecar Dockerfile COPYs it from there). */
export const VENDOR_DIR = '.deploy';
/** `.deploy/ls-mix-<version>.tgz` of any version: a vendored tarball an earlier `add` wrote. */
export const VENDORED_TARBALL = /^\.deploy\/ls-mix-[0-9A-Za-z.+-]+\.tgz$/;

export interface VendoredPackage {
  /** Project-relative path, `.deploy/ls-mix-<version>.tgz`. */
  path: string;
  /** File name alone (what the Dockerfile copies and checks). */
  fileName: string;
  bytes: Buffer;
  /** Hex sha512 of the bytes, as `sha512sum` prints it. */
  sha512: string;
}

export function vendoredPath(version: string): string {
  return `${VENDOR_DIR}/ls-mix-${version}.tgz`;
}

/** A tarball's bytes, described as the vendored package of `version`. */
export function describeTarball(bytes: Buffer, version = GENERATOR_VERSION): VendoredPackage {
  const rel = vendoredPath(version);
  return {
    path: rel,
    fileName: path.posix.basename(rel),
    bytes,
    sha512: createHash('sha512').update(bytes).digest('hex'),
  };
}

/**
 * The running ls-mix as an `npm pack` tarball (from the cache when this exact content was
 * packed before). `tarball` uses that file instead (the library API, for tests).
 */
export async function vendorPackage(opts: { tarball?: string } = {}): Promise<VendoredPackage> {
  if (opts.tarball) return describeTarball(await readFile(opts.tarball));
  await checkBuilt(PACKAGE_ROOT);
  const fingerprint = await packageFingerprint(PACKAGE_ROOT);
  const cached = path.join(
    cacheDir(),
    'packs',
    `${GENERATOR_VERSION}-${fingerprint}`,
    `ls-mix-${GENERATOR_VERSION}.tgz`,
  );
  if (!(await exists(cached))) await packInto(PACKAGE_ROOT, cached);
  return describeTarball(await readFile(cached));
}

/** `$LS_MIX_CACHE_DIR`, else `$XDG_CACHE_HOME/ls-mix`, else `~/.cache/ls-mix`. */
export function cacheDir(): string {
  if (process.env.LS_MIX_CACHE_DIR) return path.resolve(process.env.LS_MIX_CACHE_DIR);
  const base = process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
  return path.join(base, 'ls-mix');
}

/** `npm pack` of the package root into `target` (packed in a temp folder, then renamed: concurrent runs are safe). */
async function packInto(root: string, target: string): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = await mkdtemp(`${target}.pack-`);
  try {
    const { execa } = await import('execa'); // only on a cache miss: execa costs ~0.1 s to load
    const run = await execa('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], {
      cwd: root,
      reject: false,
      env: { npm_config_loglevel: 'error', npm_config_update_notifier: 'false' },
    });
    if (run.failed) {
      const why = run.code === 'ENOENT' ? 'npm is not on the PATH' : String(run.stderr || run.message).trim();
      throw new UserError(`Could not pack ls-mix (${root}) for the sidecar image: ${why.split('\n')[0]}`, {
        hint: 'The sidecar Dockerfile installs the `npm pack` tarball of this ls-mix: run `ls-mix add` where `npm` works (Node >= 20 with npm).',
      });
    }
    const [{ filename }] = JSON.parse(run.stdout) as { filename: string }[];
    await rename(path.join(tmp, filename), target);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** A source checkout (src/ and tsconfig.json beside package.json) packs dist/: it must be built from these sources. */
export async function checkBuilt(root: string): Promise<void> {
  if (!(await exists(path.join(root, 'src'))) || !(await exists(path.join(root, 'tsconfig.json')))) return;
  const built = await mtimes(root, ['dist/src', 'dist/runtime'], /\.js$/);
  if (built.length === 0) {
    throw new UserError(`ls-mix runs from a source checkout (${root}) without a build: dist/ is missing`, {
      hint: `Run \`npm run build\` in ${root}, then run again (the sidecar image installs the packed dist/).`,
    });
  }
  const sources = await mtimes(root, ['src', 'runtime'], /\.ts$/);
  const builtAt = Math.min(...built.map(([, t]) => t));
  const newer = sources.filter(([, t]) => t > builtAt).map(([p]) => p);
  if (newer.length) {
    throw new UserError(
      `ls-mix runs from a source checkout (${root}) whose dist/ is older than its sources (${newer.slice(0, 3).join(', ')}${newer.length > 3 ? ', ...' : ''} changed after the build)`,
      {
        hint: `Run \`npm run build\` in ${root}, then run again: the sidecar image installs the packed dist/, which must be the code that writes these files.`,
      },
    );
  }
}

async function mtimes(root: string, dirs: string[], match: RegExp): Promise<[string, number][]> {
  const out: [string, number][] = [];
  for (const dir of dirs) {
    for (const rel of await walk(root, dir)) {
      if (match.test(rel)) out.push([rel, (await stat(path.join(root, rel))).mtimeMs]);
    }
  }
  return out;
}

/** Files under `rel` (a file gives itself); none when it does not exist. */
/**
 * The files under `rel`, sorted. Synchronous on purpose, as is the hashing below: ~500 small
 * files, read one after the other, cost ~0.1 s of every `add` through awaited reads.
 */
function walk(root: string, rel: string): string[] {
  const full = path.join(root, rel);
  let st: Stats;
  try {
    st = statSync(full);
  } catch {
    return [];
  }
  if (st.isFile()) return [rel];
  if (!st.isDirectory()) return [];
  return readdirSync(full)
    .sort()
    .flatMap((e) => walk(root, path.posix.join(rel, e)));
}

/**
 * A hash of what `npm pack` takes (package.json `files`, taken widely: negations ignored),
 * so the cache holds one tarball per package content, not merely per version.
 */
async function packageFingerprint(root: string): Promise<string> {
  const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { files?: string[] };
  const entries = ['package.json', ...(pkg.files ?? []).filter((f) => !f.startsWith('!'))];
  const hash = createHash('sha256');
  for (const entry of entries) {
    for (const rel of walk(root, entry)) {
      hash.update(`${rel}\0`);
      hash.update(readFileSync(path.join(root, rel)));
      hash.update('\0');
    }
  }
  return hash.digest('hex').slice(0, 16);
}
