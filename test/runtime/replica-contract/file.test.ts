import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { createFileReplicaClient } from '../../../runtime/replica/file.js';
import { replicaContract } from './contract.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ls-mix-contract-file-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

replicaContract('file', {
  open: async (path) => createFileReplicaClient({ path: join(dir, path), name: 'file' }),
});
