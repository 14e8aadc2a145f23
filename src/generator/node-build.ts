/**
 * How the Node Dockerfile installs, builds, prunes and starts the app, as the repo's own
 * package manager does it: npm, Yarn classic, Yarn Berry (`--immutable`, `workspaces focus`),
 * pnpm (workspace filters, build approvals of pnpm 10+), corepack pinned by `packageManager`,
 * Prisma (`generate` in the build, `migrate deploy` before the app starts).
 */
import path from 'node:path';
import { type Migration, nodeMigration } from './migration.js';
import type { NodeBuildFacts, ProjectFacts } from './types.js';

const LOCKFILE = { npm: 'package-lock.json', yarn: 'yarn.lock', pnpm: 'pnpm-lock.yaml' } as const;
/** corepack from npm: Node 25+ no longer ships it, and it pins the project's Yarn / pnpm. */
export const COREPACK_VERSION = '0.34.6';

export interface NodeCommands {
  version: string;
  pm: 'npm' | 'yarn' | 'pnpm';
  corepack: boolean;
  corepackVersion: string;
  /** Files copied to ./ before installing. */
  manifestFiles: string[];
  /** Folders and workspace manifests copied to their own place before installing. */
  copies: string[];
  /** pnpm 10+: native packages to allow building (the project's pnpm-workspace.yaml does not). */
  approveBuilds: string[];
  install: string;
  prismaGenerate?: string;
  /** The build command (also used by the .NET Dockerfile's UI stage). */
  build: string;
  /** package.json has a build script. */
  runBuild: boolean;
  prune?: string;
  /** Why dev dependencies stay (no prune). */
  keepDevReason?: string;
  /** The app's folder inside the image (/app or /app/<workspace>). */
  workdir: string;
  start: string[];
  /** The one-shot `migrate` service's command (Prisma's `migrate deploy`, a `migrate` script). */
  migration?: Migration;
}

const EMPTY_BUILD: NodeBuildFacts = {
  workspaceManifests: [],
  configFiles: [],
  configDirs: [],
  yarnBerry: false,
  yarnPnp: false,
  pnpmUnapprovedBuilds: [],
};

export function nodeCommands(facts: ProjectFacts): NodeCommands {
  const b = facts.nodeBuild ?? EMPTY_BUILD;
  const pm = facts.packageManager.value;
  const locked = facts.hasLockfile ?? false;
  const app = b.appDir;
  const pkgName = b.appPackage ?? app ?? '.';
  const manifestFiles = ['package.json', ...(locked ? [LOCKFILE[pm]] : []), ...b.configFiles];
  const copies = [...b.configDirs, ...b.workspaceManifests];

  let install: string;
  let build: string;
  let prune: string | undefined;
  let exec: string;
  if (pm === 'npm') {
    install = locked ? 'npm ci' : 'npm install';
    build = app ? `npm run build --workspace ${app}` : 'npm run build';
    prune = 'npm prune --omit=dev';
    exec = app ? `npm exec --workspace ${app} --` : 'npx --no-install';
  } else if (pm === 'pnpm') {
    const filter = app ? ` --filter "${pkgName}..."` : '';
    install = `pnpm install${locked ? ' --frozen-lockfile' : ''}${filter}`;
    build = app ? `pnpm --filter "${pkgName}" run build` : 'pnpm run build';
    // Reinstalling with --prod drops the dev dependencies (from the store: no download, the
    // native builds come from pnpm's side-effects cache); no TTY to confirm the purge.
    prune = `pnpm install --prod${locked ? ' --frozen-lockfile' : ''} --offline --config.confirm-modules-purge=false${filter}`;
    exec = app ? `pnpm --filter "${pkgName}" exec` : 'pnpm exec';
  } else if (b.yarnBerry) {
    install = locked ? 'yarn install --immutable' : 'yarn install';
    build = app ? `yarn workspace ${pkgName} run build` : 'yarn run build';
    prune = app ? `yarn workspaces focus --production ${pkgName}` : 'yarn workspaces focus --production';
    exec = app ? `yarn workspace ${pkgName} exec` : 'yarn exec';
  } else {
    install = locked ? 'yarn install --frozen-lockfile' : 'yarn install';
    build = app ? `yarn workspace ${pkgName} run build` : 'yarn run build';
    prune = locked ? 'yarn install --production --frozen-lockfile' : 'yarn install --production';
    exec = app ? `yarn workspace ${pkgName} run` : 'yarn run';
  }

  let start = facts.startCommand ?? ['npm', 'start'];
  if (b.yarnPnp && start[0] === 'node') {
    // Plug'n'Play: Yarn's resolver (and for ES modules its loader) instead of node_modules.
    const esm = b.esm ? ['--loader', '/app/.pnp.loader.mjs'] : [];
    start = ['node', '--require', '/app/.pnp.cjs', ...esm, ...start.slice(1)];
  }
  let prismaGenerate: string | undefined;
  let keepDevReason: string | undefined;
  const schema = b.prismaSchema ? relTo(app, b.prismaSchema) : undefined;
  if (schema) {
    prismaGenerate = `${exec} prisma generate --schema ${schema}`;
    // `migrate deploy` runs where the db is: in the one-shot `migrate` service (this image, the
    // volume's db), after the restore and before the app.
    if (b.prismaCliIsDev) {
      prune = undefined;
      keepDevReason =
        '`prisma migrate deploy` runs in the `migrate` service from this image and `prisma` is a devDependency: dev dependencies stay (move prisma to dependencies to drop them).';
    }
  }
  return {
    version: facts.nodeVersion.value,
    pm,
    corepack: pm !== 'npm',
    corepackVersion: COREPACK_VERSION,
    manifestFiles,
    copies,
    approveBuilds: b.pnpmUnapprovedBuilds,
    install,
    prismaGenerate,
    build,
    runBuild: facts.hasBuildScript ?? false,
    prune,
    keepDevReason,
    workdir: app ? `/app/${app}` : '/app',
    start,
    migration: nodeMigration(facts, schema),
  };
}

function relTo(app: string | undefined, p: string): string {
  return app ? path.posix.relative(app, p) : p;
}
