import { createHash } from 'node:crypto';
import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type RequestOptions,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseXml, type XmlElement } from '@rgrove/parse-xml';
import aws4 from 'aws4';

/**
 * The few S3 REST calls a replica makes, signed with SigV4 (aws4) over node:http(s). The AWS
 * SDK did the same work with ~20 MiB more resident code — a fifth of a sidecar's budget
 * (issue 17). Retries live in retry.ts; this layer makes one attempt per call.
 */

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Called before every request; a provider of temporary keys refreshes them itself. */
export type CredentialSource = () => Promise<S3Credentials>;

export interface S3HttpOptions {
  /** Scheme and host (with port) of the service, without the bucket. */
  endpoint: URL;
  region: string;
  bucket: string;
  /** `endpoint/bucket/key` instead of `bucket.endpoint/key`. */
  pathStyle: boolean;
  credentials: CredentialSource;
  /** Socket idle time before a request fails (ms). */
  timeoutMs: number;
  /** Time to establish a connection (ms). */
  connectTimeoutMs: number;
  /** Accept any TLS certificate (`skip-verify: true`). */
  skipVerify?: boolean;
  /** The local clock (tests give a skewed one). */
  now?: () => number;
}

/**
 * A body sent with its length and SHA-256, so S3 rejects one that arrives altered. `writeTo`,
 * when given, sends it instead of `open` (writeFileRange's reused buffers, spool.ts).
 */
export type S3Body =
  | Buffer
  | { open: () => Readable; writeTo?: (dest: Writable) => Promise<void>; size: number; sha256: string };

export interface S3Request {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE' | 'HEAD';
  /** Object key (unencoded); absent for bucket-level calls. */
  key?: string;
  /** Query parameters; '' values are sent as bare names (`?uploads`). */
  query?: Record<string, string | undefined>;
  headers?: Record<string, string>;
  body?: S3Body;
}

/** An S3 error answer: the code from its XML body, or from the status when there is none (HEAD). */
export class S3Error extends Error {
  constructor(
    readonly s3Code: string,
    readonly status: number,
    message: string,
    readonly headers: IncomingHttpHeaders,
  ) {
    super(message);
    this.name = s3Code;
  }
}

const EMPTY_SHA256 = createHash('sha256').digest('hex');
/** Error bodies are small XML documents; read at most this much of one. */
const MAX_ERROR_BODY = 64 * 1024;

const STATUS_CODES: Record<number, string> = {
  301: 'PermanentRedirect',
  400: 'BadRequest',
  403: 'AccessDenied',
  404: 'NotFound',
  409: 'Conflict',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

/** RFC 3986 encoding, as SigV4's canonical request wants it (encodeURIComponent leaves !'()*). */
export function encodeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export class S3Http {
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly secure: boolean;
  /**
   * Server time minus local time, learned from a RequestTimeTooSkewed answer's Date header: S3
   * refuses signatures more than 15 minutes off, and a sidecar on a drifting clock must not stop.
   */
  private clockOffsetMs = 0;

  constructor(private readonly opts: S3HttpOptions) {
    this.secure = opts.endpoint.protocol === 'https:';
    this.agent = this.secure
      ? new HttpsAgent({ keepAlive: true, maxSockets: 50, rejectUnauthorized: !opts.skipVerify })
      : new HttpAgent({ keepAlive: true, maxSockets: 50 });
  }

  get bucket(): string {
    return this.opts.bucket;
  }

  /**
   * One signed request. Resolves with the response once its status is 2xx (the caller reads
   * or discards the body); rejects with an S3Error otherwise, or with the socket's error.
   */
  async send(req: S3Request): Promise<IncomingMessage> {
    const { endpoint, bucket, pathStyle } = this.opts;
    const host = pathStyle ? endpoint.host : `${bucket}.${endpoint.host}`;
    const keyPath = req.key === undefined ? '' : `/${req.key.split('/').map(encodeRfc3986).join('/')}`;
    // An endpoint may sit under a path (a proxy's /s3): requests go below it.
    const mount = endpoint.pathname.replace(/\/+$/, '');
    const base = mount + (pathStyle ? `/${encodeRfc3986(bucket)}${keyPath}` : keyPath || '/');
    const query = Object.entries(req.query ?? {})
      .filter((e): e is [string, string] => e[1] !== undefined)
      .map(([k, v]) => (v === '' ? encodeRfc3986(k) : `${encodeRfc3986(k)}=${encodeRfc3986(v)}`))
      .join('&');
    const path = query ? `${base}?${query}` : base;

    const body = req.body;
    const size = body === undefined ? undefined : Buffer.isBuffer(body) ? body.length : body.size;
    const sha256 =
      body === undefined
        ? EMPTY_SHA256
        : Buffer.isBuffer(body)
          ? createHash('sha256').update(body).digest('hex')
          : body.sha256;
    const now = (this.opts.now ?? Date.now)() + this.clockOffsetMs;
    const headers: Record<string, string> = {
      Host: host,
      'x-amz-content-sha256': sha256,
      'X-Amz-Date': new Date(now).toISOString().replace(/[:-]|\.\d{3}/g, ''),
      // S3 refuses a POST or PUT sent chunked (no length), as Node sends a bodiless one.
      'Content-Length': String(size ?? 0),
      ...req.headers,
    };
    if (size === undefined && (req.method === 'GET' || req.method === 'HEAD' || req.method === 'DELETE'))
      delete headers['Content-Length'];
    const signed = aws4.sign(
      { service: 's3', region: this.opts.region, method: req.method, host, path, headers },
      await this.opts.credentials(),
    );

    const res = await this.exchange(
      {
        protocol: endpoint.protocol,
        // URL keeps an IPv6 address in brackets; the socket wants it bare (Host keeps them).
        hostname: pathStyle
          ? endpoint.hostname.replace(/^\[(.*)\]$/, '$1')
          : `${bucket}.${endpoint.hostname}`,
        port: endpoint.port || undefined,
        method: req.method,
        path,
        headers: signed.headers as Record<string, string>,
        agent: this.agent,
      },
      body,
    );
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return res;
    const err = errorFrom(
      status,
      res.headers,
      req.method === 'HEAD' ? '' : await readText(res, MAX_ERROR_BODY),
    );
    if (err.s3Code === 'RequestTimeTooSkewed' && res.headers.date) {
      const server = Date.parse(res.headers.date);
      // The retry (retry.ts treats this code as transient) signs with the server's time.
      if (!Number.isNaN(server)) this.clockOffsetMs = server - (this.opts.now ?? Date.now)();
    }
    throw err;
  }

  /** A 2xx answer's XML body, parsed; an `<Error>` document in a 200 (CompleteMultipartUpload) throws. */
  async xml(res: IncomingMessage): Promise<XmlElement> {
    const text = await readText(res, Number.POSITIVE_INFINITY);
    const root = parseXml(text).root;
    if (!root) throw new S3Error('InternalError', res.statusCode ?? 0, 'empty XML answer', res.headers);
    if (root.name === 'Error') throw errorFrom(res.statusCode ?? 0, res.headers, text);
    return root;
  }

  close(): void {
    this.agent.destroy();
  }

  private exchange(options: RequestOptions, body: S3Body | undefined): Promise<IncomingMessage> {
    const { timeoutMs, connectTimeoutMs } = this.opts;
    return new Promise((resolve, reject) => {
      const req = (this.secure ? httpsRequest : httpRequest)(options, resolve);
      req.on('error', reject);
      req.setTimeout(timeoutMs, () => req.destroy(timeoutError(`no answer within ${timeoutMs} ms`)));
      req.on('socket', (socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(
          () => req.destroy(timeoutError(`no connection within ${connectTimeoutMs} ms`)),
          connectTimeoutMs,
        );
        socket.once('connect', () => clearTimeout(timer));
        req.once('close', () => clearTimeout(timer));
      });
      if (body === undefined || Buffer.isBuffer(body)) {
        req.end(body);
      } else if (body.writeTo) {
        body.writeTo(req).then(
          () => req.end(),
          (err) => req.destroy(err),
        );
      } else {
        // A failing source fails the request; an early answer (an error) ends the upload.
        pipeline(body.open(), req).catch((err) => req.destroy(err));
      }
    });
  }
}

function timeoutError(message: string): Error {
  return Object.assign(new Error(message), { code: 'ETIMEDOUT' });
}

/** First child element named `name`, or undefined. */
function child(el: XmlElement, name: string): XmlElement | undefined {
  return children(el, name)[0];
}

/** Every child element named `name`. */
export function children(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c): c is XmlElement => c.type === 'element' && (c as XmlElement).name === name);
}

/** Text of the child element `name`, or undefined. */
export function childText(el: XmlElement, name: string): string | undefined {
  return child(el, name)?.text;
}

/** Escape text for an XML body we send (keys in Delete / CompleteMultipartUpload). */
export function xmlEscape(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string,
  );
}

function errorFrom(status: number, headers: IncomingHttpHeaders, text: string): S3Error {
  let code: string | undefined;
  let message: string | undefined;
  try {
    const root = text ? parseXml(text).root : undefined;
    if (root?.name === 'Error') {
      code = childText(root, 'Code');
      message = childText(root, 'Message');
    }
  } catch {
    // Not XML (a proxy's HTML page): the status speaks for it.
  }
  code ||= STATUS_CODES[status] ?? (status >= 500 ? 'InternalError' : `HTTP${status}`);
  return new S3Error(code, status, message || code, headers);
}

/** The body as text, at most `limit` bytes (the rest is discarded so the socket is freed). */
async function readText(res: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    if (size < limit) chunks.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}
