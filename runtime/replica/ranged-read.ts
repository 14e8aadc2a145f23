/**
 * One large object read as one GET that turns into several ranged GETs at once when the network
 * is what the reader waits for, delivered in order as one stream.
 *
 * A single GET is bound by one connection's throughput (on S3 often 50–100 MB/s, less than a
 * restore decodes); parts requested side by side add up. Where one connection keeps up (a store
 * on the same host or network), the read stays that one GET and costs nothing more. A store on
 * the same host can keep the reader waiting too — it shares the CPU — and is told apart by its
 * rate: only a GET under 150 MB/s is split (Ceph RGW on this 2-core host gives ~360 MB/s while a
 * restore decodes; split there, the restore took as long with 20 MiB more). Memory stays
 * bounded: the part at the head streams straight through (paused when the reader is slow), and
 * each part ahead writes its bytes into a slot of `partSize` in a temporary file (spill-file.ts)
 * until it becomes the head — at most `parts` slots, reused part after part. In a file rather
 * than memory: 7 x 2 MiB buffers took the split read of a 558 MB snapshot to 103 MiB peak RSS;
 * kept as socket chunks instead, they were promoted to V8's old generation (130-139 MiB).
 */
import { Readable } from 'node:stream';
import { collectYoung } from '../memory.js';
import { SpillFile } from './spill-file.js';

export interface RangedReadOptions {
  /** Bytes per ranged GET once the read is split. */
  partSize: number;
  /** Parts requested at once after the split, the head included (>= 1; 1 never splits). */
  parts: number;
  /**
   * Split when, over two windows in a row of the first GET (each at least 250 ms and `partSize`
   * bytes; its first window not counted), the reader waited for bytes more than this share of
   * the time (0.5) and the GET delivered less than `slowBelow`.
   */
  starvedShare?: number;
  /** Shortest window judged, in ms (default 250: a pause of GC or of the store is not a slow network). */
  windowMs?: number;
  /**
   * Split only a first GET slower than this (bytes/s; default 150 MB/s). A faster one that still
   * keeps the reader waiting shares the CPU with its store (a store on this host): more
   * connections would not make it faster, only take memory.
   */
  slowBelow?: number;
  /** Told once when the read splits (for a log line). */
  onSplit?: (at: number) => void;
  /** Folder of the temporary file that holds parts ahead (default: the OS temp folder). */
  spillDir?: string;
  /** Told when no temporary file could be made: the read then stays one GET. */
  onNoSpill?: (err: Error) => void;
}

/** Opens bytes [start, end) of the object as a stream that ends after exactly those bytes. */
export type OpenRange = (start: number, end: number) => Promise<Readable>;

interface Part {
  start: number;
  end: number;
  /** Bytes received while the part was not (yet) passing them on: spill slot `slot`, `[0, filled)`. */
  slot?: number;
  filled: number;
  /** How much of the slot has been passed on (so the slot can be reused). */
  delivered: number;
  /** Chunks received at the head once the slot was drained, not yet passed on. */
  chunks: Buffer[];
  received: number;
  done: boolean;
  /** Its end was moved forward by a split: the GET behind it asked for more. */
  cut?: boolean;
  body?: Readable;
}

/** Starved windows in a row that split the first GET (one could be a pause of the store). */
const STARVED_WINDOWS = 2;

/** Slot bytes passed on per read: small enough to die young in the reader. */
const SLICE = 64 << 10;

/** A stream of the `size` bytes of an object (see the module comment). */
export function rangedRead(size: number, open: OpenRange, opts: RangedReadOptions): Readable {
  if (!(opts.partSize > 0) || !(opts.parts >= 1))
    throw new Error('rangedRead: partSize and parts must be positive');
  const starvedShare = opts.starvedShare ?? 0.5;
  const windowMs = opts.windowMs ?? 250;
  const slowBelow = opts.slowBelow ?? 150e6;
  let next = 0;
  let inFlight = 1;
  let splittable = opts.parts > 1;
  const parts: Part[] = [];
  let spill: SpillFile | undefined;
  const freeSlots: number[] = [];
  let reading = false;
  // Starvation of the reader while the first GET is the only one.
  let waitingSince: number | undefined;
  let waited = 0;
  let windowStart = performance.now();
  let windowBytes = 0;
  /** Windows seen, and starved ones in a row: the first (request, start-up) is not judged. */
  let windows = 0;
  let starvedRow = 0;

  const out = new Readable({
    read() {
      reading = true;
      pump();
    },
    destroy(err, cb) {
      for (const p of parts.splice(0)) p.body?.destroy();
      closeSpill();
      cb(err);
    },
  });

  const start = (partSize: number): void => {
    while (!out.destroyed && parts.length < inFlight && next < size) {
      const part: Part = {
        start: next,
        end: Math.min(size, next + partSize),
        filled: 0,
        delivered: 0,
        chunks: [],
        received: 0,
        done: false,
      };
      next = part.end;
      parts.push(part);
      open(part.start, part.end).then(
        (body) => attach(part, body),
        (err: Error) => out.destroy(err),
      );
    }
  };

  /** The first GET waits on the network: cut it at the next part boundary, fetch the rest in parts. */
  const split = (first: Part): void => {
    const boundary = Math.min(
      size,
      Math.ceil((first.start + first.received + 1) / opts.partSize) * opts.partSize,
    );
    if (boundary >= first.end) return;
    try {
      spill = SpillFile.open(opts.partSize, opts.spillDir);
    } catch (err) {
      // Nowhere to keep parts ahead outside memory: one GET is slower, not wrong.
      opts.onNoSpill?.(err as Error);
      splittable = false;
      return;
    }
    // A slot for each part in flight: the head may still be passing on its slot's bytes.
    for (let slot = opts.parts - 1; slot >= 0; slot--) freeSlots.push(slot);
    first.end = boundary;
    first.cut = true;
    next = boundary;
    inFlight = opts.parts;
    opts.onSplit?.(boundary);
    start(opts.partSize);
  };

  const attach = (part: Part, body: Readable): void => {
    if (out.destroyed || !parts.includes(part)) return void body.destroy();
    part.body = body;
    body.on('data', (data: Buffer) => {
      if (part.done) return;
      const room = part.end - part.start - part.received;
      // The first GET, cut short by a split, runs past its new end: the rest comes in parts.
      const chunk = data.length > room ? data.subarray(0, room) : data;
      part.received += chunk.length;
      if (part.received === part.end - part.start) {
        part.done = true;
        // A first GET cut short by a split would go on downloading what the parts now fetch.
        if (part.cut) body.destroy();
      }
      const head = part === parts[0];
      if (head && !part.slot) {
        part.chunks.push(chunk);
        if (inFlight === 1 && splittable) watch(part, chunk.length);
      } else {
        part.slot ??= freeSlots.pop();
        if (part.slot === undefined || !spill)
          return void out.destroy(new Error('ranged read: no free slot'));
        try {
          spill.write(part.slot, part.filled, chunk);
        } catch (err) {
          return void out.destroy(spillError(err as Error));
        }
        part.filled += chunk.length;
        // The written chunk is garbage now: count it toward the next young collection.
        collectYoung(chunk.length);
      }
      if (head) pump();
    });
    body.once('end', () => {
      if (part.done) return;
      out.destroy(
        new Error(
          `range ${part.start}-${part.end - 1} ended after ${part.received} of ${part.end - part.start} bytes`,
        ),
      );
    });
    body.once('error', (err) => {
      if (!part.done) out.destroy(err);
    });
  };

  /** Per window of the first GET: split when the reader mostly waited for its bytes. */
  const watch = (first: Part, bytes: number): void => {
    if (waitingSince !== undefined) {
      waited += performance.now() - waitingSince;
      waitingSince = undefined;
    }
    windowBytes += bytes;
    const now = performance.now();
    if (windowBytes < opts.partSize || now - windowStart < windowMs) return;
    const elapsed = now - windowStart;
    const starved =
      windows++ > 0 && waited > elapsed * starvedShare && (windowBytes / elapsed) * 1000 < slowBelow;
    windowStart = now;
    windowBytes = 0;
    waited = 0;
    starvedRow = starved ? starvedRow + 1 : 0;
    if (starvedRow >= STARVED_WINDOWS) split(first);
  };

  /** Pass on what the head part has, move to the next part when it is complete. */
  const pump = (): void => {
    while (reading && !out.destroyed) {
      const head = parts[0];
      if (!head) {
        if (next >= size) {
          closeSpill();
          out.push(null);
        }
        return;
      }
      let more = true;
      while (head.slot !== undefined && spill && head.delivered < head.filled && more) {
        const length = Math.min(head.filled - head.delivered, SLICE);
        let bytes: Buffer;
        try {
          bytes = spill.read(head.slot, head.delivered, length);
        } catch (err) {
          return void out.destroy(spillError(err as Error));
        }
        head.delivered += length;
        more = out.push(bytes);
      }
      if (head.slot !== undefined && head.delivered === head.filled) {
        // Drained: later bytes of this part pass straight through.
        freeSlots.push(head.slot);
        head.slot = undefined;
      }
      while (more && head.chunks.length > 0) more = out.push(head.chunks.shift());
      if (!more) {
        reading = false;
        // The head waits for the reader; parts ahead stop by themselves at their size.
        head.body?.pause();
        return;
      }
      if (!head.done) {
        // The reader now waits for the network.
        waitingSince ??= performance.now();
        head.body?.resume();
        return;
      }
      parts.shift();
      start(opts.partSize);
    }
  };

  const closeSpill = (): void => {
    spill?.close();
    spill = undefined;
  };

  // The first GET asks for everything: nothing is split unless the network proves slow.
  start(size);
  if (size === 0) out.push(null);
  return out;
}

function spillError(err: Error): Error {
  return new Error(`ranged read: the temporary file holding parts ahead failed: ${err.message}`, {
    cause: err,
  });
}
