/**
 * The validated, typed form of litestream.yml (DESIGN.md section 3). Durations are
 * milliseconds; every default is already applied by the loader.
 */
export type ReplicaType = 'file' | 's3' | 'abs' | 'sftp' | 'gcs';

export interface AgeConfig {
  /** age public keys (age1...) objects are encrypted to. */
  recipients: string[];
  /** age secret keys (AGE-SECRET-KEY-1...) used to decrypt on restore. */
  identities: string[];
}

export interface ReplicaConfig {
  type: ReplicaType;
  /** Unique per db; defaults to the type. */
  name: string;
  /** The URL it was given, if any (redact before logging: it may hold a password). */
  url?: string;
  /** file: folder; s3/abs/sftp: key prefix inside the bucket/container/home. */
  path: string;
  retention: number;
  retentionCheckInterval: number;
  syncInterval: number;
  /** 0 = off */
  snapshotInterval: number;
  /** 0 = off */
  validationInterval: number;
  age?: AgeConfig;
  // s3
  bucket?: string;
  region?: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  skipVerify?: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
  // abs
  accountName?: string;
  accountKey?: string;
  /** Azure SAS token or connection string support. */
  sasToken?: string;
  connectionString?: string;
  // sftp
  host?: string;
  user?: string;
  password?: string;
  keyPath?: string;
  passphrase?: string;
  hostKey?: string;
  knownHostsPath?: string;
  insecureIgnoreHostKey?: boolean;
}

export interface UpstreamConfig {
  /** The primary's server (its `addr`), e.g. http://primary:9090. */
  url: string;
  /** The db's path on the primary (default: the same path as here). */
  path?: string;
  /** The primary's `auth-token`. */
  token?: string;
  /** Discard local changes of a diverged replica and copy the primary again. */
  resync?: boolean;
}

export interface DbConfig {
  path: string;
  metaPath?: string;
  monitorInterval: number;
  checkpointInterval: number;
  minCheckpointPageCount: number;
  maxCheckpointPageCount: number;
  replicas: ReplicaConfig[];
  upstream?: UpstreamConfig;
}

export interface LoggingConfig {
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  type: 'text' | 'json';
  stderr: boolean;
}

export interface HttpLimitsConfig {
  'max-connections'?: number;
  'max-header-bytes'?: number;
  'requests-per-second'?: number;
  /** ms */
  'idle-timeout'?: number;
  'live-max-pinned-bytes'?: number;
}

export interface Config {
  /** The file it was loaded from, when there was one. */
  source?: string;
  addr?: string;
  authToken?: string;
  /** Limits of the HTTP server (`http:` in the file). */
  http?: HttpLimitsConfig;
  /** Load-time warnings (an unset `$VAR` expanded to ""), each naming file, line and key. */
  warnings?: string[];
  exec?: string;
  /** shutdown-sync-timeout: how long the final sync on SIGTERM/SIGINT may take (ms). */
  shutdownSyncTimeout?: number;
  accessKeyId?: string;
  secretAccessKey?: string;
  logging: LoggingConfig;
  dbs: DbConfig[];
}

export const DEFAULTS = {
  monitorInterval: 1_000,
  checkpointInterval: 60_000,
  minCheckpointPageCount: 1000,
  maxCheckpointPageCount: 10_000,
  retention: 24 * 3_600_000,
  retentionCheckInterval: 3_600_000,
  syncInterval: 1_000,
  snapshotInterval: 0,
  validationInterval: 0,
  /** Well inside the generated compose file's stop_grace_period (1m). */
  shutdownSyncTimeout: 30_000,
  configPath: '/etc/litestream.yml',
} as const;
