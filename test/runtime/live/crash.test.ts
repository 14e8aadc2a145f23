/**
 * A live replica SIGKILLed in the middle of applying (a 12 MB first snapshot, then a busy primary's batches)
 * restarts without a divergence error, resumes, and ends equal to the primary: the open SQLite
 * transaction rolls back and the recorded position matches what was committed.
 * Build first: npx tsc -p tsconfig.build.json
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { dumpDb, integrityCheck } from '../../helpers/sqlite.js';
import { killPid, waitFor } from '../../services/process.js';
import { lastSeq, type Node, primaryNode, replicaNode, startBank } from './harness.js';

let dir: string | undefined;
const nodes: Node[] = [];
const others: ChildProcess[] = [];

afterEach(async () => {
  for (const c of others.splice(0)) await killPid(c.pid, 2_000);
  for (const n of nodes.splice(0)) await n.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('live replica crash mid-apply', { timeout: 150_000 }, () => {
  it('a replica killed while applying a snapshot and big batches resumes and converges', async () => {
    dir = mkdtempSync(join(tmpdir(), 'live-crash-'));
    const primary = await primaryNode(dir);
    const replica = await replicaNode(dir, 'replica', primary);
    nodes.push(primary, replica);

    // 12 MB before the replica exists: its first snapshot takes a while to apply.
    const seed = new Database(primary.db);
    seed.pragma('journal_mode = wal');
    seed.exec('CREATE TABLE big (id INTEGER PRIMARY KEY, data BLOB)');
    seed.exec(
      'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12000) ' +
        'INSERT INTO big (data) SELECT randomblob(1000) FROM n',
    );
    seed.close();

    primary.start();
    await primary.waitHealthy();
    replica.start();
    await waitFor(
      'replica connected',
      () => /connected to the primary/.test(replica.log()),
      30_000,
      () => replica.log(),
    );
    await sleep(150);
    replica.kill();
    await replica.exited();
    const killedMidSnapshot = !/snapshot applied/.test(replica.log());

    replica.start();
    await replica.waitHealthy(60_000);

    // Continuous writes; every 97th transfer is a large one (300 rows).
    const bank = startBank(dir, primary.db, ['--interval', '1']);
    others.push(bank);
    for (let i = 0; i < 1; i++) {
      await waitFor('replica applying', () => lastSeq(replica.db) > 0, 30_000).catch(() => undefined);
      await sleep(400 + i * 170);
      replica.kill();
      await replica.exited();
      replica.start();
      await replica.waitHealthy(60_000);
    }
    await killPid(bank.pid);
    const want = lastSeq(primary.db);
    await waitFor(
      `replica at seq ${want}`,
      () => lastSeq(replica.db) === want,
      30_000,
      () => replica.log(),
    );

    expect(replica.log()).not.toMatch(/does not match the primary/);
    expect(integrityCheck(replica.db)).toBe('ok');
    expect(dumpDb(replica.db)).toBe(dumpDb(primary.db));
    console.log(
      `crash: first kill landed ${killedMidSnapshot ? 'mid-snapshot' : 'after the snapshot'}; final seq ${want}`,
    );
  });
});
