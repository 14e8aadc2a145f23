/**
 * Live read replicas end to end: a primary and two replicas as separate `ls-mix replicate`
 * processes on 127.0.0.1, a write workload on the primary, readers on both replicas checking an
 * invariant all along; the primary and a replica are SIGKILLed and restarted mid-stream.
 * Build first: npx tsc -p tsconfig.build.json
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { restoreFileReplica } from '../../helpers/replica.js';
import { dumpDb, integrityCheck } from '../../helpers/sqlite.js';
import { killPid, waitFor } from '../../services/process.js';
import { InvariantReader, lastSeq, type Node, primaryNode, replicaNode, startBank } from './harness.js';

let dir: string | undefined;
const nodes: Node[] = [];
const others: ChildProcess[] = [];
const readers: InvariantReader[] = [];

afterEach(async () => {
  for (const r of readers.splice(0)) await r.stop();
  for (const c of others.splice(0)) await killPid(c.pid, 2_000);
  for (const n of nodes.splice(0)) await n.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function exitedOk(c: ChildProcess): Promise<number | null> {
  return c.exitCode !== null ? Promise.resolve(c.exitCode) : new Promise((r) => c.once('exit', r));
}

async function converged(primary: Node, replicas: Node[], timeoutMs = 30_000): Promise<void> {
  const want = lastSeq(primary.db);
  for (const r of replicas) {
    await waitFor(
      `${r.name} at seq ${want}`,
      () => lastSeq(r.db) === want,
      timeoutMs,
      () => r.log().slice(-3000),
    );
  }
}

describe('live read replicas', { timeout: 150_000 }, () => {
  it('two replicas follow a busy primary through kills and restarts; readers never see a broken invariant', async () => {
    dir = mkdtempSync(join(tmpdir(), 'live-'));
    const primary = await primaryNode(dir, { token: 'tok-123' });
    const a = await replicaNode(dir, 'replica-a', primary, { token: 'tok-123' });
    // replica-b also backs itself up (a replica's own `replicas:`).
    const backup = join(dir, 'b-backup');
    const b = await replicaNode(dir, 'replica-b', primary, {
      token: 'tok-123',
      extra: `    replicas:\n      - url: file://${backup}\n        sync-interval: 100ms`,
    });
    nodes.push(primary, a, b);

    // Some history before the replicas exist: they start from a snapshot.
    const seed = startBank(dir, primary.db, ['--count', '100', '--interval', '0']);
    others.push(seed);
    expect(await exitedOk(seed)).toBe(0);
    primary.start();
    await primary.waitHealthy();
    a.start();
    b.start();
    await a.waitHealthy();
    await b.waitHealthy();
    expect(a.log()).toMatch(/snapshot applied/);

    const readA = new InvariantReader(a.db);
    const readB = new InvariantReader(b.db);
    readers.push(readA, readB);
    readA.start();
    readB.start();

    // Phase 1: steady writes (with VACUUMs: pages move, the db shrinks and grows).
    const bank = startBank(dir, primary.db, ['--interval', '2', '--vacuum-every', '400']);
    others.push(bank);
    await waitFor('1500 transfers', () => lastSeq(primary.db) >= 1500, 60_000);

    // Phase 2: the primary dies mid-stream (SIGKILL) while the app keeps writing, then returns.
    primary.kill();
    await primary.exited();
    await waitFor('app writes while the primary is down', () => lastSeq(primary.db) >= 1900, 30_000);
    primary.start();
    await primary.waitHealthy();

    // Phase 3: a replica dies mid-stream and comes back: it resumes from its own position.
    await waitFor('more transfers', () => lastSeq(primary.db) >= 2300, 30_000);
    a.kill();
    await a.exited();
    await waitFor('writes while replica-a is down', () => lastSeq(primary.db) >= 2600, 30_000);
    a.start();
    await a.waitHealthy();

    await killPid(bank.pid);
    await converged(primary, [a, b]);
    await readA.stop();
    await readB.stop();

    expect(readA.violations).toEqual([]);
    expect(readB.violations).toEqual([]);
    expect(readA.checks + readB.checks).toBeGreaterThan(2000);
    expect(readA.quickChecks).toBeGreaterThan(10);
    for (const r of [a, b]) {
      expect(integrityCheck(r.db)).toBe('ok');
      expect(dumpDb(r.db)).toBe(dumpDb(primary.db));
    }
    // replica-b's own backup restores to the same database.
    await b.stop();
    const restored = join(dir, 'restored.db');
    await restoreFileReplica(backup, restored);
    expect(dumpDb(restored)).toBe(dumpDb(primary.db));
    // replica-a resumed (no divergence error) and reconnected after the primary's restart.
    expect(a.log()).toMatch(/resuming from its position/);
    expect(b.log()).toMatch(/connection to the primary lost; reconnecting/);
    expect(`${a.log()}${b.log()}`).not.toMatch(/ERROR/);
    console.log(
      `live: ${readA.checks + readB.checks} invariant checks (${readA.quickChecks + readB.quickChecks} quick_checks), ` +
        `final seq ${lastSeq(primary.db)}`,
    );
  });
});
