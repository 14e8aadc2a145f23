/** Every litestream.yml example in docs/storage.md loads with the real config loader. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../runtime/config/index.js';

const doc = readFileSync(join(import.meta.dirname, '../../../docs/storage.md'), 'utf8');
const examples = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
const env = Object.fromEntries(
  [...new Set([...doc.matchAll(/\$\{([A-Z0-9_]+)\}/g)].map((m) => m[1]))].map((name) => [
    name,
    // Values of the shape the loader checks (account keys are base64).
    name.endsWith('ACCOUNT_KEY') || name.endsWith('AZURITE_KEY')
      ? Buffer.from(`x-${name}`).toString('base64')
      : `x-${name}`,
  ]),
);

describe('docs/storage.md examples', () => {
  it('has examples for every cloud backend', () => {
    const types = examples.map((y) => parseConfig(y, { env }).dbs[0].replicas[0].type);
    expect(new Set(types)).toEqual(new Set(['s3', 'abs', 'sftp', 'gcs']));
  });

  it.each(examples.map((y, i) => [i, y] as const))('example %i loads', (_i, yaml) => {
    const cfg = parseConfig(yaml, { env, source: 'docs/storage.md' });
    const r = cfg.dbs[0].replicas[0];
    expect(r.path).not.toBe('');
    if (r.type === 's3') expect(r.bucket).toBeTruthy();
    if (r.type === 'abs') expect(r.bucket && (r.accountName || r.connectionString)).toBeTruthy();
    if (r.type === 'gcs') expect(r.bucket).toBeTruthy();
    if (r.type === 'sftp') expect(r.host && r.user && (r.hostKey || r.knownHostsPath)).toBeTruthy();
  });
});
