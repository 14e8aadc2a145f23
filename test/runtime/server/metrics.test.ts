/**
 * runtime/metrics.ts counts events in plain numbers and loads prom-client only when something
 * asks for the exposition (the /metrics endpoint of `addr`): events counted before the first
 * scrape must all be there, in Litestream's metric names, and a process that never scrapes must
 * never load prom-client.
 */
import { execFileSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Follower } from '../../../runtime/live/follower.js';
import { Metrics } from '../../../runtime/metrics.js';
import type { ReplicaClient } from '../../../runtime/replica/client.js';
import type { Replication } from '../../../runtime/replicate/index.js';
import { parsePrometheusText, sampleValue } from './prom-text.js';

describe('Metrics', () => {
  it('reports what happened before the first scrape, and keeps counting after it', async () => {
    const m = new Metrics();
    const stream = m.streamStarted('/a.db');
    stream.bytes(10);
    stream.bytes(5);
    stream.snapshot();
    m.streamStarted('/b.db').end();

    const follower = Object.assign(new EventEmitter(), {
      path: '/f.db',
      connected: true,
      position: { index: 2, offset: 64 },
      lagSeconds: () => 3,
    });
    m.trackFollower(follower as unknown as Follower);
    follower.emit('applied', { bytes: 100, snapshot: true });
    follower.emit('applied', { bytes: 7, snapshot: false });
    follower.emit('disconnected');

    const db = Object.assign(new EventEmitter(), {
      path: '/x.db',
      position: { index: 1, size: 4096 },
      writeLockSeconds: 0.375,
    });
    const client = { type: 'file', generations: async () => [], deleteSnapshot: async () => undefined };
    for (const name of ['snapshots', 'walSegments', 'writeSnapshot', 'writeWalSegment', 'openSnapshot']) {
      Object.assign(client, { [name]: async () => undefined });
    }
    for (const name of ['openWalSegment', 'deleteGeneration', 'deleteWalSegments']) {
      Object.assign(client, { [name]: async () => undefined });
    }
    const replica = {
      name: 'r1',
      db,
      position: { index: 1, offset: 32 },
      client: client as unknown as ReplicaClient,
    };
    m.trackReplication({ dbs: [{ db, replicas: [replica] }] } as unknown as Replication);
    db.emit('sync', { seconds: 0.5 });
    db.emit('sync', { seconds: 0.25, error: true });
    db.emit('checkpoint', { mode: 'PASSIVE', seconds: 0.125 });
    await (client as unknown as ReplicaClient).generations();

    const f = parsePrometheusText(await m.text());
    expect(f.get('litestream_sync_count')?.type).toBe('counter');
    expect(sampleValue(f, 'litestream_sync_count', { db: '/x.db' })).toBe(2);
    expect(sampleValue(f, 'litestream_sync_error_count', { db: '/x.db' })).toBe(1);
    expect(sampleValue(f, 'litestream_sync_seconds', { db: '/x.db' })).toBe(0.75);
    expect(sampleValue(f, 'litestream_checkpoint_count', { db: '/x.db', mode: 'PASSIVE' })).toBe(1);
    expect(sampleValue(f, 'litestream_checkpoint_seconds', { db: '/x.db', mode: 'PASSIVE' })).toBe(0.125);
    expect(sampleValue(f, 'litestream_shadow_wal_size', { db: '/x.db' })).toBe(4096);
    expect(sampleValue(f, 'ls_mix_write_lock_seconds', { db: '/x.db' })).toBe(0.375);
    expect(sampleValue(f, 'litestream_replica_wal_offset', { db: '/x.db', name: 'r1' })).toBe(32);
    expect(
      sampleValue(f, 'litestream_replica_operation_total', { replica_type: 'file', operation: 'LIST' }),
    ).toBe(1);
    expect(f.get('ls_mix_live_streams')?.type).toBe('gauge');
    expect(sampleValue(f, 'ls_mix_live_streams', { db: '/a.db' })).toBe(1);
    expect(sampleValue(f, 'ls_mix_live_streams', { db: '/b.db' })).toBe(0);
    expect(sampleValue(f, 'ls_mix_live_stream_bytes_total', { db: '/a.db' })).toBe(15);
    expect(sampleValue(f, 'ls_mix_live_stream_snapshots_total', { db: '/a.db' })).toBe(1);
    expect(sampleValue(f, 'ls_mix_live_replica_batches_total', { db: '/f.db' })).toBe(2);
    expect(sampleValue(f, 'ls_mix_live_replica_bytes_total', { db: '/f.db' })).toBe(107);
    expect(sampleValue(f, 'ls_mix_live_replica_disconnects_total', { db: '/f.db' })).toBe(1);
    expect(sampleValue(f, 'ls_mix_live_replica_lag_seconds', { db: '/f.db' })).toBe(3);

    // Counting goes on after the registry exists; a second scrape sees it once, not twice.
    db.emit('sync', { seconds: 1 });
    const again = parsePrometheusText(await m.text());
    expect(sampleValue(again, 'litestream_sync_count', { db: '/x.db' })).toBe(3);
    expect(sampleValue(again, 'litestream_sync_seconds', { db: '/x.db' })).toBe(1.75);
    expect(m.contentType).toMatch(/^text\/plain/);
  });

  it('loads prom-client only when the exposition is asked for', () => {
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'fixtures/lazy-metrics.ts')],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(JSON.parse(out)).toEqual({ before: false, after: true });
  });
});
