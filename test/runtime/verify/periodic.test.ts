/**
 * validation-interval inside replicate: the replicator verifies its replica in a child process
 * and exposes the outcome as gauges on the prom-client registry.
 */
import { rmSync } from 'node:fs';
import { register } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { runWorkload } from '../../helpers/sqlite.js';
import { type Harness, harness } from '../replicate/harness.js';
import { segments } from './helpers.js';

let h: Harness | undefined;
afterEach(() => {
  h?.cleanup();
  h = undefined;
});

async function gaugeValue(name: string, replica: string): Promise<number | undefined> {
  const m = register.getSingleMetric(name);
  const v = (await m?.get())?.values.find((x) => x.labels.name === replica);
  return v?.value;
}

describe('validation-interval', () => {
  it('verifies in a child process and publishes ok / restore time / RPO gauges', {
    timeout: 60_000,
  }, async () => {
    h = harness({ pageSize: 4096, min: 1000, max: 5000 });
    const db = h.config.dbs[0];
    db.replicas[0].validationInterval = 3_600_000; // the timer exists; the test runs it by hand
    const rep = await h.start();
    try {
      expect(rep.validation).toBeDefined();
      for (let i = 0; i < 3; i++) {
        runWorkload(h.app, { steps: 8, seed: 4 + i, heavy: false });
        await rep.syncAll();
      }
      const good = await rep.validation!.runOnce(db, db.replicas[0]);
      expect(good?.error).toBeUndefined();
      expect(good).toMatchObject({ ok: true, integrity: 'ok' });
      expect(good?.compare?.status).toBe('match');
      expect(await gaugeValue('litestream_validation_ok', 'file')).toBe(1);
      expect(await gaugeValue('litestream_validation_rpo_seconds', 'file')).toBeGreaterThanOrEqual(0);
      expect(await gaugeValue('litestream_validation_restore_seconds', 'file')).toBeGreaterThan(0);

      rmSync(segments(h.replicaDirs[0])[1]);
      const bad = await rep.validation!.runOnce(db, db.replicas[0]);
      expect(bad?.ok).toBe(false);
      expect(bad?.error).toMatch(/missing WAL segment/);
      expect(await gaugeValue('litestream_validation_ok', 'file')).toBe(0);
      await expect(register.metrics()).resolves.toMatch(
        /litestream_validation_ok\{db="[^"]+",name="file"\} 0/,
      );
    } finally {
      await rep.close({ finalSync: false });
    }
  });
});
