/**
 * The bytes of a replica object from the bytes of a snapshot or WAL segment and back:
 * object = lz4(data), or age(lz4(data)) when the replica has `age` configured.
 */
import type { Readable } from 'node:stream';
import type { AgeConfig } from '../config/types.js';
import { ageDecrypt, ageEncrypt } from './age.js';
import { type BlockPool, createLz4FrameDecoder, createLz4FrameEncoder } from './lz4.js';

/** Raw data -> stored object stream. */
export async function encodeObject(data: Readable, age?: Pick<AgeConfig, 'recipients'>): Promise<Readable> {
  const framed = forward(data, createLz4FrameEncoder());
  return age && age.recipients.length > 0 ? ageEncrypt(framed, age) : framed;
}

/** An LZ4 frame (e.g. createLz4FileRangeEncoder's) -> stored object stream. */
export async function encodeFramed(framed: Readable, age?: Pick<AgeConfig, 'recipients'>): Promise<Readable> {
  return age && age.recipients.length > 0 ? ageEncrypt(framed, age) : framed;
}

/** Stored object stream -> raw data; every error names the object. */
export async function decodeObject(
  body: Readable,
  opts: { name: string; age?: Pick<AgeConfig, 'identities'>; pool?: BlockPool },
): Promise<Readable> {
  const plain =
    opts.age && opts.age.identities.length > 0 ? await ageDecrypt(body, opts.age, opts.name) : body;
  return forward(plain, createLz4FrameDecoder({ name: opts.name, pool: opts.pool }));
}

/** source.pipe(dest) that also forwards source errors (pipe alone drops them). */
function forward<T extends NodeJS.ReadWriteStream & Readable>(source: Readable, dest: T): T {
  source.on('error', (err) => dest.destroy(err));
  dest.on('close', () => {
    if (!source.readableEnded) source.destroy();
  });
  return source.pipe(dest);
}
