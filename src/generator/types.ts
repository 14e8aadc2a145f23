/**
 * Shared types of the generator: facts about the target repo, the catalog of mixes,
 * the in-memory plan and the result of applying it.
 */
export type Storage = 'aws' | 'azure' | 'sftp';
export type Runtime = 'dotnet' | 'node';
/** The app shapes a mix knows how to deploy. */
export type Variant =
  | 'web'
  | 'node'
  | 'blazor-server'
  | 'blazor-wasm'
  | 'blazor-tailwind'
  | 'vue-ssg'
  | 'vue-vite'
  | 'nextjs';
export const VARIANTS: readonly Variant[] = [
  'web',
  'node',
  'blazor-server',
  'blazor-wasm',
  'blazor-tailwind',
  'vue-ssg',
  'vue-vite',
  'nextjs',
];
export type PackageManager = 'npm' | 'yarn' | 'pnpm';

/** Where a fact came from: found in the repo, given as a flag, or a documented default. */
export type FactSource = 'detected' | 'flag' | 'default';
export interface Fact<T> {
  value: T;
  source: FactSource;
  /** The file it was read from (detected), the flag (flag), or why the default (default). */
  from: string;
  /**
   * The env var whose fallback this value is (`process.env.PORT ?? 3000`, appsettings "Urls"
   * under ASPNETCORE_URLS): the app takes that var first, so an ENV in its Dockerfile wins.
   */
  envDefault?: string;
}

export interface ProjectFacts {
  dir: string;
  name: Fact<string>;
  variant: Fact<Variant>;
  runtime: Runtime;
  port: Fact<number>;
  /** The db path as the app sees it (relative to the app's working dir, or absolute). */
  dbPath: Fact<string>;
  /** When the app reads its db path from an env var (`process.env.DB_PATH ?? 'x.db'`). */
  dbEnvVar?: string;
  packageManager: Fact<PackageManager>;
  nodeVersion: Fact<string>;
  dotnetVersion: Fact<string>;
  /** .NET: the web project to publish, relative to dir (posix). */
  csproj?: string;
  /** .NET jamstack: the JS UI folder built before the API (ServiceStack layout). */
  uiDir?: string;
  /** .NET: the published entry dll name. */
  assemblyName?: string;
  /** .NET: the connection string the app opens its db with (compose sets ConnectionStrings__<name>). */
  dbConnection?: { name: string; options: string[] };
  /** .NET: a csproj runs npm during publish (file + command), so the SDK stage needs Node. */
  dotnetBuildRunsNode?: string;
  /** .NET jamstack: the UI's install/build scripts run dotnet (file + script). */
  uiRunsDotnet?: string;
  /** What detection wants the user to know (an out-of-support runtime, ...). */
  detectNotes?: string[];
  /**
   * The env var a Node app takes its listen host from, with a loopback fallback (`HOST = 'localhost'`):
   * ls-mix's compose file sets it to 0.0.0.0 so nginx-proxy can reach the app in its container.
   */
  listenHostEnv?: { name: string; from: string };
  /** Node: the command the container runs. */
  startCommand?: string[];
  /**
   * Node: `npm start` would find nothing to run (no `start` script, no `main`, no server.js): the
   * scripts package.json has instead, as `name: command` (for the message).
   */
  noStartScript?: string[];
  /**
   * Node: an app the Dockerfile ls-mix writes cannot build or run (Bun, AdonisJS), and the sign
   * of it (`bun.lockb`, `package.json depends on @adonisjs/core`): it must keep a Dockerfile of its own.
   */
  ownDockerfile?: { kind: 'Bun' | 'AdonisJS'; why: string };
  /** Node: whether package.json has a `build` script. */
  hasBuildScript?: boolean;
  /** Node: the app's package.json `migrate` script (run by the one-shot `migrate` service). */
  migrateScript?: string;
  /** .NET: the migration the one-shot `migrate` service runs (ServiceStack AppTasks). */
  migration?: import('./migration.js').Migration;
  /** Node: whether a lockfile exists (npm ci needs one). */
  hasLockfile?: boolean;
  /** Node: the app reads its db path's folder (`dir`) or the file itself (`file`) from dbEnvVar. */
  dbEnvKind?: 'file' | 'dir';
  /** Node, `dir` kind: the db file's path inside that folder (`app.db`, `db/app.db`). */
  dbEnvFile?: string;
  /** Node: dbEnvVar holds a URL with this scheme (`file:` for Prisma / libsql). */
  dbUrlScheme?: string;
  /** Node: how the image installs, builds and starts the app (package manager files, workspace, Prisma). */
  nodeBuild?: NodeBuildFacts;
}

export interface NodeBuildFacts {
  /** The workspace package that is the app, relative to dir (posix); absent for a single package. */
  appDir?: string;
  /** Its package name (for `--filter` / `workspace focus`). */
  appPackage?: string;
  /** Every workspace's package.json (copied before installing so the lockfile matches). */
  workspaceManifests: string[];
  /** Files at the top that configure the install (.npmrc, .yarnrc.yml, pnpm-workspace.yaml, .nvmrc, ...). */
  configFiles: string[];
  /** Folders the install needs (.yarn/releases, .yarn/plugins, .yarn/patches, patches). */
  configDirs: string[];
  /** `packageManager` from package.json (corepack pins the version with it). */
  packageManagerSpec?: string;
  /** Yarn 2+ (Berry). */
  yarnBerry: boolean;
  /** Yarn Berry with Plug'n'Play (no node_modules folder). */
  yarnPnp: boolean;
  /** The app's package.json has `"type": "module"` (PnP then also needs Yarn's ESM loader). */
  esm?: boolean;
  /** pnpm: native SQLite packages the project does not allow to build (the Dockerfile rebuilds them). */
  pnpmUnapprovedBuilds: string[];
  /** Prisma schema relative to dir: `prisma generate` in the build, `migrate deploy` before start. */
  prismaSchema?: string;
  /** The `prisma` CLI is a devDependency (then dev dependencies stay in the image for migrate deploy). */
  prismaCliIsDev?: boolean;
  /** SQLite files of the repo that are not the live db (a seed / template the app copies): kept in the image. */
  seedDbFiles?: string[];
}

export interface Overrides {
  name?: string;
  variant?: string;
  port?: number;
  dbPath?: string;
  packageManager?: string;
  nodeVersion?: string;
  dotnetVersion?: string;
  /** The branch whose pushes release (default: the repo's default branch). */
  branch?: string;
  /** The compose service that runs the app, in a compose file of the user's. */
  service?: string;
  /** The app's folder in a monorepo / multi-project solution (`--app`). */
  app?: string;
  /** The external network of nginx-proxy (`--proxy-network`; `none`: no proxy). */
  proxyNetwork?: string;
  /** What the app publishes on the host (`--host-port 8080`, `127.0.0.1:8080`). */
  hostPort?: string;
  /** The replica's path in the storage (`--replica-path`; default `<app>/<db file>`, or a ServiceStack mix's). */
  replicaPath?: string;
  /** The replication sidecar: `ls-mix` (default) or `litestream` (the Go Litestream image). */
  sidecar?: string;
  /** Kept from a ServiceStack mix (remembered, so a re-run after its compose file is replaced keeps it): the db volume's name. */
  volume?: string;
  /** Kept from a ServiceStack mix: `OURS=THEIRS,...` storage env var names. */
  storageEnv?: string;
}

export interface MixDefinition {
  name: string;
  summary: string;
  storage: Storage;
  /** The variants this mix is made for. */
  variants: Variant[];
  tags: string[];
  /** Absolute path of the mix folder. */
  dir: string;
}

export type FileStatus = 'create' | 'identical' | 'update' | 'conflict' | 'skip' | 'force';

export interface PlannedFile {
  /** Relative to the project dir, posix separators. */
  path: string;
  status: FileStatus;
  /** What will be on disk after apply (for merged files: the merge result; for a binary file, a line describing it). */
  content: string;
  /** What is on disk now, when the file exists (for a binary file, a line describing it). */
  existing?: string;
  /** A binary file (the vendored ls-mix tarball): the bytes written, instead of content. */
  bytes?: Buffer;
  /** A binary file: the bytes on disk now. */
  existingBytes?: Buffer;
  /** Why this status (shown in dry-run). */
  reason?: string;
  /** The existing file was merged with ours (never deleted by `remove`). */
  merged?: boolean;
  /** Only written when missing (Dockerfile, .dockerignore); --force overwrites. */
  createOnly?: boolean;
  /** Merged compose file: what ls-mix adds (`services.litestream`, `volumes.x`, ...), for `remove`. */
  added?: string[];
  /** The file was there before ls-mix and is identical to ours by chance: `remove` keeps it. */
  preexisting?: boolean;
  /** Where the user's replaced content is (or will be) kept, relative to the project dir. */
  backup?: string;
}

export interface SecretInfo {
  name: string;
  description: string;
  optional?: boolean;
}

export interface Plan {
  dir: string;
  /** The git root when the project is inside a repo (the release workflow goes there). */
  gitRoot?: string;
  /** Flag values in force for this plan (given now or remembered in .ls-mix.json). */
  remembered: Overrides;
  mixes: string[];
  /** Storage mixes the manifest had that this plan replaces. */
  replaces: string[];
  storage: Storage;
  facts: ProjectFacts;
  /** The branch whose pushes run the release workflow. */
  branch: Fact<string>;
  /** The reverse proxy the app sits behind (nginx-proxy's network), and any host port it publishes. */
  proxy: import('./proxy.js').ProxySettings;
  /** The db as the containers see it (and the env var that tells the app, when ls-mix sets one). */
  containerDb: { path: string; envVar?: string; envValue?: string };
  files: PlannedFile[];
  /** Files an earlier run wrote that this plan makes obsolete (an older vendored tarball): apply deletes them. */
  obsolete: { path: string; reason: string }[];
  secrets: SecretInfo[];
  notes: string[];
  generatorVersion: string;
  /** The replication sidecar the compose file runs. */
  sidecar: SidecarKind;
  /** The user's own Dockerfile builds the app image (kept): Node/.NET versions and package manager are moot. */
  userDockerfile?: boolean;
  /** What was kept from a ServiceStack-mix deployment found in the project. */
  servicestack?: import('./servicestack-mix.js').ServiceStackMix;
}

export type SidecarKind = 'ls-mix' | 'litestream';
export const SIDECARS: readonly SidecarKind[] = ['ls-mix', 'litestream'];

export interface ApplyOptions {
  force?: boolean;
  skip?: boolean;
  /** Answer prompts yes: conflicts with the user's files are kept (never replaced). */
  yes?: boolean;
  dryRun?: boolean;
}

export interface ApplyResult {
  dryRun: boolean;
  files: { path: string; status: FileStatus; reason?: string }[];
  written: string[];
  /** Obsolete files of an earlier run that were deleted (or, on a dry run, would be). */
  deleted: string[];
  /** Copies of replaced files of the user's (project-relative). */
  backups: string[];
  manifest: string;
}
