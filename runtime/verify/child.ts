/**
 * One verification in a child process, for `validation-interval` inside `replicate`: the
 * restore and integrity_check are CPU-heavy synchronous SQLite work that must not stall the
 * replicator's event loop, and reading the live db file from the replicator's own process
 * would drop its SQLite locks when the descriptor closes. The parent sends the job over IPC
 * (never argv: the replica config may hold credentials) and gets the report back.
 */
import type { ReplicaConfig } from '../config/types.js';
import { openReplicaClient } from '../replica/index.js';
import { verifyReplicas } from '../verify.js';

export interface VerifyJob {
  dbPath: string;
  replica: ReplicaConfig;
  scratchDir?: string;
}

process.once('message', async (job: VerifyJob) => {
  let code = 0;
  try {
    const client = await openReplicaClient(job.replica);
    try {
      const report = await verifyReplicas({
        dbPath: job.dbPath,
        replicas: [{ name: job.replica.name, client, age: job.replica.age }],
        scratchDir: job.scratchDir,
      });
      process.send?.({ report });
    } finally {
      await client.close();
    }
  } catch (err) {
    process.send?.({ error: (err as Error).message });
    code = 1;
  }
  process.disconnect?.();
  process.exitCode = code;
});
