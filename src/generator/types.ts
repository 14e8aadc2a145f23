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
  /** Node: the command the container runs. */
  startCommand?: string[];
  /** Node: whether package.json has a `build` script. */
  hasBuildScript?: boolean;
  /** Node: whether a lockfile exists (npm ci needs one). */
  hasLockfile?: boolean;
}

export interface Overrides {
  name?: string;
  variant?: string;
  port?: number;
  dbPath?: string;
  packageManager?: string;
  nodeVersion?: string;
  dotnetVersion?: string;
  /** The app's folder in a monorepo / multi-project solution (`--app`). */
  app?: string;
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
  /** What will be on disk after apply (for merged files: the merge result). */
  content: string;
  /** What is on disk now, when the file exists. */
  existing?: string;
  /** Why this status (shown in dry-run). */
  reason?: string;
  /** The existing file was merged with ours (never deleted by `remove`). */
  merged?: boolean;
  /** Only written when missing (Dockerfile, .dockerignore); --force overwrites. */
  createOnly?: boolean;
}

export interface SecretInfo {
  name: string;
  description: string;
  optional?: boolean;
}

export interface Plan {
  dir: string;
  mixes: string[];
  /** Storage mixes the manifest had that this plan replaces. */
  replaces: string[];
  storage: Storage;
  facts: ProjectFacts;
  files: PlannedFile[];
  secrets: SecretInfo[];
  notes: string[];
  generatorVersion: string;
}

export interface ApplyOptions {
  force?: boolean;
  skip?: boolean;
  dryRun?: boolean;
}

export interface ApplyResult {
  dryRun: boolean;
  files: { path: string; status: FileStatus; reason?: string }[];
  written: string[];
  manifest: string;
}
