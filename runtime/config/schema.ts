import { z } from 'zod';
import { parseDuration } from './duration.js';

/**
 * The raw shape of litestream.yml (kebab-case keys, as written). Strict objects: an unknown key
 * is an error. Durations are Go duration strings, turned into milliseconds here.
 */
const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = typeof v === 'number' ? (v === 0 ? 0 : undefined) : parseDuration(v);
  if (ms === undefined || ms < 0) {
    ctx.addIssue({
      code: 'custom',
      message: `invalid duration ${JSON.stringify(v)} (use Go syntax such as 1s, 100ms, 4h, 1h30m)`,
    });
    return z.NEVER;
  }
  return ms;
});

const str = z.string();
// Values written as `$VAR` arrive as strings after expansion: "true" / "42" are read as YAML would.
const bool = z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());
const count = z.preprocess(
  (v) => (typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v),
  z.number().int().nonnegative(),
);
const pageCount = count;
const stringList = z.union([z.string().transform((s) => [s]), z.array(z.string())]);

export const ageSchema = z.strictObject({
  recipients: stringList.optional(),
  identities: stringList.optional(),
});

export const replicaSchema = z.strictObject({
  type: z.enum(['file', 's3', 'abs', 'sftp', 'gcs']).optional(),
  name: str.optional(),
  path: str.optional(),
  url: str.optional(),
  retention: duration.optional(),
  'retention-check-interval': duration.optional(),
  'sync-interval': duration.optional(),
  'snapshot-interval': duration.optional(),
  'validation-interval': duration.optional(),
  age: ageSchema.optional(),
  // s3
  bucket: str.optional(),
  region: str.optional(),
  endpoint: str.optional(),
  'force-path-style': bool.optional(),
  'skip-verify': bool.optional(),
  'access-key-id': str.optional(),
  'secret-access-key': str.optional(),
  // abs
  'account-name': str.optional(),
  'account-key': str.optional(),
  'sas-token': str.optional(),
  'connection-string': str.optional(),
  // sftp
  host: str.optional(),
  user: str.optional(),
  password: str.optional(),
  'key-path': str.optional(),
  passphrase: str.optional(),
  'host-key': str.optional(),
  'known-hosts-path': str.optional(),
  'insecure-ignore-host-key': bool.optional(),
});

export const upstreamSchema = z.strictObject({
  url: str,
  path: str.optional(),
  token: str.optional(),
  resync: bool.optional(),
});

export const dbSchema = z.strictObject({
  path: str,
  'meta-path': str.optional(),
  'monitor-interval': duration.optional(),
  'checkpoint-interval': duration.optional(),
  'min-checkpoint-page-count': pageCount.optional(),
  'max-checkpoint-page-count': pageCount.optional(),
  replicas: z.array(replicaSchema).optional(),
  upstream: upstreamSchema.optional(),
});

export const loggingSchema = z.strictObject({
  // As Litestream (Go's slog): case-insensitive, `warning` = `warn`.
  level: z
    .preprocess(
      (v) =>
        typeof v === 'string'
          ? v
              .trim()
              .toLowerCase()
              .replace(/^warning$/, 'warn')
          : v,
      z.enum(['trace', 'debug', 'info', 'warn', 'error']),
    )
    .optional(),
  type: z.enum(['text', 'json']).optional(),
  stderr: bool.optional(),
});

/** Limits of the HTTP server (addr): see runtime/server/limits.ts. */
export const httpSchema = z.strictObject({
  'max-connections': count.optional(),
  'max-header-bytes': count.optional(),
  'requests-per-second': count.optional(),
  'idle-timeout': duration.optional(),
  'live-max-pinned-bytes': count.optional(),
});

export const fileSchema = z.strictObject({
  addr: str.optional(),
  'auth-token': str.optional(),
  http: httpSchema.optional(),
  exec: str.optional(),
  'shutdown-sync-timeout': duration.optional(),
  'access-key-id': str.optional(),
  'secret-access-key': str.optional(),
  logging: loggingSchema.optional(),
  dbs: z.array(dbSchema).optional(),
});

export type RawConfig = z.output<typeof fileSchema>;
export type RawDb = z.output<typeof dbSchema>;
export type RawReplica = z.output<typeof replicaSchema>;
