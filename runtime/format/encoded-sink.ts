import { createWriteStream } from 'node:fs';
import { finished, Writable } from 'node:stream';
import { releaseEncoded } from './lz4.js';

/**
 * A file sink for an object stream: each chunk is written, then given back to the LZ4 encoder's
 * buffer pool (releaseEncoded), so a snapshot streams through a few reused block buffers instead
 * of leaving a dead one per block for the garbage collector. One write in flight at a time.
 */
export function encodedFileSink(path: string, flags: string): Writable {
  const out = createWriteStream(path, { flags });
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.write(chunk, (err) => {
        releaseEncoded(chunk);
        cb(err ?? null);
      });
    },
    final(cb) {
      out.end();
      finished(out, (err) => cb(err ?? null));
    },
    destroy(err, cb) {
      if (out.closed) return cb(err);
      out.once('close', () => cb(err));
      out.destroy();
    },
  });
  out.on('error', (err) => sink.destroy(err));
  return sink;
}
