/**
 * verifyReplicas against real replicas written by the real replicator: a good one (compared page
 * by page at the replicated position while the app keeps its WAL), a corrupted object, a missing
 * segment, and a replica that lags a fully checkpointed live database.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createFileReplicaClient } from '../../../runtime/replica/file.js';
import { verifyReplicas } from '../../../runtime/verify.js';
import { runWorkload } from '../../helpers/sqlite.js';
import { type Harness, harness } from '../replicate/harness.js';
import { segments } from './helpers.js';

let h: Harness | undefined;
afterEach(() => {
  h?.cleanup();
  h = undefined;
});

async function replicated(opts: { steps?: number } = {}) {
  h = harness({ pageSize: 4096, min: 1000, max: 5000 });
  const rep = await h.start();
  runWorkload(h.app, { steps: opts.steps ?? 30, seed: 3, heavy: false });
  await rep.syncAll();
  return { h, rep };
}

function verify(dbPath: string, replicaDir: string) {
  const client = createFileReplicaClient({ path: replicaDir, name: 'file' });
  return verifyReplicas({ dbPath, replicas: [{ name: 'file', client }] }).finally(() => client.close());
}

describe('verify', () => {
  it('a good replica restores, passes integrity_check and matches the live db page by page at its position', async () => {
    const { h, rep } = await replicated();
    const report = await verify(h.dbPath, h.replicaDirs[0]);
    await rep.close();
    expect(report.ok).toBe(true);
    const [r] = report.replicas;
    expect(r.error).toBeUndefined();
    expect(r.integrity).toBe('ok');
    expect(r.compare).toMatchObject({ method: 'pages-at-position', status: 'match', differingPages: [] });
    expect(r.compare!.pages).toBeGreaterThan(1);
    expect(r.offset).toBeGreaterThan(0);
    expect(r.rpoMs).toBeGreaterThanOrEqual(0);
    expect(r.rpoMs).toBeLessThan(60_000);
  });

  it('writes after the last sync do not make a good replica fail (compared at the replicated position)', async () => {
    const { h, rep } = await replicated();
    rep.dbs[0].replicas[0].stop(); // no more shipping; the live WAL moves ahead
    rep.dbs[0].db.stopTimers();
    runWorkload(h.app, { steps: 20, seed: 9, heavy: false });
    const report = await verify(h.dbPath, h.replicaDirs[0]);
    await rep.close({ finalSync: false });
    expect(report.replicas[0].error).toBeUndefined();
    expect(report.replicas[0].compare).toMatchObject({ method: 'pages-at-position', status: 'match' });
  });

  it('a corrupted WAL segment fails with the object named', async () => {
    const { h, rep } = await replicated();
    await rep.close();
    const last = segments(h.replicaDirs[0]).at(-1)!;
    const body = readFileSync(last);
    body[Math.floor(body.length / 2)] ^= 0xff;
    writeFileSync(last, body);
    const report = await verify(h.dbPath, h.replicaDirs[0]);
    expect(report.ok).toBe(false);
    expect(report.replicas[0].ok).toBe(false);
    expect(report.replicas[0].error).toContain(last.split('/').at(-1));
  });

  it('a missing WAL segment fails naming the gap', async () => {
    h = harness({ pageSize: 4096, min: 1000, max: 5000 });
    const rep = await h.start();
    for (let i = 0; i < 3; i++) {
      runWorkload(h.app, { steps: 5, seed: 20 + i, heavy: false });
      await rep.syncAll();
    }
    await rep.close();
    const segs = segments(h.replicaDirs[0]);
    expect(segs.length).toBeGreaterThanOrEqual(3);
    rmSync(segs[1]);
    const report = await verify(h.dbPath, h.replicaDirs[0]);
    expect(report.ok).toBe(false);
    expect(report.replicas[0].error).toMatch(/missing WAL segment/);
  });

  it('a replica behind a fully checkpointed live db (no WAL) is a mismatch', async () => {
    const { h, rep } = await replicated();
    await rep.close();
    runWorkload(h.app, { steps: 10, seed: 42, heavy: false }); // written while not replicating
    h.app.pragma('wal_checkpoint(TRUNCATE)');
    h.app.close(); // last connection: the WAL is deleted
    const report = await verify(h.dbPath, h.replicaDirs[0]);
    expect(report.ok).toBe(false);
    expect(report.replicas[0].integrity).toBe('ok');
    expect(report.replicas[0].compare).toMatchObject({ method: 'whole-file', status: 'mismatch' });
    expect(report.replicas[0].error).toMatch(/differs from the live one/);
  });

  it('the same replica matches its fully checkpointed live db after a final sync', async () => {
    const { h, rep } = await replicated();
    await rep.close();
    h.app.close();
    const report = await verify(h.dbPath, h.replicaDirs[0]);
    expect(report.replicas[0].error).toBeUndefined();
    expect(report.replicas[0].compare?.status).not.toBe('mismatch');
    expect(report.ok).toBe(true);
  });
});
