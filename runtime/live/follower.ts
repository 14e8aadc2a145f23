/**
 * A live read replica of one database (`upstream:` in its config): connects to the primary's
 * stream, bootstraps from a snapshot when it has no usable position, then applies every batch of
 * committed WAL frames as one SQLite transaction (pages.ts). Reconnects with backoff after the
 * primary restarts or the network drops, resuming from its position; the primary answers with a
 * fresh snapshot when that position belongs to an old generation.
 */
import { EventEmitter } from 'node:events';
import { type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { DbConfig } from '../config/types.js';
import { UserError } from '../errors.js';
import { type Logger, redactUrl } from '../log.js';
import {
  ByteReader,
  PROTOCOL_VERSION,
  type SnapshotMessage,
  STREAM_PATH,
  type StreamPos,
  type WalMessage,
} from '../server/protocol.js';
import { WAL_FRAME_HEADER_SIZE, WAL_HEADER_SIZE } from '../sqlite/wal.js';
import { assertDbpageAvailable, PageWriter } from './pages.js';
import { digestHex, type LiveState, liveStatePath, readLiveState, writeLiveState } from './state.js';

export interface FollowerOptions {
  logger: Logger;
  /** Discard local changes (a diverged replica) and copy the primary again. */
  resync?: boolean;
  /** No message for this long: the link is dead, reconnect (default 30 s; heartbeats are 1 s). */
  idleTimeoutMs?: number;
  /** Reconnect backoff bounds (default 200 ms .. 5 s). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface AppliedEvent {
  bytes: number;
  snapshot: boolean;
}

/** Upstream settings resolved: the URL of the stream, without the token. */
function streamUrl(cfg: DbConfig): URL {
  const up = cfg.upstream!;
  let base: URL;
  try {
    base = new URL(up.url);
  } catch {
    throw new UserError(`${cfg.path}: upstream.url "${up.url}" is not a URL`, {
      hint: 'Use the primary\'s server address, e.g. url: http://primary:9090 (its config sets addr: ":9090").',
    });
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new UserError(`${cfg.path}: upstream.url must be http:// or https:// (got ${base.protocol})`);
  }
  // Relative to the URL's path: a primary behind a reverse proxy at https://host/ls-mix/ works.
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  const url = new URL(STREAM_PATH.slice(1), base);
  url.searchParams.set('db', up.path ?? cfg.path);
  url.searchParams.set('v', String(PROTOCOL_VERSION));
  return url;
}

export class Follower extends EventEmitter {
  readonly path: string;
  private readonly log: Logger;
  private readonly url: URL;
  private readonly statePath: string;
  private writer?: PageWriter;
  private pos?: StreamPos;
  private digest = 0n;
  private committed?: LiveState['committed'];
  private req?: ClientRequest;
  private closed = false;
  private loop?: Promise<void>;
  private behindSince?: number;
  private lastError?: string;
  /** Ends the backoff wait early (close). */
  private wake?: () => void;
  /** True once the replica has caught up with the primary at least once. */
  ready = false;
  connected = false;

  constructor(
    readonly config: DbConfig,
    private readonly opts: FollowerOptions,
  ) {
    super();
    this.path = config.path;
    this.log = opts.logger.child({ db: config.path, upstream: redactUrl(config.upstream?.url ?? '') });
    this.url = streamUrl(config);
    this.statePath = liveStatePath(config.path, config.metaPath);
  }

  /** Where the replica is (next shadow-WAL byte it needs), undefined before the first snapshot. */
  get position(): StreamPos | undefined {
    return this.pos && { ...this.pos };
  }

  /** Seconds since the replica last knew it had everything the primary committed (0: caught up). */
  lagSeconds(): number {
    return this.behindSince === undefined ? 0 : (Date.now() - this.behindSince) / 1000;
  }

  /** Check the database against its recorded state, then follow the primary in the background. */
  async start(): Promise<void> {
    assertDbpageAvailable();
    this.writer = PageWriter.open(this.path);
    try {
      if (this.writer) this.recover(this.writer);
    } catch (err) {
      this.writer?.close();
      this.writer = undefined;
      throw err;
    }
    this.behindSince = Date.now();
    this.loop = this.run();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.req?.destroy();
    this.wake?.();
    await this.loop;
    if (this.writer) {
      this.writer.close();
      if (this.committed) this.saveState(undefined);
    }
    this.writer = undefined;
  }

  // ---------------------------------------------------------------- startup check

  private recover(w: PageWriter): void {
    const state = readLiveState(this.statePath);
    const upstream = this.upstreamKey();
    const actual = w.pageCount() === 0 ? 0n : w.digest();
    const hex = digestHex(actual);
    const match =
      state?.upstream === upstream
        ? [state.pending, state.committed].find((c) => c?.digest === hex)
        : undefined;
    this.digest = actual;
    if (match) {
      this.pos = { ...match.pos };
      this.committed = match;
      this.log.info({ position: this.pos }, 'live replica: resuming from its position');
      return;
    }
    // An empty database (created by a first snapshot that never committed): nothing to lose.
    if (w.isEmpty()) return;
    if (state?.upstream === upstream && !state.committed) {
      // Only an unfinished first snapshot ever wrote it: start over.
      this.log.info('live replica: the first snapshot did not finish; starting over');
      return;
    }
    const why = state
      ? state.upstream !== upstream
        ? `it was following ${state.upstream}`
        : 'its content changed since ls-mix last wrote it (a local write?)'
      : 'ls-mix has no record of writing it';
    if (this.opts.resync) {
      this.log.warn({ reason: why }, 'live replica diverged: re-syncing from a snapshot of the primary');
      return;
    }
    throw new UserError(`${this.path}: this live replica does not match the primary: ${why}`, {
      hint:
        'Open replicas read-only and send writes to the primary. To throw away the local copy and copy the ' +
        'primary again, set `resync: true` under `upstream:` or run `ls-mix replicate --resync`.',
    });
  }

  private upstreamKey(): string {
    return `${this.url.origin}${this.config.upstream?.path ?? this.path}`;
  }

  private saveState(pending: LiveState['pending']): void {
    writeLiveState(this.statePath, { upstream: this.upstreamKey(), committed: this.committed, pending });
  }

  // ---------------------------------------------------------------- connection loop

  private async run(): Promise<void> {
    const min = this.opts.minBackoffMs ?? 200;
    const max = this.opts.maxBackoffMs ?? 5_000;
    let backoff = min;
    while (!this.closed) {
      let gotData = false;
      try {
        await this.connectOnce(() => {
          gotData = true;
          backoff = min;
        });
        if (!this.closed) throw new Error('the primary closed the stream');
      } catch (err) {
        this.connected = false;
        if (this.closed) break;
        this.behindSince ??= Date.now();
        const msg = (err as Error).message;
        if (msg !== this.lastError) {
          if (err instanceof UserError)
            this.log.error({ err: msg, hint: err.hint }, 'live replica: cannot follow');
          else this.log.warn({ err: msg }, 'live replica: connection to the primary lost; reconnecting');
        }
        this.lastError = msg;
        this.emit('disconnected');
      }
      if (this.closed) break;
      if (!gotData) backoff = Math.min(max, backoff * 2);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, backoff * (0.8 + Math.random() * 0.4));
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private connectOnce(onData: () => void): Promise<void> {
    const url = new URL(this.url);
    if (this.pos) {
      url.searchParams.set('generation', this.pos.generation);
      url.searchParams.set('index', String(this.pos.index));
      url.searchParams.set('offset', String(this.pos.offset));
    }
    const headers: Record<string, string> = {};
    const token = this.config.upstream?.token;
    if (token) headers.authorization = `Bearer ${token}`;
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<void>((resolve, reject) => {
      const req = request(url, { headers }, (res) => {
        this.consume(res, onData).then(resolve, reject);
      });
      this.req = req;
      req.setTimeout(this.opts.idleTimeoutMs ?? 30_000, () =>
        req.destroy(new Error('no data from the primary (not even a heartbeat) for too long')),
      );
      req.on('error', reject);
      req.end();
    });
  }

  private async consume(res: IncomingMessage, onData: () => void): Promise<void> {
    if (res.statusCode !== 200) {
      const body = (await readText(res)).trim().slice(0, 300);
      const where = `${this.url.origin}${this.url.pathname}`;
      if (res.statusCode === 401) {
        throw new UserError(`the primary at ${where} refused the token (401)`, {
          hint: "Set upstream.token to the primary's auth-token.",
        });
      }
      throw new Error(`the primary at ${where} answered ${res.statusCode}: ${body}`);
    }
    if (this.lastError) this.log.info('live replica: connected to the primary again');
    else this.log.info('live replica: connected to the primary');
    this.lastError = undefined;
    this.connected = true;
    this.emit('connected');
    const reader = new ByteReader(res);
    for (;;) {
      const msg = await reader.readHeader();
      if (!msg) return;
      onData();
      if (msg.type === 'heartbeat') {
        this.noteHead(msg);
      } else if (msg.type === 'snapshot') {
        await this.applySnapshot(msg, reader);
      } else {
        await this.applyWal(msg, reader);
      }
    }
  }

  private noteHead(head: StreamPos): void {
    const p = this.pos;
    const caughtUp =
      p !== undefined &&
      p.generation === head.generation &&
      p.index === head.index &&
      p.offset === head.offset;
    if (caughtUp) {
      this.behindSince = undefined;
      if (!this.ready) {
        this.ready = true;
        this.log.info({ position: p }, 'live replica: caught up with the primary');
        this.emit('ready');
      }
    } else {
      this.behindSince ??= Date.now();
    }
  }

  // ---------------------------------------------------------------- applying

  private async applySnapshot(msg: SnapshotMessage, reader: ByteReader): Promise<void> {
    this.writer ??= PageWriter.create(this.path, msg.pageSize);
    const w = this.writer;
    w.begin(msg.pageSize, this.digest, true);
    try {
      const filePages = msg.dbLength / msg.pageSize;
      for (let p = 1; p <= filePages; p++) {
        const page = await reader.readExact(msg.pageSize);
        if (p <= msg.dbPages) w.write(p, page);
      }
      await this.applyFrames(reader, msg.length - msg.dbLength, msg.pageSize, msg.dbPages, true);
      this.commit(w, msg, msg.dbPages);
    } catch (err) {
      w.rollback();
      throw err;
    }
    this.log.info(
      { generation: msg.generation, index: msg.index, pages: msg.dbPages },
      'live replica: snapshot applied',
    );
    this.emit('applied', { bytes: msg.length, snapshot: true } satisfies AppliedEvent);
    this.noteHead(msg.head);
  }

  private async applyWal(msg: WalMessage, reader: ByteReader): Promise<void> {
    const p = this.pos;
    const continues =
      p !== undefined &&
      p.generation === msg.generation &&
      ((p.index === msg.index && p.offset === msg.offset) || (p.index + 1 === msg.index && msg.offset === 0));
    if (!continues || !this.writer) {
      throw new Error(
        `out-of-order WAL from the primary at ${msg.index}/${msg.offset} (replica at ${p?.index}/${p?.offset})`,
      );
    }
    this.behindSince ??= Date.now();
    if (msg.dbPages === 0) {
      // Only the new WAL index's header: nothing to apply.
      await reader.readExact(msg.length);
      this.pos = { generation: msg.generation, index: msg.index, offset: msg.offset + msg.length };
    } else {
      const w = this.writer;
      w.begin(msg.pageSize, this.digest, false);
      try {
        await this.applyFrames(reader, msg.length, msg.pageSize, msg.dbPages, msg.offset === 0);
        this.commit(w, { ...msg, offset: msg.offset + msg.length }, msg.dbPages);
      } catch (err) {
        w.rollback();
        throw err;
      }
    }
    this.emit('applied', { bytes: msg.length, snapshot: false } satisfies AppliedEvent);
    this.noteHead(msg.head);
  }

  /** Write the newest version of every page up to the final size; pages past it are dead. */
  private async applyFrames(
    reader: ByteReader,
    length: number,
    pageSize: number,
    dbPages: number,
    withHeader: boolean,
  ): Promise<void> {
    let left = length;
    if (withHeader && left > 0) {
      await reader.readExact(WAL_HEADER_SIZE);
      left -= WAL_HEADER_SIZE;
    }
    const fsz = WAL_FRAME_HEADER_SIZE + pageSize;
    if (left < 0 || left % fsz !== 0) throw new Error(`WAL payload of ${length} bytes is not whole frames`);
    for (; left > 0; left -= fsz) {
      const frame = await reader.readExact(fsz);
      const pgno = frame.readUInt32BE(0);
      if (pgno <= dbPages) this.writer!.write(pgno, frame.subarray(WAL_FRAME_HEADER_SIZE));
    }
  }

  /** The position and digest are on disk (as pending) before COMMIT: see state.ts. */
  private commit(w: PageWriter, end: StreamPos, pages: number): void {
    const pos = { generation: end.generation, index: end.index, offset: end.offset };
    let pending: bigint | undefined;
    this.digest = w.commit(pages, (digest) => {
      pending = digest;
      this.saveState({ pos, digest: digestHex(digest) });
    });
    this.committed = { pos, digest: digestHex(this.digest) };
    this.pos = pos;
    if (pending !== this.digest) this.saveState(undefined);
  }
}

async function readText(res: IncomingMessage): Promise<string> {
  let s = '';
  for await (const c of res) s += c;
  return s;
}
