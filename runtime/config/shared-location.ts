/**
 * Two databases must never replicate to one location: their generations would mix in one
 * `generations/` folder, and a restore of one could return the other's tables (the newest
 * generation wins, whoever wrote it).
 */
import { resolve } from 'node:path';
import { UserError } from '../errors.js';
import type { Config, ReplicaConfig } from './types.js';

/** Where a replica's objects live, normalised so two spellings of one place compare equal. */
export function replicaLocation(r: ReplicaConfig): string {
  const prefix = r.path.split('/').filter(Boolean).join('/');
  switch (r.type) {
    case 'file':
      return `file:${resolve(r.path)}`;
    case 's3':
      return `s3:${(r.endpoint ?? '').replace(/\/+$/, '')}|${r.bucket}|${prefix}`;
    case 'abs':
      return `abs:${r.endpoint ?? r.accountName ?? ''}|${r.bucket}|${prefix}`;
    case 'sftp':
      return `sftp:${r.user ?? ''}@${r.host}|${prefix}`;
    case 'gcs':
      return `gcs:${(r.endpoint ?? '').replace(/\/+$/, '')}|${r.bucket}|${prefix}`;
  }
}

/** Throws naming both databases when two of them share a replica location. */
export function assertDistinctReplicaLocations(config: Config): void {
  const seen = new Map<string, { db: string; replica: string }>();
  for (const db of config.dbs) {
    for (const r of db.replicas) {
      const key = replicaLocation(r);
      const prev = seen.get(key);
      if (prev && prev.db !== db.path) {
        throw new UserError(
          `${config.source ?? 'config'}: databases ${prev.db} (replica "${prev.replica}") and ${db.path} ` +
            `(replica "${r.name}") replicate to the same location`,
          {
            hint: 'Give each database its own replica path (e.g. path: app and path: jobs): a restore would otherwise mix their generations.',
          },
        );
      }
      if (!prev) seen.set(key, { db: db.path, replica: r.name });
    }
  }
}
