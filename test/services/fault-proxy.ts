/**
 * Fault injection in front of a real server, on 127.0.0.1:
 * - TcpFaultProxy: forwards bytes; can add latency, reset connections (RST), or go down
 *   (refuse connections) and come back on the same port.
 * - HttpFaultProxy: forwards HTTP requests; can answer the next N with a 5xx/429 instead.
 */
import {
  createServer as createHttpServer,
  type Server as HttpServer,
  request as httpRequest,
} from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';

export interface TcpFaultProxy {
  port: number;
  /** Delay every chunk in both directions by `ms`. */
  setLatency(ms: number): void;
  /**
   * Cap each connection's server-to-client bytes per second (0 = no cap), as a remote store's
   * per-connection throughput is capped; the server is held back (TCP backpressure), not buffered.
   */
  setRate(bytesPerSecond: number): void;
  /** Reset the next `n` connections as soon as the client sends its first bytes. */
  resetNext(n: number): void;
  /** Reset every open connection now. */
  resetAll(): void;
  /**
   * Let `n` more bytes flow from the server to clients (on any connection, open or new), then
   * reset the connection carrying the next byte: a response body cut off mid-way.
   */
  cutResponseAfter(n: number): void;
  /** Stop listening and reset open connections: clients get ECONNREFUSED. */
  down(): Promise<void>;
  /** Listen again on the same port. */
  up(): Promise<void>;
  readonly stats: { connections: number; resets: number };
  stop(): Promise<void>;
}

export async function startTcpFaultProxy(targetPort: number, listenPort = 0): Promise<TcpFaultProxy> {
  let latency = 0;
  let rate = 0;
  let resetBudget = 0;
  let cutAfter: number | undefined;
  const open = new Set<Socket>();
  const stats = { connections: 0, resets: 0 };

  const reset = (s: Socket) => {
    stats.resets++;
    s.resetAndDestroy();
  };

  const onConnection = (client: Socket) => {
    stats.connections++;
    const upstream = connect(targetPort, '127.0.0.1');
    open.add(client);
    open.add(upstream);
    let doomed = resetBudget > 0;
    if (doomed) resetBudget--;
    /** When this connection's rate cap lets its next server byte go. */
    let nextFree = 0;
    const forward = (from: Socket, to: Socket) => {
      from.on('data', (chunk) => {
        if (doomed && from === client) {
          doomed = false;
          reset(client);
          upstream.destroy();
          return;
        }
        if (from === upstream && cutAfter !== undefined) {
          if (chunk.length > cutAfter) {
            const head = chunk.subarray(0, cutAfter);
            cutAfter = undefined;
            client.write(head, () => {
              reset(client);
              upstream.destroy();
            });
            return;
          }
          cutAfter -= chunk.length;
        }
        if (rate > 0 && from === upstream) {
          // Paced: a chunk goes when the cap allows its first byte (timers fire no finer than
          // ~1 ms, so a chunk due within that goes at once; the average rate is the cap).
          const now = performance.now();
          const at = Math.max(now, nextFree);
          nextFree = at + (chunk.length / rate) * 1000;
          const wait = at - now + latency;
          if (wait < 1) {
            to.write(chunk);
            return;
          }
          from.pause();
          setTimeout(() => {
            if (to.writable) to.write(chunk);
            from.resume();
          }, wait);
        } else if (latency > 0) setTimeout(() => to.writable && to.write(chunk), latency);
        else to.write(chunk);
      });
      from.on('end', () => (latency > 0 ? setTimeout(() => to.end(), latency) : to.end()));
    };
    forward(client, upstream);
    forward(upstream, client);
    const close = () => {
      open.delete(client);
      open.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    // The server side failed: pass the failure on to the client as a reset.
    upstream.on('error', () => {
      if (!client.destroyed) reset(client);
      close();
    });
    client.on('close', close);
    upstream.on('close', () => setTimeout(close, latency));
  };

  let server: Server = createServer(onConnection);
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        const addr = server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  const port = await listen(listenPort);
  const resetAll = () => {
    for (const s of [...open]) {
      if (!s.destroyed) reset(s);
    }
    open.clear();
  };
  const down = async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      resetAll();
    });
  };

  return {
    port,
    setLatency: (ms) => {
      latency = ms;
    },
    setRate: (bytesPerSecond) => {
      rate = bytesPerSecond;
    },
    resetNext: (n) => {
      resetBudget = n;
    },
    resetAll,
    cutResponseAfter: (bytes) => {
      cutAfter = bytes;
    },
    down,
    up: async () => {
      server = createServer(onConnection);
      await listen(port);
    },
    stats,
    stop: async () => {
      if (server.listening) await down();
      else resetAll();
    },
  };
}

export interface HttpFaultProxy {
  port: number;
  /** http://127.0.0.1:PORT */
  url: string;
  /** Answer the next `n` requests with `status` (default 503) instead of forwarding them. */
  failNext(n: number, status?: number): void;
  /** Flip one byte in the body of the next `n` requests that carry one (corruption in transit). */
  corruptNext(n: number): void;
  /** Drop the Range header of requests (a server or cache that ignores it answers 200, whole). */
  ignoreRange(on: boolean): void;
  readonly stats: { requests: number; injected: number; corrupted: number };
  /** "METHOD /path?query" of every request, in order (to assert what a call sends). */
  readonly log: string[];
  stop(): Promise<void>;
}

export async function startHttpFaultProxy(targetPort: number): Promise<HttpFaultProxy> {
  let failBudget = 0;
  let failStatus = 503;
  let corruptBudget = 0;
  let dropRange = false;
  const stats = { requests: 0, injected: 0, corrupted: 0 };
  const log: string[] = [];
  const server: HttpServer = createHttpServer((req, res) => {
    stats.requests++;
    log.push(`${req.method} ${req.url}`);
    if (failBudget > 0) {
      failBudget--;
      stats.injected++;
      req.resume();
      req.on('end', () => {
        const code = failStatus === 429 ? 'SlowDown' : 'ServiceUnavailable';
        res.writeHead(failStatus, {
          'content-type': 'application/xml',
          // Azure reads the error code from this header.
          'x-ms-error-code': failStatus === 503 ? 'ServerBusy' : code,
          connection: 'close',
        });
        res.end(
          `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected by test</Message></Error>`,
        );
      });
      return;
    }
    const headers = { ...req.headers };
    if (dropRange) delete headers.range;
    const up = httpRequest(
      { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    if (corruptBudget > 0 && Number(req.headers['content-length'] ?? 0) > 0) {
      corruptBudget--;
      stats.corrupted++;
      let flipped = false;
      req.on('data', (chunk: Buffer) => {
        if (!flipped && chunk.length > 0) {
          chunk[chunk.length >> 1] ^= 0xff;
          flipped = true;
        }
        up.write(chunk);
      });
      req.on('end', () => up.end());
      return;
    }
    req.pipe(up);
  });
  const port = await new Promise<number>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : 0);
    });
  });
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    failNext: (n, status = 503) => {
      failBudget = n;
      failStatus = status;
    },
    corruptNext: (n) => {
      corruptBudget = n;
    },
    ignoreRange: (on) => {
      dropRange = on;
    },
    stats,
    log,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface TlsProxy {
  port: number;
  /** https://127.0.0.1:PORT */
  url: string;
  stop(): Promise<void>;
}

/** TLS in front of a plain-TCP server, with the given (e.g. self-signed) certificate. */
export async function startTlsProxy(
  targetPort: number,
  tls: { cert: string; key: string },
): Promise<TlsProxy> {
  const open = new Set<Socket>();
  const server = createTlsServer({ cert: tls.cert, key: tls.key }, (client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    open.add(client);
    open.add(upstream);
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
  server.on('tlsClientError', () => {}); // a client refusing our certificate is the point of some tests
  const port = await new Promise<number>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : 0);
    });
  });
  return {
    port,
    url: `https://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
