/**
 * SFTP client against a real OpenSSH sshd: host-key verification (pinned key, fingerprint,
 * known_hosts, unknown and wrong keys refused with the fingerprint to pin), password / key /
 * encrypted-key auth, wrong password, a dropped connection, resets and an outage.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplicaConfig } from '../../../runtime/config/types.js';
import { openReplicaClient } from '../../../runtime/replica/index.js';
import { ReplicaError } from '../../../runtime/replica/retry.js';
import { createSftpReplicaClient } from '../../../runtime/replica/sftp.js';
import { startTcpFaultProxy, type TcpFaultProxy } from '../../services/fault-proxy.js';
import { type SshdServer, startSshd } from '../../services/sshd.js';
import { body, readAll } from '../replica-contract/contract.js';
import { captureLogger, errorOf, PATIENT_RETRY, QUICK_RETRY, replicaCfg } from './helpers.js';

const GEN = '00112233aabbccdd';
let sshd: SshdServer;
let tcp: TcpFaultProxy;
let scratch: string;
let n = 0;

beforeAll(async () => {
  sshd = await startSshd();
  tcp = await startTcpFaultProxy(sshd.port);
  scratch = await mkdtemp(join(tmpdir(), 'ls-mix-sftp-faults-'));
});
afterAll(async () => {
  await tcp?.stop();
  await sshd?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

function cfg(extra: Partial<ReplicaConfig> = {}, port = sshd.port): ReplicaConfig {
  return replicaCfg({
    type: 'sftp',
    name: 'my-sftp',
    path: `${sshd.root}/faults-${n++}`,
    host: `127.0.0.1:${port}`,
    user: sshd.user,
    keyPath: sshd.keyPath,
    hostKey: sshd.hostKey,
    ...extra,
  });
}

describe('sftp host-key verification', () => {
  it('refuses an unknown host key and prints the fingerprint to pin', async () => {
    // No host-key and a known_hosts without this server: nothing vouches for it.
    const empty = join(scratch, 'empty_known_hosts');
    await writeFile(empty, '');
    const c = await createSftpReplicaClient(cfg({ hostKey: undefined, knownHostsPath: empty }), {
      retry: QUICK_RETRY,
    });
    const err = await errorOf(c.generations());
    expect(err).toBeInstanceOf(ReplicaError);
    expect(err.message).toBe(
      `replica "my-sftp": host key of 127.0.0.1:${sshd.port} is not trusted: ${sshd.hostKeyFingerprint}`,
    );
    expect(err.hint).toContain(`host-key: "${sshd.hostKeyFingerprint}"`);
    expect(err.hint).toContain(sshd.hostKey);
    await c.close();
  });

  it('refuses a host key that differs from the pinned one (no retries)', async () => {
    const other = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBavSczn9QkVS7ov+yGFF0TxBk78b1UAOvElEbC9snep';
    const c = await createSftpReplicaClient(cfg({ hostKey: other }), { retry: QUICK_RETRY });
    const before = tcp.stats.connections;
    const err = await errorOf(c.generations());
    expect(err.message).toMatch(
      new RegExp(
        `does not match: the server offered ${escapeRegExp(sshd.hostKeyFingerprint)}, expected SHA256:`,
      ),
    );
    expect(err.transient).toBe(false);
    expect(tcp.stats.connections).toBe(before);
    await c.close();
  });

  it('accepts the pinned key line, its SHA256 fingerprint, or a known_hosts entry', async () => {
    for (const extra of [
      { hostKey: sshd.hostKey },
      { hostKey: sshd.hostKeyFingerprint },
      { hostKey: undefined, knownHostsPath: sshd.knownHostsPath },
    ]) {
      const c = await createSftpReplicaClient(cfg(extra), {});
      expect(await c.generations()).toEqual([]);
      await c.close();
    }
  });

  it('connects to any key only with insecure-ignore-host-key: true, and warns about it', async () => {
    const { logger, lines } = captureLogger();
    const c = await createSftpReplicaClient(cfg({ hostKey: undefined, insecureIgnoreHostKey: true }), {
      logger,
    });
    expect(await c.generations()).toEqual([]);
    expect(lines.some((l) => l.level === 40 && /insecure-ignore-host-key/.test(String(l.msg)))).toBe(true);
    await c.close();
  });
});

describe('sftp authentication', () => {
  it('logs in with a password, a key, and a passphrase-protected key', async () => {
    for (const extra of [
      { keyPath: undefined, password: sshd.password },
      { keyPath: sshd.keyPath },
      { keyPath: sshd.encryptedKeyPath, passphrase: sshd.passphrase },
    ]) {
      const c = await createSftpReplicaClient(cfg(extra), {});
      await c.writeSnapshot(GEN, 1, body('auth ok'));
      expect((await readAll(await c.openSnapshot(GEN, 1))).toString()).toBe('auth ok');
      await c.close();
    }
  });

  it('reports a wrong password once, clearly, without the password', async () => {
    const password = 'wrong-password-do-not-print';
    const c = await createSftpReplicaClient(cfg({ keyPath: undefined, password }), { retry: QUICK_RETRY });
    const err = await errorOf(c.generations());
    expect(err.message).toBe(
      'replica "my-sftp": LIST generations/: authentication failed for user "lsmix-sftp"',
    );
    expect(err.transient).toBe(false);
    expect(JSON.stringify({ m: err.message, h: err.hint })).not.toContain(password);
    await c.close();
  });

  it('reports an encrypted key without passphrase and an unreadable key path', async () => {
    const c = await createSftpReplicaClient(cfg({ keyPath: sshd.encryptedKeyPath }), { retry: QUICK_RETRY });
    expect((await errorOf(c.generations())).message).toMatch(/cannot use the private key/);
    await c.close();
    const missing = join(scratch, 'no-such-key');
    await expect(createSftpReplicaClient(cfg({ keyPath: missing }), {})).rejects.toThrow(
      `replica "my-sftp": cannot read key-path ${missing}`,
    );
  });

  it('is reachable through openReplicaClient, with a url-style password never shown in errors', async () => {
    const password = 'url-pass-do-not-print';
    const c = await openReplicaClient(
      cfg({ keyPath: undefined, password, url: `sftp://u:${password}@h/p` }),
      {},
    );
    const err = await errorOf(c.generations());
    expect(err.message).toMatch(/authentication failed/);
    expect(`${err.message} ${err.hint}`).not.toContain(password);
    await c.close();
  });
});

describe('sftp connection faults', () => {
  it('reconnects after the server dropped the session (sshd restarted between calls)', async () => {
    const c = await createSftpReplicaClient(cfg(), { retry: PATIENT_RETRY });
    await c.writeWalSegment({ generation: GEN, index: 1, offset: 0 }, body('first'));
    await sshd.restart();
    await c.writeWalSegment({ generation: GEN, index: 1, offset: 5 }, body('second'));
    expect((await c.walSegments(GEN)).map((s) => [s.offset, s.size])).toEqual([
      [0, 5],
      [5, 6],
    ]);
    await c.close();
  });

  it('resumes a download cut off mid-body from the first missing byte', async () => {
    const { logger, lines } = captureLogger();
    const c = await createSftpReplicaClient(cfg({}, tcp.port), { logger, retry: QUICK_RETRY });
    const payload = randomBytes(3_000_000);
    await c.writeSnapshot(GEN, 5, body(payload));
    tcp.cutResponseAfter(1_000_000);
    const got = await readAll(await c.openSnapshot(GEN, 5));
    expect(got.length).toBe(payload.length);
    expect(got.equals(payload)).toBe(true);
    const resumed = lines.filter((l) => /resuming/.test(String(l.msg)));
    expect(resumed).toHaveLength(1);
    expect(Number(resumed[0].received)).toBeGreaterThan(0);
    await c.close();
  });

  it('resumes parallel downloads that one lost session broke together', async () => {
    const c = await createSftpReplicaClient(cfg({}, tcp.port), { retry: QUICK_RETRY });
    const payloads = [0, 1, 2, 3].map(() => randomBytes(800_000));
    for (const [i, p] of payloads.entries()) await c.writeSnapshot(GEN, 10 + i, body(p));
    tcp.cutResponseAfter(1_200_000);
    const got = await Promise.all(payloads.map((_, i) => c.openSnapshot(GEN, 10 + i).then(readAll)));
    for (const [i, g] of got.entries()) expect(g.equals(payloads[i]), `snapshot ${i}`).toBe(true);
    await c.close();
  });

  it('survives connection resets (the next attempt opens a new session)', async () => {
    const c = await createSftpReplicaClient(cfg({}, tcp.port), { retry: QUICK_RETRY });
    await c.generations(); // session up
    tcp.resetAll();
    tcp.resetNext(1);
    await c.writeSnapshot(GEN, 1, body(Buffer.alloc(100_000, 9)));
    expect((await c.snapshots(GEN)).map((s) => s.size)).toEqual([100_000]);
    await c.close();
  });

  it('rides out an outage (connections refused) that ends during the call, leaving no temp files', async () => {
    const { logger, lines } = captureLogger();
    const conf = cfg({}, tcp.port);
    const c = await createSftpReplicaClient(conf, { logger, retry: PATIENT_RETRY });
    await c.writeWalSegment({ generation: GEN, index: 1, offset: 0 }, body('before'));
    await tcp.down();
    const write = c.writeWalSegment({ generation: GEN, index: 1, offset: 6 }, body('during outage'));
    await new Promise((r) => setTimeout(r, 1_500));
    await tcp.up();
    expect((await write).size).toBe(13);
    expect((await c.walSegments(GEN)).map((s) => s.offset)).toEqual([0, 6]);
    expect(lines.some((l) => /ECONNREFUSED/.test(String(l.reason)))).toBe(true);
    await c.close();
    // The server's folder (local here) holds just the two segments: no temp files left over.
    expect((await readdir(join(conf.path, 'generations', GEN, 'wal'))).sort()).toEqual([
      '00000001_00000000.wal.lz4',
      '00000001_00000006.wal.lz4',
    ]);
  });
});

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
