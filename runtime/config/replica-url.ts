import type { ReplicaType } from './types.js';

/** The fields a replica URL sets. Placeholder until runtime/replica/url.ts lands. */
export interface ReplicaUrlFields {
  type: ReplicaType;
  path: string;
  bucket?: string;
  host?: string;
  user?: string;
  password?: string;
  endpoint?: string;
  region?: string;
  accountName?: string;
}

const TYPES: Record<string, ReplicaType> = { file: 'file', s3: 's3', abs: 'abs', sftp: 'sftp' };

/** Returns undefined for a URL whose scheme is not a replica type. A bare path is a file URL. */
export function replicaUrlFields(url: string): ReplicaUrlFields | undefined {
  const m = /^([a-z0-9+.-]+):\/\//i.exec(url);
  if (!m) return { type: 'file', path: url };
  const type = TYPES[m[1].toLowerCase()];
  if (!type) return undefined;
  const u = new URL(url);
  const path = decodeURIComponent(u.pathname);
  if (type === 'file') return { type, path };
  const rel = path.replace(/^\/+/, '');
  if (type === 's3') return { type, bucket: u.hostname, path: rel };
  if (type === 'abs') {
    return {
      type,
      bucket: u.hostname,
      path: rel,
      accountName: u.username ? decodeURIComponent(u.username) : undefined,
    };
  }
  return {
    type,
    host: u.port ? `${u.hostname}:${u.port}` : u.hostname,
    user: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    path,
  };
}
