import { afterAll, beforeAll } from 'vitest';
import { createSftpReplicaClient } from '../../../runtime/replica/sftp.js';
import { type SshdServer, startSshd } from '../../services/sshd.js';
import { replicaContract } from './contract.js';

let sshd: SshdServer;
beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

replicaContract('sftp (OpenSSH)', {
  open: (path, opts) =>
    createSftpReplicaClient(
      {
        type: 'sftp',
        name: 'sftp',
        path: `${sshd.root}/${path}`,
        host: `${sshd.host}:${sshd.port}`,
        user: sshd.user,
        keyPath: sshd.keyPath,
        hostKey: sshd.hostKey,
        retention: 0,
        retentionCheckInterval: 0,
        syncInterval: 1000,
        snapshotInterval: 0,
        validationInterval: 0,
      },
      { memoryLimit: opts?.memoryLimit },
    ),
});
