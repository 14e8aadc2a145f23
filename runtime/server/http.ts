/**
 * The replicate process's HTTP server (`addr:` in the config): /healthz, /metrics and the
 * live-replica stream. With `auth-token`, /metrics and /stream want `Authorization: Bearer TOKEN`;
 * /healthz stays open for container health checks but tells a caller without the token nothing
 * but ready or not.
 *
 * Hostile input: nothing a client sends can throw out of the handler (every request is answered,
 * malformed ones with 400), the token is checked before the request's query is even read, and
 * connections, header sizes, request rates and this server's own warnings are all bounded
 * (limits.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { Config } from '../config/types.js';
import { UserError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { MonitoredDb } from '../replicate/db.js';
import { parseAddr } from './addr.js';
import { DEFAULT_LIMITS, RateLimiter, type ServerLimits, WarningLimiter } from './limits.js';
import { PROTOCOL_VERSION, STREAM_CONTENT_TYPE, STREAM_PATH, type StreamPos } from './protocol.js';
import { streamDb } from './stream.js';

export { parseAddr } from './addr.js';

/** A response was (or is being) sent. */
type Handled = 'handled';

export interface Readiness {
  ready: boolean;
  /** What is still missing, for the 503 body. */
  waiting: string[];
}

export interface ServerOptions {
  addr: string;
  authToken?: string;
  logger: Logger;
  metrics: Metrics;
  /** The primary dbs that can be streamed (filled in once they are open). */
  dbs: () => MonitoredDb[];
  readiness: () => Readiness;
  limits?: Partial<ServerLimits>;
}

/** The `http:` section of the config as server limits (unset keys keep their defaults). */
export function serverLimits(config: Config): Partial<ServerLimits> {
  const h = config.http ?? {};
  const out: Partial<ServerLimits> = {};
  if (h['max-connections'] !== undefined) out.maxConnections = h['max-connections'];
  if (h['max-header-bytes'] !== undefined) out.maxHeaderBytes = h['max-header-bytes'];
  if (h['requests-per-second'] !== undefined) out.requestsPerSecond = h['requests-per-second'];
  if (h['idle-timeout'] !== undefined) out.idleTimeoutMs = h['idle-timeout'];
  if (h['live-max-pinned-bytes'] !== undefined) out.maxPinnedBytes = h['live-max-pinned-bytes'];
  return out;
}

/** An auth token must hold something: an empty one would mean "no auth" to a careless check. */
export function assertUsableToken(token: string | undefined, what = 'auth-token'): void {
  if (token !== undefined && token.trim() === '') {
    throw new UserError(`${what} is empty`, {
      hint: 'Set it to a long random secret (e.g. openssl rand -hex 32), or remove the key to run without auth.',
    });
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** The path and query of a request target, or undefined when it is not origin-form (/path?query). */
function splitTarget(target: string | undefined): { path: string; query: string } | undefined {
  if (target?.[0] !== '/' || target.startsWith('//')) return undefined;
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  return { path, query: q < 0 ? '' : target.slice(q + 1) };
}

export class LiveServer {
  private readonly streams = new Set<AbortController>();
  private nextId = 0;
  private readonly limits: ServerLimits;
  private readonly rate: RateLimiter;
  private readonly warnings = new WarningLimiter();

  private constructor(
    private readonly server: Server,
    private readonly opts: ServerOptions,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.rate = new RateLimiter(this.limits.requestsPerSecond);
  }

  static async listen(opts: ServerOptions): Promise<LiveServer> {
    assertUsableToken(opts.authToken);
    const { host, port } = parseAddr(opts.addr);
    const limits = { ...DEFAULT_LIMITS, ...opts.limits };
    const server = createServer({
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: Math.min(10_000, limits.idleTimeoutMs),
      requestTimeout: limits.idleTimeoutMs,
      keepAliveTimeout: 5_000,
    });
    server.maxConnections = limits.maxConnections;
    // Idle sockets (connected, silent) are closed; live streams send a heartbeat every second.
    server.timeout = limits.idleTimeoutMs;
    const s = new LiveServer(server, opts);
    server.on('request', (req, res) => s.safeHandle(req, res));
    server.on('drop', () => s.warn('connections', 'http: connection limit reached, closing new connections'));
    server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      // Node's default answer (400 / 431 / 408), without the log line per bad client.
      const status =
        err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      if (socket.writable && !(socket as { _httpMessage?: unknown })._httpMessage) {
        socket.end(
          `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
        );
      }
      socket.destroy();
    });
    server.listen({ host, port });
    try {
      await once(server, 'listening');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new UserError(`cannot listen on ${opts.addr}: ${code ?? (err as Error).message}`, {
        hint: code === 'EADDRINUSE' ? 'Another process uses that port: pick another addr.' : undefined,
        cause: err,
      });
    }
    const a = server.address() as AddressInfo;
    opts.logger.info(
      { addr: opts.addr, port: a.port, auth: opts.authToken ? 'token' : 'none' },
      'http server listening',
    );
    return s;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const c of this.streams) c.abort();
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeAllConnections();
    await closed;
  }

  private warn(kind: string, msg: string, fields: Record<string, unknown> = {}): void {
    this.warnings.warn(kind, (suppressed) =>
      this.opts.logger.warn(suppressed > 0 ? { ...fields, suppressed } : fields, msg),
    );
  }

  private authorized(req: IncomingMessage): boolean {
    const token = this.opts.authToken;
    if (token === undefined) return true;
    const header = req.headers.authorization;
    if (typeof header !== 'string') return false;
    const m = /^Bearer[ \t]+(.*?)[ \t]*$/i.exec(header);
    return m !== null && timingSafeEqual(digest(m[1]), digest(token.trim()));
  }

  /** Whatever the handler throws is a 500 (or a closed socket), never a crash. */
  private safeHandle(req: IncomingMessage, res: ServerResponse): void {
    try {
      this.handle(req, res);
    } catch (err) {
      this.warn('internal', 'http: request failed', { err: (err as Error).message });
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
        res.end('internal error\n');
      } else res.destroy();
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse): Handled {
    const text = (status: number, body: string, headers: Record<string, string> = {}): Handled => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
      res.end(`${body}\n`);
      return 'handled';
    };
    const from = req.socket.remoteAddress ?? 'unknown';
    if (!this.rate.allow(from)) {
      this.warn('rate', 'http: request rate limit reached, answering 429', { from });
      return text(429, 'too many requests', { 'retry-after': '1' });
    }
    const target = splitTarget(req.url);
    if (!target) return text(400, 'bad request target', { connection: 'close' });
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return text(405, 'method not allowed', { allow: 'GET' });
    const authorized = this.authorized(req);
    if (target.path === '/healthz') {
      const r = this.opts.readiness();
      if (r.ready) return text(200, 'ok');
      // Db paths and replica names are for the token holder only.
      return text(503, authorized ? `starting: waiting for ${r.waiting.join(', ')}` : 'starting');
    }
    if (!authorized) {
      this.warn('auth', 'http: request refused (bad or missing token)', { path: target.path, from });
      return text(401, 'unauthorized: send Authorization: Bearer <auth-token>', {
        'www-authenticate': 'Bearer',
      });
    }
    if (target.path !== '/metrics' && target.path !== STREAM_PATH) return text(404, 'not found');
    if (target.path === '/metrics') {
      this.opts.metrics.text().then(
        (body) => {
          if (res.headersSent) return;
          res.writeHead(200, { 'content-type': this.opts.metrics.contentType });
          res.end(body);
        },
        (err) => {
          if (!res.headersSent) text(500, `metrics failed: ${(err as Error).message}`);
        },
      );
      return 'handled';
    }
    if (req.method !== 'GET') return text(405, 'method not allowed', { allow: 'GET' });
    let query: URLSearchParams;
    try {
      query = new URLSearchParams(target.query);
    } catch {
      return text(400, 'bad query string');
    }
    return this.stream(query, req, res, text);
  }

  private stream(
    query: URLSearchParams,
    req: IncomingMessage,
    res: ServerResponse,
    text: (status: number, body: string, headers?: Record<string, string>) => Handled,
  ): Handled {
    const v = query.get('v');
    const version = v === null ? PROTOCOL_VERSION : Number(v);
    if (version !== PROTOCOL_VERSION) {
      return text(
        400,
        `stream protocol ${JSON.stringify(v)} is not supported (this primary speaks ${PROTOCOL_VERSION}): upgrade ls-mix`,
      );
    }
    const wanted = query.get('db');
    if (!wanted || wanted.includes('\0')) return text(400, 'missing ?db=PATH');
    const dbs = this.opts.dbs();
    if (dbs.length === 0) return text(503, 'starting', { 'retry-after': '1' });
    const db = dbs.find((d) => d.path === resolve(wanted));
    if (!db)
      return text(
        404,
        `no database ${wanted} is replicated here (known: ${dbs.map((d) => d.path).join(', ')})`,
      );
    const from = parsePos(query);
    const ctl = new AbortController();
    this.streams.add(ctl);
    const id = `live:${++this.nextId}`;
    const log = this.opts.logger.child({ db: db.path, stream: id, from: req.socket.remoteAddress });
    const m = this.opts.metrics.streamStarted(db.path);
    res.on('close', () => ctl.abort());
    // A live stream is long and may stall in a slow network: it has its own bound (maxPinnedBytes).
    req.socket.setTimeout(0);
    res.writeHead(200, { 'content-type': STREAM_CONTENT_TYPE, 'cache-control': 'no-store' });
    res.flushHeaders();
    log.info({ position: from }, 'live replica connected');
    streamDb({
      db,
      from,
      out: res,
      signal: ctl.signal,
      id,
      maxPinnedBytes: this.limits.maxPinnedBytes,
      onBytes: m.bytes,
      onSnapshot: m.snapshot,
      onTooFarBehind: (pinned) =>
        log.warn(
          { pinnedBytes: pinned, limit: this.limits.maxPinnedBytes },
          'live replica too far behind: disconnected (it gets a fresh snapshot when it reconnects)',
        ),
    })
      .catch((err) => {
        if (!ctl.signal.aborted) log.warn({ err: (err as Error).message }, 'live replica stream failed');
      })
      .finally(() => {
        m.end();
        this.streams.delete(ctl);
        res.destroy();
        log.info('live replica disconnected');
      });
    return 'handled';
  }
}

const GENERATION_RE = /^[0-9a-f]{16}$/;

function parsePos(q: URLSearchParams): StreamPos | undefined {
  const generation = q.get('generation');
  const index = Number(q.get('index'));
  const offset = Number(q.get('offset'));
  if (!generation || !GENERATION_RE.test(generation)) return undefined;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(offset) || index < 0 || offset < 0)
    return undefined;
  return { generation, index, offset };
}
