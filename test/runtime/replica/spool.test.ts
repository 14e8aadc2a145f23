import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { spool } from '../../../runtime/replica/spool.js';

const body = () => Readable.from([Buffer.from('0123456789'), Buffer.from('abcdefghij')]);

describe('spool', () => {
  for (const [where, limit] of [
    ['in memory', 1 << 20],
    ['in a temp file', 4],
  ] as const) {
    it(`reads the whole body and byte ranges of it (${where})`, async () => {
      const s = await spool(body(), limit);
      try {
        expect(s.size).toBe(20);
        expect(s.buffer === undefined).toBe(limit === 4);
        expect(await text(s.open())).toBe('0123456789abcdefghij');
        expect(await text(s.open(0, 8))).toBe('01234567');
        expect(await text(s.open(8, 16))).toBe('89abcdef');
        expect(await text(s.open(16, 20))).toBe('ghij');
        expect(await text(s.open(20, 20))).toBe('');
      } finally {
        await s.dispose();
      }
      if (s.file) expect(existsSync(s.file)).toBe(false);
    });
  }
});
