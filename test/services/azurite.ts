/**
 * Azure Blob Storage for tests: the npm `azurite` blob service, in memory, on 127.0.0.1.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { freePort, killPid, ServerExited, spawnServer, tail, waitFor } from './process.js';

/** Azurite's well-known development account (public, documented by Microsoft). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteServer {
  /** Blob service URL: http://127.0.0.1:PORT/devstoreaccount1 */
  endpoint: string;
  port: number;
  credentials: { accountName: string; accountKey: string };
  createContainer(name: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startAzurite(): Promise<AzuriteServer> {
  const bin = resolve('node_modules/.bin/azurite-blob');
  if (!existsSync(bin)) throw new Error(`cannot start Azurite: ${bin} is missing — run npm ci`);
  const dir = await mkdtemp(join(tmpdir(), 'ls-mix-azurite-'));
  const port = await freePort();
  const log = join(dir, 'azurite.log');
  const child = spawnServer(
    process.execPath,
    [
      bin,
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      String(port),
      '--inMemoryPersistence',
      '--skipApiVersionCheck',
      '--disableTelemetry',
    ],
    log,
    dir,
  );
  const stop = async () => {
    await killPid(child.pid);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      `Azurite on 127.0.0.1:${port}`,
      () => {
        if (child.exitCode !== null) throw new ServerExited(`exited with code ${child.exitCode}`);
        return tail(log).includes('successfully listens');
      },
      30_000,
      () => tail(log),
    );
  } catch (err) {
    await stop();
    throw new Error(`cannot start Azurite: ${(err as Error).message}`);
  }
  const endpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  const credentials = { accountName: AZURITE_ACCOUNT, accountKey: AZURITE_KEY };
  return {
    endpoint,
    port,
    credentials,
    async createContainer(name) {
      const svc = new BlobServiceClient(
        endpoint,
        new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
      );
      await svc.getContainerClient(name).createIfNotExists();
    },
    stop,
  };
}
