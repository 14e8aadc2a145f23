import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import type { SFTPWrapper } from 'ssh2';
import SftpClient from 'ssh2-sftp-client';
import type { ReplicaConfig } from '../config/types.js';
import { UserError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ReplicaClient } from './client.js';
import {
  type CloudClientOptions,
  joinKey,
  type ObjectStore,
  ObjectStoreReplicaClient,
  type StoreEntry,
} from './object-store.js';
import { networkFailure, ReplicaError, type Verdict } from './retry.js';
import { checkHostKey, fingerprint, type HostKeyPolicy, keyType } from './sftp/host-key.js';
import { pipelinedRead } from './sftp/pipelined-read.js';
import type { Spooled } from './spool.js';

/**
 * `type: sftp` — any SSH server with SFTP. The host key is verified by default (host-key /
 * known-hosts-path / ~/.ssh/known_hosts). Writes go to a temp name and are renamed into
 * place (posix-rename), so readers never see half an object. A dropped session is
 * reconnected on the next attempt.
 */
export async function createSftpReplicaClient(
  cfg: ReplicaConfig,
  opts: CloudClientOptions = {},
): Promise<ReplicaClient> {
  const replica = cfg.name;
  if (!cfg.host) {
    throw new UserError(`replica "${replica}": sftp replica needs a host`, {
      hint: 'set `host:` or use `url: sftp://USER@HOST[:PORT]/PATH`',
    });
  }
  if (!cfg.user) {
    throw new UserError(`replica "${replica}": sftp replica needs a user`, {
      hint: 'set `user:` or use `url: sftp://USER@HOST/PATH`',
    });
  }
  const { host, port } = splitHostPort(cfg.host, replica);
  let privateKey: Buffer | undefined;
  if (cfg.keyPath) {
    try {
      privateKey = await readFile(cfg.keyPath);
    } catch (err) {
      throw new UserError(
        `replica "${replica}": cannot read key-path ${cfg.keyPath}: ${(err as Error).message}`,
        {
          hint: 'point `key-path:` at a readable private key (OpenSSH or PEM)',
        },
      );
    }
  }
  if (!privateKey && !cfg.password) {
    throw new UserError(`replica "${replica}": sftp replica needs a password or key-path`, {
      hint: 'set `key-path:` (preferred) or `password:` (from an environment variable, e.g. $SFTP_PASSWORD)',
    });
  }
  const store = new SftpStore(
    {
      replica,
      host,
      port,
      user: cfg.user,
      password: cfg.password,
      privateKey,
      passphrase: cfg.passphrase,
      hostKey: {
        host,
        port,
        hostKey: cfg.hostKey,
        knownHostsPath: cfg.knownHostsPath,
        insecureIgnoreHostKey: cfg.insecureIgnoreHostKey,
      },
      timeoutMs: opts.timeoutMs ?? 30_000,
      logger: opts.logger,
    },
    cfg.path ?? '',
  );
  if (cfg.insecureIgnoreHostKey) {
    opts.logger?.warn({ replica }, 'insecure-ignore-host-key is set: the SFTP server is not authenticated');
  }
  return new ObjectStoreReplicaClient(store, {
    replica,
    logger: opts.logger,
    retry: opts.retry,
    memoryLimit: opts.memoryLimit,
  });
}

interface SftpSettings {
  replica: string;
  host: string;
  port: number;
  user: string;
  password?: string;
  privateKey?: Buffer;
  passphrase?: string;
  hostKey: HostKeyPolicy;
  timeoutMs: number;
  logger?: Logger;
}

/** ssh2's SFTP session under each client: pipelined reads use it directly (sftp/pipelined-read.ts). */
const sessions = new WeakMap<SftpClient, SFTPWrapper>();

/** SFTP status codes (draft-ietf-secsh-filexfer). */
const NO_SUCH_FILE = 2;

class SftpStore implements ObjectStore {
  readonly type = 'sftp' as const;
  private client?: SftpClient;
  private connecting?: Promise<SftpClient>;
  /** Folders known to exist: `mkdir -p` once per generation, not on every write. */
  private readonly dirs = new Map<string, Promise<void>>();

  constructor(
    private readonly s: SftpSettings,
    private readonly root: string,
  ) {}

  /** Absolute root paths stay absolute; relative ones resolve against the login folder. */
  private key(rel: string): string {
    const joined = joinKey(this.root, rel);
    return this.root.startsWith('/') ? `/${joined}` : joined;
  }

  private session(): Promise<SftpClient> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(): Promise<SftpClient> {
    let c: SftpClient | undefined;
    // The library's default callbacks print to the console; ours only forget the session.
    const forget = (err?: Error) => {
      if (err) this.s.logger?.debug({ replica: this.s.replica, err: err.message }, 'sftp connection error');
      if (c && this.client === c) this.client = undefined;
    };
    c = new (SftpClient as unknown as new (name: string, callbacks: object) => SftpClient)('ls-mix', {
      error: forget,
      end: () => forget(),
      close: () => forget(),
    });
    let rejected: { offered: Buffer; reason: string; expected?: string[] } | undefined;
    try {
      const wrapper = await c.connect({
        host: this.s.host,
        port: this.s.port,
        username: this.s.user,
        password: this.s.password,
        privateKey: this.s.privateKey,
        passphrase: this.s.passphrase,
        readyTimeout: this.s.timeoutMs,
        keepaliveInterval: 10_000,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer) => {
          const decision = checkHostKey(this.s.hostKey, key);
          if (!decision.ok) rejected = { offered: key, reason: decision.reason, expected: decision.expected };
          return decision.ok;
        },
        // ssh2-sftp-client has its own connect retry; ours (retry.ts) already covers it.
        retries: 0,
      } as SftpClient.ConnectOptions);
      sessions.set(c, wrapper);
    } catch (err) {
      await c.end().catch(() => {});
      if (rejected) throw this.hostKeyError(rejected);
      throw err;
    }
    // Many parallel calls each add a temporary listener to the one connection.
    (c as unknown as { client: { setMaxListeners(n: number): void } }).client.setMaxListeners(0);
    this.client = c;
    return c;
  }

  private hostKeyError(r: { offered: Buffer; reason: string; expected?: string[] }): ReplicaError {
    const where = this.s.port === 22 ? this.s.host : `${this.s.host}:${this.s.port}`;
    const fp = fingerprint(r.offered);
    const line = `${keyType(r.offered)} ${r.offered.toString('base64')}`;
    if (r.reason === 'mismatch') {
      return new ReplicaError(
        this.s.replica,
        `host key of ${where} does not match: the server offered ${fp}, expected ${r.expected?.join(' or ')}`,
        {
          hint: 'the server was reinstalled or the connection is being intercepted; update host-key only if you trust the new key',
          transient: false,
        },
      );
    }
    return new ReplicaError(
      this.s.replica,
      r.reason === 'revoked'
        ? `host key of ${where} (${fp}) is marked @revoked in known_hosts`
        : `host key of ${where} is not trusted: ${fp}`,
      {
        hint: `if this is your server, pin its key with \`host-key: "${fp}"\` (or \`host-key: "${line}"\`, or add it to known-hosts-path); \`insecure-ignore-host-key: true\` turns the check off`,
        transient: false,
      },
    );
  }

  /**
   * Run `fn` on the current session. Errors remember which session they came from, so a
   * failure on a session that was already replaced never tears down the new one.
   */
  private async use<T>(fn: (c: SftpClient) => Promise<T>): Promise<T> {
    const c = await this.session();
    try {
      return await fn(c);
    } catch (err) {
      tagSession(err, c);
      throw err;
    }
  }

  listDir(dir: string): Promise<StoreEntry[]> {
    return this.use(async (c) => {
      let list: SftpClient.FileInfo[];
      try {
        list = await c.list(this.key(dir));
      } catch (err) {
        if (isNoSuchFile(err)) return [];
        throw err;
      }
      return list.map((f) => ({
        name: f.name,
        isDir: f.type === 'd',
        size: f.size,
        createdAt: new Date(f.modifyTime),
      }));
    });
  }

  put(rel: string, body: Spooled): Promise<{ createdAt: Date }> {
    return this.use(async (c) => {
      const path = this.key(rel);
      const dir = posix.dirname(path);
      const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
      await this.ensureDir(c, dir);
      try {
        try {
          await upload(c, body, tmp);
        } catch (err) {
          // The folder went away since we created it (retention removed the generation).
          if (!isNoSuchFile(err)) throw err;
          this.dirs.delete(dir);
          await this.ensureDir(c, dir);
          await upload(c, body, tmp);
        }
        await c.posixRename(tmp, path);
      } catch (err) {
        await c.delete(tmp, true).catch(() => {});
        throw err;
      }
      const st = await c.stat(path);
      return { createdAt: new Date(st.modifyTime) };
    });
  }

  /** `mkdir -p` once per folder; parallel writes into a new folder share one attempt. */
  private ensureDir(c: SftpClient, dir: string): Promise<void> {
    let pending = this.dirs.get(dir);
    if (!pending) {
      pending = mkdirp(c, dir);
      pending.catch(() => this.dirs.delete(dir));
      this.dirs.set(dir, pending);
    }
    return pending;
  }

  get(rel: string, start: number): Promise<{ body: Readable; size?: number }> {
    return this.use(async (c) => {
      const path = this.key(rel);
      const st = await c.stat(path); // a missing object fails here, not later on the stream
      const sftp = sessions.get(c) as SFTPWrapper;
      const handle = await new Promise<Buffer>((resolve, reject) =>
        sftp.open(path, 'r', (err, h) => (err ? reject(err) : resolve(h))),
      );
      // A session ended meanwhile makes the close fail, with nobody left to tell: ignored.
      // Errors during the transfer reach the reader, tagged with their session.
      const body = pipelinedRead(sftp, handle, start, st.size, {
        onClose: () => sftp.close(handle, () => {}),
      });
      body.on('error', (err: Error) => tagSession(err, c));
      return { body, size: st.size };
    });
  }

  deleteKeys(rels: string[]): Promise<void> {
    // SFTP pipelines requests over one channel: issue them together.
    return this.use(async (c) => {
      await Promise.all(rels.map((r) => c.delete(this.key(r), true)));
    });
  }

  deleteTree(dir: string): Promise<void> {
    return this.use(async (c) => {
      const path = this.key(dir);
      if (await c.exists(path)) await c.rmdir(path, true);
      for (const d of [...this.dirs.keys()]) if (d === path || d.startsWith(`${path}/`)) this.dirs.delete(d);
    });
  }

  classify(err: unknown): Verdict {
    if (isNoSuchFile(err)) return { kind: 'notfound' };
    const msg = err instanceof Error ? err.message : String(err);
    const code = (err as { code?: unknown }).code;
    const level = (err as { level?: string }).level;
    if (level === 'client-authentication' || /authentication methods failed/i.test(msg)) {
      return {
        kind: 'permanent',
        reason: `authentication failed for user "${this.s.user}"`,
        hint: 'check password / key-path (and passphrase) for this user',
      };
    }
    if (/passphrase|parse privatekey|unsupported key format|cannot parse/i.test(msg)) {
      return {
        kind: 'permanent',
        reason: 'cannot use the private key',
        hint: 'check key-path and passphrase',
      };
    }
    if (code === 3 || code === 'EACCES' || /permission denied/i.test(msg)) {
      return {
        kind: 'permanent',
        reason: `permission denied (${stripPrefix(msg)})`,
        hint: 'check the path and its owner on the server',
      };
    }
    if (code === 'ENOTFOUND') {
      return {
        kind: 'permanent',
        reason: `host "${this.s.host}" not found`,
        hint: 'check `host:` / the sftp:// URL',
      };
    }
    const net = networkFailure(err);
    if (net || code === 'ERR_NOT_CONNECTED' || code === 'ERR_GENERIC_CLIENT' || level === 'client-timeout') {
      return { kind: 'transient', reason: net ?? stripPrefix(msg) };
    }
    if (/connection|channel|No SFTP|no response from server|closed|ended|refused|timed out/i.test(msg))
      return { kind: 'transient', reason: stripPrefix(msg) };
    return { kind: 'permanent', reason: stripPrefix(msg) };
  }

  /** After a transient failure: drop the session; the next attempt reconnects. */
  async reset(err?: unknown): Promise<void> {
    const failed = sessionOf(err);
    if (failed && failed !== this.client) {
      // That session was already replaced: just make sure it is gone.
      await failed.end().catch(() => {});
      return;
    }
    const c = this.client;
    this.client = undefined;
    this.dirs.clear();
    if (c) await c.end().catch(() => {});
  }

  async close(): Promise<void> {
    await this.reset();
  }
}

async function mkdirp(c: SftpClient, dir: string): Promise<void> {
  if (await c.exists(dir)) return;
  try {
    await c.mkdir(dir, true);
  } catch (err) {
    // Another writer (or client) may have created it in the meantime.
    if ((await c.exists(dir)) !== 'd') throw err;
  }
}

const failedSessions = new WeakMap<object, SftpClient>();

function tagSession(err: unknown, c: SftpClient): void {
  if (err && typeof err === 'object' && !failedSessions.has(err)) failedSessions.set(err, c);
}

function sessionOf(err: unknown): SftpClient | undefined {
  return err && typeof err === 'object' ? failedSessions.get(err) : undefined;
}

/** Small bodies from memory; spooled snapshots with fastPut (parallel, pipelined writes). */
async function upload(c: SftpClient, body: Spooled, remote: string): Promise<void> {
  if (body.buffer) await c.put(body.buffer, remote);
  else await c.fastPut(body.file as string, remote);
}

function isNoSuchFile(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === NO_SUCH_FILE || code === 'ENOENT' || /no such file/i.test((err as Error)?.message ?? '');
}

/** Drop ssh2-sftp-client's "method: " prefixes so messages read as one sentence. */
function stripPrefix(msg: string): string {
  return msg.replace(/^(\w+(->|: ))+/, '').slice(0, 200);
}

/** `host`, `host:port` or `[v6]:port`; port defaults to 22. */
function splitHostPort(value: string, replica: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(value) ?? /^([^:]+)(?::(\d+))?$/.exec(value);
  const port = m?.[2] ? Number(m[2]) : 22;
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UserError(`replica "${replica}": invalid sftp host "${value}"`, {
      hint: 'use host or host:port',
    });
  }
  return { host: m[1], port };
}
