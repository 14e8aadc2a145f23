import * as v from 'valibot';
import { parseDuration } from './duration.js';

/**
 * The raw shape of litestream.yml (kebab-case keys, as written). Strict objects: an unknown key
 * is an error. Durations are Go duration strings, turned into milliseconds here.
 *
 * Valibot, not zod: every runtime command (replicate, restore) loads this; with zod a restore
 * that fails at once (what loading costs) held 62.5–64 MiB, with valibot 58.5–59 (issue 17).
 */
const duration = v.pipe(
  v.union([v.string(), v.number()], 'expected a duration such as 1s, 100ms, 4h, 1h30m'),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const value = dataset.value;
    const ms = typeof value === 'number' ? (value === 0 ? 0 : undefined) : parseDuration(value);
    if (ms === undefined || ms < 0) {
      addIssue({
        message: `invalid duration ${JSON.stringify(value)} (use Go syntax such as 1s, 100ms, 4h, 1h30m)`,
      });
      return NEVER;
    }
    return ms;
  }),
);

const str = v.string();
// Values written as `$VAR` arrive as strings after expansion: "true" / "42" are read as YAML would.
const bool = v.pipe(
  v.unknown(),
  v.transform((value) => (value === 'true' ? true : value === 'false' ? false : value)),
  v.boolean(),
);
const count = v.pipe(
  v.unknown(),
  v.transform((value) => (typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value)),
  v.number(),
  v.integer('expected a whole number'),
  v.minValue(0, 'must not be negative'),
);
const pageCount = count;
const stringList = v.union(
  [
    v.pipe(
      v.string(),
      v.transform((s) => [s]),
    ),
    v.array(v.string()),
  ],
  'expected a string or a list of strings',
);

export const ageSchema = v.strictObject({
  recipients: v.optional(stringList),
  identities: v.optional(stringList),
});

export const replicaSchema = v.strictObject({
  type: v.optional(v.picklist(['file', 's3', 'abs', 'sftp', 'gcs'])),
  name: v.optional(str),
  path: v.optional(str),
  url: v.optional(str),
  retention: v.optional(duration),
  'retention-check-interval': v.optional(duration),
  'sync-interval': v.optional(duration),
  'snapshot-interval': v.optional(duration),
  'validation-interval': v.optional(duration),
  age: v.optional(ageSchema),
  // s3
  bucket: v.optional(str),
  region: v.optional(str),
  endpoint: v.optional(str),
  'force-path-style': v.optional(bool),
  'skip-verify': v.optional(bool),
  'access-key-id': v.optional(str),
  'secret-access-key': v.optional(str),
  // abs
  'account-name': v.optional(str),
  'account-key': v.optional(str),
  'sas-token': v.optional(str),
  'connection-string': v.optional(str),
  // sftp
  host: v.optional(str),
  user: v.optional(str),
  password: v.optional(str),
  'key-path': v.optional(str),
  passphrase: v.optional(str),
  'host-key': v.optional(str),
  'known-hosts-path': v.optional(str),
  'insecure-ignore-host-key': v.optional(bool),
});

export const upstreamSchema = v.strictObject({
  url: str,
  path: v.optional(str),
  token: v.optional(str),
  resync: v.optional(bool),
});

export const dbSchema = v.strictObject({
  path: str,
  'meta-path': v.optional(str),
  'monitor-interval': v.optional(duration),
  'checkpoint-interval': v.optional(duration),
  'min-checkpoint-page-count': v.optional(pageCount),
  'max-checkpoint-page-count': v.optional(pageCount),
  replicas: v.optional(v.array(replicaSchema)),
  upstream: v.optional(upstreamSchema),
});

export const loggingSchema = v.strictObject({
  // As Litestream (Go's slog): case-insensitive, `warning` = `warn`.
  level: v.optional(
    v.pipe(
      v.unknown(),
      v.transform((value) =>
        typeof value === 'string'
          ? value
              .trim()
              .toLowerCase()
              .replace(/^warning$/, 'warn')
          : value,
      ),
      v.picklist(['trace', 'debug', 'info', 'warn', 'error']),
    ),
  ),
  type: v.optional(v.picklist(['text', 'json'])),
  stderr: v.optional(bool),
});

/** Limits of the HTTP server (addr): see runtime/server/limits.ts. */
export const httpSchema = v.strictObject({
  'max-connections': v.optional(count),
  'max-header-bytes': v.optional(count),
  'requests-per-second': v.optional(count),
  'idle-timeout': v.optional(duration),
  'live-max-pinned-bytes': v.optional(count),
});

export const fileSchema = v.strictObject({
  addr: v.optional(str),
  'auth-token': v.optional(str),
  http: v.optional(httpSchema),
  exec: v.optional(str),
  'shutdown-sync-timeout': v.optional(duration),
  'access-key-id': v.optional(str),
  'secret-access-key': v.optional(str),
  logging: v.optional(loggingSchema),
  dbs: v.optional(v.array(dbSchema)),
});

export type RawConfig = v.InferOutput<typeof fileSchema>;
export type RawDb = v.InferOutput<typeof dbSchema>;
export type RawReplica = v.InferOutput<typeof replicaSchema>;
