import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ageDecrypt, ageEncrypt } from '../../../runtime/format/age.js';
import { lz4FrameDecompress } from '../../../runtime/format/lz4.js';
import { decodeObject, encodeObject } from '../../../runtime/format/object.js';

const CASE = join(import.meta.dirname, '../../fixtures/litestream-v0.3.13/age-encrypted');
const age = (
  parse(readFileSync(join(CASE, 'config.yml'), 'utf8')) as {
    dbs: { replicas: { age: { recipients: string[]; identities: string[] } }[] }[];
  }
).dbs[0].replicas[0].age;
const SEGMENT = join(CASE, 'replica/generations/058deaac10e9c9cf/wal/00000000_00004080.wal.lz4');
const OTHER_IDENTITY = 'AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX';

const from = (b: Buffer) => Readable.from([b]);

describe('age objects (Litestream v0.3: age(lz4(data)))', () => {
  it('decrypts a fixture object written by Litestream v0.3.13', async () => {
    const plain = await buffer(await ageDecrypt(from(readFileSync(SEGMENT)), age, 'seg'));
    expect(plain.subarray(0, 4).toString('hex')).toBe('04224d18');
    expect((await lz4FrameDecompress(plain)).length).toBe(4120);
  });

  it('round-trips encodeObject/decodeObject through age and LZ4', async () => {
    const data = Buffer.concat([Buffer.alloc(200_000, 1), Buffer.from('end')]);
    const stored = await buffer(await encodeObject(from(data), age));
    expect(stored.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
    const back = await buffer(await decodeObject(from(stored), { name: 'x', age }));
    expect(back.equals(data)).toBe(true);
  });

  it('without age, objects are plain LZ4 frames', async () => {
    const stored = await buffer(await encodeObject(from(Buffer.from('abc'))));
    expect(stored.subarray(0, 4).toString('hex')).toBe('04224d18');
    expect((await buffer(await decodeObject(from(stored), { name: 'x' }))).toString()).toBe('abc');
  });

  it('wrong identity: clear error naming the object, no key in it', async () => {
    const err = await ageDecrypt(
      from(readFileSync(SEGMENT)),
      { identities: [OTHER_IDENTITY] },
      'wal/seg.lz4',
    ).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/^wal\/seg\.lz4: age decryption failed/);
    expect((err as Error).message).not.toContain('AGE-SECRET-KEY');
  });

  it('encrypted object read without identities says so', async () => {
    await expect(
      decodeObject(from(readFileSync(SEGMENT)), { name: 'wal/seg.lz4' }).then((s) => buffer(s)),
    ).rejects.toThrow('wal/seg.lz4: object is age-encrypted');
  });

  it('a flipped byte in the payload fails the stream, naming the object', async () => {
    const stored = Buffer.from(await buffer(await ageEncrypt(from(Buffer.alloc(100_000, 3)), age)));
    stored[stored.length - 50] ^= 1;
    await expect(ageDecrypt(from(stored), age, 'snap.lz4').then((s) => buffer(s))).rejects.toThrow(
      /^snap\.lz4: age decryption failed/,
    );
  });

  it.each([
    ['in the header', 10],
    ['in the payload', 60_000],
  ])('a read that fails %s is passed on as it is, not called corrupt', async (_where, at) => {
    const stored = Buffer.from(await buffer(await ageEncrypt(from(Buffer.alloc(100_000, 3)), age)));
    const body = new PassThrough();
    body.write(stored.subarray(0, at));
    setTimeout(() => body.destroy(new Error('connection reset')), 20);
    const err = await decodeObject(body, { name: 'seg.lz4', age })
      .then((s) => buffer(s))
      .catch((e: Error) => e);
    expect((err as Error).message).toBe('connection reset');
  });

  it('an invalid identity is rejected without echoing it', async () => {
    const err = await ageDecrypt(from(Buffer.from('x')), { identities: ['AGE-SECRET-KEY-1NOPE'] }).catch(
      (e: Error) => e,
    );
    expect((err as Error).message).toBe('age.identities[0] is not a valid age identity');
  });
});
