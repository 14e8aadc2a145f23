import { createHash, createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * SSH host-key checking for the SFTP replica: a pinned key (`host-key:`, either the public key
 * line as in known_hosts or its SHA256 fingerprint) and/or a known_hosts file. Keys are
 * compared as raw public-key blobs, the form ssh2's hostVerifier receives.
 */

/** `SHA256:<base64 without padding>`, as `ssh-keygen -lf` prints it. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type stored inside a public-key blob (`ssh-ed25519`, `ecdsa-sha2-nistp256`, ...). */
export function keyType(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const len = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + len).toString('latin1');
}

export type HostKeyDecision =
  | { ok: true }
  | { ok: false; reason: 'unknown' | 'mismatch' | 'revoked'; expected?: string[] };

export interface HostKeyPolicy {
  host: string;
  port: number;
  /** `ssh-ed25519 AAAA...` (optionally with a host in front or a comment after) or `SHA256:...`. */
  hostKey?: string;
  knownHostsPath?: string;
  insecureIgnoreHostKey?: boolean;
}

/** The known_hosts used when neither host-key nor known-hosts-path is configured. */
export function defaultKnownHostsPath(): string | undefined {
  const p = join(homedir(), '.ssh', 'known_hosts');
  return existsSync(p) ? p : undefined;
}

export function checkHostKey(policy: HostKeyPolicy, offered: Buffer): HostKeyDecision {
  if (policy.insecureIgnoreHostKey) return { ok: true };
  const offeredFp = fingerprint(offered);
  const expected: string[] = [];
  if (policy.hostKey) {
    for (const pin of policy.hostKey
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean)) {
      const fp = pin.startsWith('SHA256:') ? pin.replace(/=+$/, '') : pinnedBlobFingerprint(pin);
      if (fp === offeredFp) return { ok: true };
      expected.push(fp ?? pin);
    }
  }
  const knownHosts = policy.knownHostsPath ?? (policy.hostKey ? undefined : defaultKnownHostsPath());
  if (knownHosts) {
    const entries = readKnownHosts(knownHosts).filter((e) => matchesHost(e.hosts, policy.host, policy.port));
    if (entries.some((e) => e.marker === '@revoked' && e.fingerprint === offeredFp)) {
      return { ok: false, reason: 'revoked' };
    }
    for (const e of entries) {
      if (e.marker) continue;
      if (e.fingerprint === offeredFp) return { ok: true };
      expected.push(e.fingerprint);
    }
  }
  return expected.length > 0 ? { ok: false, reason: 'mismatch', expected } : { ok: false, reason: 'unknown' };
}

/** Fingerprint of the base64 key blob inside a `[host] type base64 [comment]` line. */
function pinnedBlobFingerprint(line: string): string | undefined {
  const tokens = line.split(/\s+/);
  for (let i = 0; i + 1 < tokens.length; i++) {
    if (/^(ssh-|ecdsa-|sk-)/.test(tokens[i])) {
      const blob = Buffer.from(tokens[i + 1], 'base64');
      if (blob.length > 0 && keyType(blob) === tokens[i]) return fingerprint(blob);
    }
  }
  return undefined;
}

interface KnownHost {
  marker?: string;
  hosts: string;
  fingerprint: string;
}

function readKnownHosts(path: string): KnownHost[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const out: KnownHost[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const tokens = line.split(/\s+/);
    const marker = tokens[0].startsWith('@') ? tokens.shift() : undefined;
    if (tokens.length < 3) continue;
    const blob = Buffer.from(tokens[2], 'base64');
    if (keyType(blob) !== tokens[1]) continue;
    out.push({ marker, hosts: tokens[0], fingerprint: fingerprint(blob) });
  }
  return out;
}

/** OpenSSH host matching: `host` for port 22, `[host]:port` otherwise; hashed `|1|salt|hash`, `*`/`?`, `!neg`. */
function matchesHost(patterns: string, host: string, port: number): boolean {
  const name = port === 22 ? host : `[${host}]:${port}`;
  if (patterns.startsWith('|1|')) {
    const [, , salt, hash] = patterns.split('|');
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return mac === hash;
  }
  let matched = false;
  for (const p of patterns.split(',')) {
    const negated = p.startsWith('!');
    const glob = negated ? p.slice(1) : p;
    const re = new RegExp(
      `^${glob
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
      'i',
    );
    if (re.test(name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}
