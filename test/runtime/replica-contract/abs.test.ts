import { afterAll, beforeAll } from 'vitest';
import { createAbsReplicaClient } from '../../../runtime/replica/abs.js';
import { type AzuriteServer, startAzurite } from '../../services/azurite.js';
import { replicaContract } from './contract.js';

let azurite: AzuriteServer;
beforeAll(async () => {
  azurite = await startAzurite();
  await azurite.createContainer('contract');
});
afterAll(async () => {
  await azurite?.stop();
});

replicaContract('abs (Azurite)', {
  open: (path, opts) =>
    createAbsReplicaClient(
      {
        type: 'abs',
        name: 'abs',
        path,
        bucket: 'contract',
        endpoint: azurite.endpoint,
        accountName: azurite.credentials.accountName,
        accountKey: azurite.credentials.accountKey,
        retention: 0,
        retentionCheckInterval: 0,
        syncInterval: 1000,
        snapshotInterval: 0,
        validationInterval: 0,
      },
      { memoryLimit: opts?.memoryLimit },
    ),
});
