/**
 * Restore over real storage servers on 127.0.0.1: the Litestream v0.3.13 fixture objects are
 * uploaded as-is (in their original time order) to Azurite, Ceph RGW and OpenSSH, then restored
 * through the same code path as `ls-mix restore`.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplicaConfig } from '../../../runtime/config/types.js';
import { parseKey } from '../../../runtime/format/layout.js';
import type { ReplicaClient } from '../../../runtime/replica/client.js';
import { openReplicaClient } from '../../../runtime/replica/index.js';
import { restoreDatabase } from '../../../runtime/restore.js';
import { type AzuriteServer, startAzurite } from '../../services/azurite.js';
import { type RgwServer, startRgw } from '../../services/rgw.js';
import { type SshdServer, startSshd } from '../../services/sshd.js';
import { ageOf, FIXTURES, integrity, manifest, prepareCase, tableContents } from './fixture-helpers.js';

const ROOT = join(import.meta.dirname, '../../..');
const base = {
  retention: 0,
  retentionCheckInterval: 0,
  syncInterval: 1000,
  snapshotInterval: 0,
  validationInterval: 0,
};
const CASES: Array<{ name: string; args: { index?: number }; expect: string }> = [
  { name: 'basic', args: {}, expect: 'expected/latest.db' },
  { name: 'multi-index', args: { index: 5 }, expect: 'expected/index-5.db' },
  { name: 'large-pages', args: {}, expect: 'expected/latest.db' },
  { name: 'age-encrypted', args: {}, expect: 'expected/latest.db' },
];

let out: string;
beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'ls-mix-restore-storage-'));
});
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Upload a fixture case's objects, byte for byte, oldest first. */
async function upload(client: ReplicaClient, name: string): Promise<void> {
  const dir = prepareCase(name);
  try {
    const keys = Object.entries(manifest.cases[name].mtimes).sort((a, b) => a[1].localeCompare(b[1]));
    for (const [key] of keys) {
      const p = parseKey(key)!;
      const body = createReadStream(join(dir, 'replica', key));
      if (p.kind === 'snapshot') await client.writeSnapshot(p.generation, p.index, body);
      else await client.writeWalSegment(p, body);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function storageSuite(
  label: string,
  start: () => Promise<(path: string) => ReplicaConfig>,
  stop: () => Promise<void>,
  more?: () => void,
) {
  describe(label, () => {
    let config: (path: string) => ReplicaConfig;
    beforeAll(async () => {
      config = await start();
    }, 180_000);
    afterAll(stop);

    for (const c of CASES) {
      it(`restores ${c.name} ${JSON.stringify(c.args)}`, async () => {
        const cfg = config(`restore-${c.name}`);
        const client = await openReplicaClient(cfg);
        try {
          await upload(client, c.name);
          const age = c.name === 'age-encrypted' ? ageOf(join(FIXTURES, c.name)) : undefined;
          const dest = join(out, `${label.split(' ')[0]}-${c.name}.db`);
          const r = await restoreDatabase({
            replicas: [{ name: cfg.name, client, age }],
            outputPath: dest,
            ...c.args,
          });
          expect(r.replica).toBe(cfg.name);
          expect(tableContents(dest).json).toBe(tableContents(join(FIXTURES, c.name, c.expect)).json);
          expect(integrity(dest)).toBe('ok');
        } finally {
          await client.close();
        }
      });
    }
    more?.();
  });
}

let azurite: AzuriteServer | undefined;
storageSuite(
  'abs (Azurite)',
  async () => {
    azurite = await startAzurite();
    await azurite.createContainer('restore');
    return (path) => ({
      ...base,
      type: 'abs',
      name: 'abs',
      path,
      bucket: 'restore',
      endpoint: azurite!.endpoint,
      accountName: azurite!.credentials.accountName,
      accountKey: azurite!.credentials.accountKey,
    });
  },
  async () => azurite?.stop(),
);

let sshd: SshdServer | undefined;
storageSuite(
  'sftp (OpenSSH)',
  async () => {
    sshd = await startSshd();
    return (path) => ({
      ...base,
      type: 'sftp',
      name: 'sftp',
      path: `${sshd!.root}/${path}`,
      host: `${sshd!.host}:${sshd!.port}`,
      user: sshd!.user,
      keyPath: sshd!.keyPath,
      hostKey: sshd!.hostKey,
    });
  },
  async () => sshd?.stop(),
);

let rgw: RgwServer | undefined;
storageSuite(
  's3 (Ceph RGW)',
  async () => {
    rgw = await startRgw();
    await rgw.createBucket('restore');
    return (path) => ({
      ...base,
      type: 's3',
      name: 's3',
      path,
      bucket: 'restore',
      endpoint: rgw!.endpoint,
      forcePathStyle: true,
      accessKeyId: rgw!.credentials.accessKeyId,
      secretAccessKey: rgw!.credentials.secretAccessKey,
    });
  },
  async () => rgw?.stop(),
  () => {
    it('the real CLI restores from an s3:// URL with ?endpoint= and credentials from the environment', () => {
      expect(existsSync(join(ROOT, 'dist/src/commands/restore.js'))).toBe(true);
      const url = `s3://restore/restore-basic?endpoint=127.0.0.1:${rgw!.port}&region=${rgw!.region}`;
      const env = {
        ...process.env,
        LITESTREAM_ACCESS_KEY_ID: rgw!.credentials.accessKeyId,
        LITESTREAM_SECRET_ACCESS_KEY: rgw!.credentials.secretAccessKey,
      };
      const dest = join(out, 'cli-s3.db');
      const r = spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), 'restore', '-o', dest, url], {
        env,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.stderr).not.toMatch(/Error/);
      expect(r.status).toBe(0);
      expect(tableContents(dest).json).toBe(tableContents(join(FIXTURES, 'basic/expected/latest.db')).json);
      expect(r.stderr).not.toContain(rgw!.credentials.secretAccessKey);
    });
  },
);
