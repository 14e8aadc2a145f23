import { type Readable, Transform } from 'node:stream';

/** Bytes read so far of how many (`ls-mix snapshot`'s progress bar). */
export type ByteCountListener = (bytesDone: number, bytesTotal: number) => void;

/**
 * Passes a stream through unchanged, reporting the bytes that went by. A Transform rather than
 * a 'data' listener: a listener would switch the source to flowing mode behind the consumer.
 */
export function countBytes(source: Readable, bytesTotal: number, onBytes: ByteCountListener): Readable {
  let done = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      done += chunk.length;
      onBytes(done, Math.max(bytesTotal, done));
      callback(null, chunk);
    },
  });
  source.on('error', (err) => counter.destroy(err));
  return source.pipe(counter);
}
