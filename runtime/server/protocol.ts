/**
 * The live-replica stream: one long HTTP response of messages, each
 *
 *   u32 BE  header length H
 *   H bytes header (JSON, one of the types below)
 *   `length` bytes of payload
 *
 * Payloads are raw SQLite bytes: a `snapshot` carries the database file followed by the current
 * WAL index's shadow WAL from offset 0 (restoring it needs both, as with a Litestream snapshot);
 * a `wal` message carries shadow-WAL bytes that end on a commit frame. `dbPages` is the database
 * size in pages once the payload is applied, so the replica never writes a page past the end.
 */
export const STREAM_PATH = '/stream';
export const STREAM_CONTENT_TYPE = 'application/x-ls-mix-stream';
/** Bumped on any incompatible change; the replica sends it, the primary checks it. */
export const PROTOCOL_VERSION = 1;
export const HEARTBEAT_MS = 1_000;

export interface StreamPos {
  generation: string;
  index: number;
  /** Next shadow-WAL byte of `index` the replica has not applied. */
  offset: number;
}

export interface SnapshotMessage extends StreamPos {
  type: 'snapshot';
  pageSize: number;
  /** Bytes of the database file that come first in the payload. */
  dbLength: number;
  /** Then `offset` bytes of the index's shadow WAL (header included). */
  length: number;
  dbPages: number;
  /** The primary's position when the message was sent (equal to the end: caught up). */
  head: StreamPos;
}

export interface WalMessage extends StreamPos {
  type: 'wal';
  pageSize: number;
  length: number;
  dbPages: number;
  head: StreamPos;
}

/** The primary's position now; sent when idle so lag is known and dead links are noticed. */
export interface HeartbeatMessage extends StreamPos {
  type: 'heartbeat';
  length: 0;
}

export type StreamMessage = SnapshotMessage | WalMessage | HeartbeatMessage;

export function encodeHeader(msg: StreamMessage): Buffer {
  const json = Buffer.from(JSON.stringify(msg));
  const out = Buffer.allocUnsafe(4 + json.length);
  out.writeUInt32BE(json.length, 0);
  json.copy(out, 4);
  return out;
}

const MAX_HEADER = 64 << 10;

/** Reads exact byte counts from a chunked source (an HTTP response) without copying much. */
export class ByteReader {
  private chunks: Buffer[] = [];
  private have = 0;
  private readonly it: AsyncIterator<Buffer>;

  constructor(source: AsyncIterable<Buffer>) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** `n` bytes; undefined when the source ended cleanly before any of them. */
  async read(n: number): Promise<Buffer | undefined> {
    while (this.have < n) {
      const r = await this.it.next();
      if (r.done) {
        if (this.have === 0) return undefined;
        throw new Error(`stream ended in the middle of a message (${this.have} of ${n} bytes)`);
      }
      this.chunks.push(r.value);
      this.have += r.value.length;
    }
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.have);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.have = rest.length;
    return all.subarray(0, n);
  }

  async readExact(n: number): Promise<Buffer> {
    const b = await this.read(n);
    if (!b) throw new Error(`stream ended where ${n} bytes were expected`);
    return b;
  }

  /** The next message header; undefined at a clean end of stream. */
  async readHeader(): Promise<StreamMessage | undefined> {
    const len = await this.read(4);
    if (!len) return undefined;
    const n = len.readUInt32BE(0);
    if (n === 0 || n > MAX_HEADER) throw new Error(`invalid stream message header length ${n}`);
    const msg = JSON.parse((await this.readExact(n)).toString('utf8')) as StreamMessage;
    if (!['snapshot', 'wal', 'heartbeat'].includes(msg.type)) {
      throw new Error(`unknown stream message type ${JSON.stringify(msg.type)}`);
    }
    return msg;
  }
}
