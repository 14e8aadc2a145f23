/**
 * What each backup storage needs: the env vars the sidecar reads (all secrets), example
 * values for .env.example (never real ones) and the GitHub secrets to set.
 */
import type { SecretInfo, Storage } from './types.js';

export interface StorageInfo {
  label: string;
  /** Env vars the replication sidecar gets; litestream.yml references each as ${NAME}. */
  env: string[];
  /** Harmless example values for .env.example (empty for credentials). */
  example: [string, string][];
  secrets: SecretInfo[];
}

export const DEPLOY_SECRETS: SecretInfo[] = [
  { name: 'DEPLOY_HOST', description: 'server host name (also the domain the app is served on)' },
  { name: 'DEPLOY_PORT', description: 'SSH port of the server (usually 22)' },
  { name: 'DEPLOY_USERNAME', description: 'SSH user that can run docker' },
  { name: 'DEPLOY_KEY', description: 'SSH private key of that user' },
  { name: 'LETSENCRYPT_EMAIL', description: "contact e-mail for Let's Encrypt certificates" },
];

export const STORAGES: Record<Storage, StorageInfo> = {
  aws: {
    label: 'AWS S3',
    env: ['AWS_S3_BUCKET', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_ENDPOINT_URL_S3', 'AWS_REGION'],
    example: [
      ['AWS_S3_BUCKET', 'my-app-backups'],
      ['AWS_ACCESS_KEY_ID', ''],
      ['AWS_SECRET_ACCESS_KEY', ''],
      // Empty = AWS S3 itself; e.g. https://<account>.r2.cloudflarestorage.com for Cloudflare R2.
      ['AWS_ENDPOINT_URL_S3', ''],
      // Empty = discovered from the bucket (AWS); R2 wants `auto`.
      ['AWS_REGION', ''],
    ],
    secrets: [
      { name: 'AWS_S3_BUCKET', description: 'S3 bucket the replicas go to' },
      {
        name: 'AWS_ACCESS_KEY_ID',
        description: 'access key of an IAM user allowed to read/write that bucket',
      },
      { name: 'AWS_SECRET_ACCESS_KEY', description: 'its secret key' },
      {
        name: 'AWS_ENDPOINT_URL_S3',
        description:
          'optional: endpoint of an S3-compatible store (Cloudflare R2, Backblaze B2, Tigris, MinIO, Ceph); unset = AWS S3',
      },
      {
        name: 'AWS_REGION',
        description: 'optional: the bucket region (unset = discovered from the bucket; R2 wants `auto`)',
      },
    ],
  },
  azure: {
    label: 'Azure Blob Storage',
    env: ['AZURE_STORAGEACCOUNT', 'AZURE_CONTAINER', 'AZURE_ACCOUNT_KEY'],
    example: [
      ['AZURE_STORAGEACCOUNT', 'myappbackups'],
      ['AZURE_CONTAINER', 'my-app'],
      ['AZURE_ACCOUNT_KEY', ''],
    ],
    secrets: [
      { name: 'AZURE_STORAGEACCOUNT', description: 'storage account name' },
      { name: 'AZURE_CONTAINER', description: 'blob container the replicas go to' },
      { name: 'AZURE_ACCOUNT_KEY', description: 'storage account access key' },
    ],
  },
  sftp: {
    label: 'SFTP',
    env: ['SFTP_HOST', 'SFTP_PORT', 'SFTP_USERNAME', 'SFTP_PASSWORD', 'SFTP_HOST_KEY'],
    example: [
      ['SFTP_HOST', 'backup.example.org'],
      ['SFTP_PORT', '22'],
      ['SFTP_USERNAME', 'backup'],
      ['SFTP_PASSWORD', ''],
      ['SFTP_HOST_KEY', ''],
    ],
    secrets: [
      { name: 'SFTP_HOST', description: 'SFTP server host name' },
      { name: 'SFTP_PORT', description: 'its SSH port (usually 22)' },
      { name: 'SFTP_USERNAME', description: 'SFTP user' },
      {
        name: 'SFTP_PASSWORD',
        description: "its password (or log in with a key: see litestream.yml's key-path comment)",
      },
      {
        name: 'SFTP_HOST_KEY',
        description:
          'the SFTP server host key, checked on connect: one line of `ssh-keyscan -t ed25519 -p PORT HOST`',
      },
    ],
  },
};

/** Whether the sidecar reads this storage env var: the Go Litestream sidecar cannot check an SFTP host key. */
export function sidecarReads(name: string, sidecarKind?: string): boolean {
  return !(sidecarKind === 'litestream' && name === 'SFTP_HOST_KEY');
}

/**
 * The GitHub secrets to set; `fit` renames them to the user's existing names (a ServiceStack
 * mix's) and drops the SFTP host key for the Go Litestream sidecar, which cannot check one.
 */
export function secretsFor(
  storage: Storage,
  fit: { storageEnv?: Record<string, string>; sidecarKind?: string } = {},
): SecretInfo[] {
  const own = STORAGES[storage].secrets
    .filter((s) => sidecarReads(s.name, fit.sidecarKind))
    .map((s) => ({ ...s, name: fit.storageEnv?.[s.name] ?? s.name }));
  return [...DEPLOY_SECRETS, ...own];
}

/** `gh secret set` lines to copy, one per secret (keys read from a file, not typed). */
export function ghSecretLines(secrets: SecretInfo[]): string[] {
  return secrets.map((s) =>
    s.name === 'DEPLOY_KEY' ? 'gh secret set DEPLOY_KEY < ~/.ssh/id_ed25519' : `gh secret set ${s.name}`,
  );
}
