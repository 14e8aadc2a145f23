/**
 * Azure: the generated litestream.yml reaches https://<account>.blob.core.windows.net, as in
 * production. In the sidecar that name points at 127.0.0.1 (extra_hosts), where a TLS proxy
 * with a throwaway certificate for it (trusted through NODE_EXTRA_CA_CERTS) forwards to
 * Azurite, which reads the account from the host name like the real service.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { AZURITE_ACCOUNT, type AzuriteServer, startAzurite } from '../services/azurite.js';
import { deploymentScenario } from './scenario.js';

const CONTAINER = 'notes-api-backups';
const HOST = `${AZURITE_ACCOUNT}.blob.core.windows.net`;
let azurite: AzuriteServer | undefined;
let proxy: Server | undefined;
const open = new Set<Socket>();
let certDir = '';

async function startTlsProxy443(targetPort: number): Promise<void> {
  certDir = await mkdtemp(join(tmpdir(), 'ls-mix-e2e-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      join(certDir, 'tls.key'),
      '-out',
      join(certDir, 'tls.crt'),
      '-days',
      '1',
      '-subj',
      `/CN=${HOST}`,
      '-addext',
      `subjectAltName=DNS:${HOST}`,
    ],
    { stdio: 'ignore' },
  );
  // Mounted into the sidecar, which runs as the app's uid: the certificate must be readable.
  await chmod(certDir, 0o755);
  await chmod(join(certDir, 'tls.crt'), 0o644);
  const server = createServer(
    { cert: await readFile(join(certDir, 'tls.crt')), key: await readFile(join(certDir, 'tls.key')) },
    (client) => {
      const upstream = connect(targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        open.add(s);
        s.on('error', () => s.destroy());
        s.on('close', () => {
          open.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new Error(`port 443 on 127.0.0.1 is needed for the Azure e2e test: ${err.message}`)),
    );
    server.listen(443, '127.0.0.1', () => resolve());
  });
  proxy = server;
}

deploymentScenario({
  mix: 'litestream-azure',
  async start() {
    azurite = await startAzurite();
    await azurite.createContainer(CONTAINER);
    await startTlsProxy443(azurite.port);
  },
  async stop() {
    for (const s of open) s.destroy();
    await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
    await azurite?.stop();
    if (certDir) await rm(certDir, { recursive: true, force: true });
  },
  secrets: () => ({
    AZURE_STORAGEACCOUNT: AZURITE_ACCOUNT,
    AZURE_CONTAINER: CONTAINER,
    AZURE_ACCOUNT_KEY: azurite?.credentials.accountKey ?? '',
  }),
  sidecarEnv: () => ({ NODE_EXTRA_CA_CERTS: '/e2e/tls.crt' }),
  sidecarOverride: () => ({
    extra_hosts: [`${HOST}:127.0.0.1`],
    volumes: [`${certDir}:/e2e:ro`],
  }),
  async listReplica(prefix) {
    if (!azurite) return [];
    const service = new BlobServiceClient(
      azurite.endpoint,
      new StorageSharedKeyCredential(azurite.credentials.accountName, azurite.credentials.accountKey),
    );
    const names: string[] = [];
    for await (const b of service.getContainerClient(CONTAINER).listBlobsFlat({ prefix: `${prefix}/` })) {
      names.push(b.name.slice(prefix.length + 1));
    }
    return names;
  },
});
