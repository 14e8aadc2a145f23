/**
 * The replicate process's HTTP server (`addr:` in the config): /healthz, /metrics and the
 * live-replica stream. With `auth-token`, /metrics and /stream want `Authorization: Bearer TOKEN`
 * (/healthz stays open for container health checks: it tells nothing but ready or not).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { UserError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { MonitoredDb } from '../replicate/db.js';
import { PROTOCOL_VERSION, STREAM_CONTENT_TYPE, STREAM_PATH, type StreamPos } from './protocol.js';
import { streamDb } from './stream.js';

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
}

/** Go's `host:port` listen syntax: ":9090" is every interface, "127.0.0.1:9090" only that one. */
export function parseAddr(addr: string): { host?: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) {
    throw new UserError(`addr "${addr}": expected HOST:PORT or :PORT`, {
      hint: 'For example addr: ":9090" (all interfaces) or addr: "127.0.0.1:9090" (this machine only).',
    });
  }
  const host = m[1] ?? m[2];
  return { host: host === '' ? undefined : host, port };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export class LiveServer {
  private readonly streams = new Set<AbortController>();
  private nextId = 0;

  private constructor(
    private readonly server: Server,
    private readonly opts: ServerOptions,
  ) {}

  static async listen(opts: ServerOptions): Promise<LiveServer> {
    const { host, port } = parseAddr(opts.addr);
    const server = createServer();
    const s = new LiveServer(server, opts);
    server.on('request', (req, res) => s.handle(req, res));
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

  private authorized(req: IncomingMessage): boolean {
    const token = this.opts.authToken;
    if (!token) return true;
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    return m !== null && timingSafeEqual(digest(m[1].trim()), digest(token));
  }

  private handle(req: IncomingMessage, res: ServerResponse): Handled {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const text = (status: number, body: string, headers: Record<string, string> = {}): Handled => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
      res.end(`${body}\n`);
      return 'handled';
    };
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return text(405, 'method not allowed', { allow: 'GET' });
    if (url.pathname === '/healthz') {
      const r = this.opts.readiness();
      return r.ready ? text(200, 'ok') : text(503, `starting: waiting for ${r.waiting.join(', ')}`);
    }
    if (url.pathname !== '/metrics' && url.pathname !== STREAM_PATH) return text(404, 'not found');
    if (url.pathname === STREAM_PATH && req.method !== 'GET')
      return text(405, 'method not allowed', { allow: 'GET' });
    if (!this.authorized(req)) {
      this.opts.logger.warn(
        { path: url.pathname, from: req.socket.remoteAddress },
        'http: request refused (bad or missing token)',
      );
      return text(401, 'unauthorized: send Authorization: Bearer <auth-token>', {
        'www-authenticate': 'Bearer',
      });
    }
    if (url.pathname === '/metrics') {
      this.opts.metrics.text().then(
        (body) => {
          res.writeHead(200, { 'content-type': this.opts.metrics.contentType });
          res.end(body);
        },
        (err) => text(500, `metrics failed: ${(err as Error).message}`),
      );
      return 'handled';
    }
    return this.stream(url, req, res, text);
  }

  private stream(
    url: URL,
    req: IncomingMessage,
    res: ServerResponse,
    text: (status: number, body: string, headers?: Record<string, string>) => Handled,
  ): Handled {
    const version = Number(url.searchParams.get('v') ?? PROTOCOL_VERSION);
    if (version !== PROTOCOL_VERSION) {
      return text(
        400,
        `stream protocol ${version} is not supported (this primary speaks ${PROTOCOL_VERSION}): upgrade ls-mix`,
      );
    }
    const wanted = url.searchParams.get('db');
    if (!wanted) return text(400, 'missing ?db=PATH');
    const dbs = this.opts.dbs();
    if (dbs.length === 0) return text(503, 'starting', { 'retry-after': '1' });
    const db = dbs.find((d) => d.path === resolve(wanted));
    if (!db)
      return text(
        404,
        `no database ${wanted} is replicated here (known: ${dbs.map((d) => d.path).join(', ')})`,
      );
    const from = parsePos(url.searchParams);
    const ctl = new AbortController();
    this.streams.add(ctl);
    const id = `live:${++this.nextId}`;
    const log = this.opts.logger.child({ db: db.path, stream: id, from: req.socket.remoteAddress });
    const m = this.opts.metrics.streamStarted(db.path);
    res.on('close', () => ctl.abort());
    res.writeHead(200, { 'content-type': STREAM_CONTENT_TYPE, 'cache-control': 'no-store' });
    res.flushHeaders();
    log.info({ position: from }, 'live replica connected');
    streamDb({ db, from, out: res, signal: ctl.signal, id, onBytes: m.bytes, onSnapshot: m.snapshot })
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

function parsePos(q: URLSearchParams): StreamPos | undefined {
  const generation = q.get('generation');
  const index = Number(q.get('index'));
  const offset = Number(q.get('offset'));
  if (!generation || !Number.isSafeInteger(index) || !Number.isSafeInteger(offset)) return undefined;
  return { generation, index, offset };
}
