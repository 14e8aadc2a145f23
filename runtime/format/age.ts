/**
 * age encryption of replica objects, as Litestream v0.3 does it: object = age(lz4(data)),
 * encrypted to the replica's `age.recipients`, decrypted with its `age.identities`.
 * Both directions stream (age's 64 KiB STREAM chunks), so memory stays bounded.
 */
import { PassThrough, Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { AgeConfig } from '../config/types.js';
import { UserError } from '../errors.js';

/** The first bytes of every age file ("age-encryption.org/v1\n"). */
/**
 * age-encryption (post-quantum crypto, ~10 MB of RSS) loads only for replicas with `age`.
 * Callers that are about to start a stream load it first, so no await sits between a body that
 * flows and the listener of its errors.
 */
export function loadAge(): Promise<typeof import('age-encryption')> {
  return import('age-encryption');
}

export const AGE_MAGIC = 'age-encryption.org/v1';

function toWeb(body: Readable): ReadableStream<Uint8Array> {
  return Readable.toWeb(body) as unknown as ReadableStream<Uint8Array>;
}

function fromWeb(stream: ReadableStream<Uint8Array>): Readable {
  return Readable.fromWeb(stream as unknown as WebReadableStream<Uint8Array>);
}

/** Encrypt a stream to the configured recipients. */
export async function ageEncrypt(body: Readable, age: Pick<AgeConfig, 'recipients'>): Promise<Readable> {
  if (age.recipients.length === 0) {
    throw new UserError('age encryption needs at least one recipient (age1...)', {
      hint: 'Add `age: { recipients: [age1...] }` to the replica config.',
    });
  }
  const { Encrypter } = await loadAge();
  const e = new Encrypter();
  for (const [i, r] of age.recipients.entries()) {
    try {
      e.addRecipient(r);
    } catch {
      throw new UserError(`age.recipients[${i}] is not a valid age recipient`, {
        hint: 'Recipients are public keys starting with "age1".',
      });
    }
  }
  return fromWeb(await e.encrypt(toWeb(body)));
}

/**
 * Decrypt a stream with the configured identities. Header problems (no matching identity,
 * not an age file) reject here, naming the object; a damaged chunk fails the returned stream.
 */
export async function ageDecrypt(
  body: Readable,
  age: Pick<AgeConfig, 'identities'>,
  name = 'object',
): Promise<Readable> {
  if (age.identities.length === 0) {
    throw new UserError(`${name}: cannot decrypt, the replica has no age identities`, {
      hint: 'Add `age: { identities: [AGE-SECRET-KEY-1...] }` to the replica config.',
    });
  }
  const { Decrypter } = await loadAge();
  const d = new Decrypter();
  for (const [i, id] of age.identities.entries()) {
    try {
      d.addIdentity(id);
    } catch {
      // Never echo the identity: it is a secret key.
      throw new UserError(`age.identities[${i}] is not a valid age identity`, {
        hint: 'Identities are secret keys starting with "AGE-SECRET-KEY-1".',
      });
    }
  }
  // A failed read of the object (a dropped connection) is passed on as it is, not called corrupt.
  let readError: Error | undefined;
  body.once('error', (err) => {
    readError = err;
  });
  let out: ReadableStream<Uint8Array>;
  try {
    out = await d.decrypt(toWeb(body));
  } catch (err) {
    if (readError) throw readError;
    throw new UserError(`${name}: age decryption failed: ${(err as Error).message}`, {
      hint: "Check that the replica's age identities match the recipients the objects were encrypted to.",
      cause: err,
    });
  }
  // Chunk authentication failures surface mid-stream: name the object there too.
  const plain = fromWeb(out);
  const named = new PassThrough();
  plain.on('error', (err) =>
    named.destroy(
      readError ??
        new UserError(`${name}: age decryption failed: ${err.message} (object corrupt)`, { cause: err }),
    ),
  );
  named.on('close', () => {
    if (!plain.readableEnded) plain.destroy();
  });
  return plain.pipe(named);
}
