import { afterAll, beforeAll } from 'vitest';
import { createS3ReplicaClient } from '../../../runtime/replica/s3.js';
import { type RgwServer, startRgw } from '../../services/rgw.js';
import { replicaContract } from './contract.js';

let rgw: RgwServer;
beforeAll(async () => {
  rgw = await startRgw();
  await rgw.createBucket('contract');
});
afterAll(async () => {
  await rgw?.stop();
});

replicaContract('s3 (Ceph RGW)', {
  open: (path, opts) =>
    createS3ReplicaClient(
      {
        type: 's3',
        name: 's3',
        path,
        bucket: 'contract',
        endpoint: rgw.endpoint,
        accessKeyId: rgw.credentials.accessKeyId,
        secretAccessKey: rgw.credentials.secretAccessKey,
        retention: 0,
        retentionCheckInterval: 0,
        syncInterval: 1000,
        snapshotInterval: 0,
        validationInterval: 0,
      },
      { memoryLimit: opts?.memoryLimit },
    ),
});
