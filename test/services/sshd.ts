/**
 * An SFTP server for tests: a private OpenSSH sshd on 127.0.0.1 with its own host key,
 * internal-sftp only, and a dedicated user `lsmix-sftp` that logs in with a key or a password.
 * Needs Debian `openssh-server` and root (sshd checks passwords against /etc/shadow); the user
 * is created on first use (also by .ci/services/install.sh).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { descendants, freePort, killPid, ServerExited, spawnServer, tail, waitFor } from './process.js';

const run = promisify(execFile);

export const SFTP_USER = 'lsmix-sftp';
/** Test-only password of the test-only user. */
export const SFTP_PASSWORD = 'ls-mix-sftp-test-pw';

export interface SshdServer {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Private key (ed25519, no passphrase) accepted for `user`. */
  keyPath: string;
  /** The same key protected by `passphrase`. */
  encryptedKeyPath: string;
  passphrase: string;
  /** `ssh-ed25519 AAAA...`, as in known_hosts. */
  hostKey: string;
  /** `SHA256:...` fingerprint of the host key. */
  hostKeyFingerprint: string;
  /** A known_hosts file trusting this server. */
  knownHostsPath: string;
  /** A folder the user may write to (absolute path on the server). */
  root: string;
  /** Kill sshd (all sessions drop) and start it again on the same port. */
  restart(): Promise<void>;
  /** Kill sshd (all sessions drop; connections are refused until `resume`). */
  pause(): Promise<void>;
  /** Start it again after `pause`, on the same port with the same host key. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

export async function startSshd(): Promise<SshdServer> {
  if (!existsSync('/usr/sbin/sshd')) {
    throw new Error(
      'cannot start sshd: /usr/sbin/sshd is missing — run .ci/services/install.sh (openssh-server)',
    );
  }
  if (process.getuid?.() !== 0)
    throw new Error('cannot start sshd: the SFTP tests need root (password auth)');
  await ensureUser();
  const { stdout: ids } = await run('id', ['-u', SFTP_USER]);
  const uid = Number(ids.trim());
  const { stdout: gids } = await run('id', ['-g', SFTP_USER]);
  const gid = Number(gids.trim());

  const dir = await mkdtemp(join(tmpdir(), 'ls-mix-sshd-'));
  await chmod(dir, 0o755);
  const port = await freePort();
  const hostKeyPath = join(dir, 'ssh_host_ed25519_key');
  const keyPath = join(dir, 'client_ed25519');
  const encryptedKeyPath = join(dir, 'client_ed25519_enc');
  const passphrase = 'ls-mix-key-passphrase';
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ls-mix-test-host', '-f', hostKeyPath]);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ls-mix-test-client', '-f', keyPath]);
  await run('ssh-keygen', [
    '-q',
    '-t',
    'ed25519',
    '-N',
    passphrase,
    '-C',
    'ls-mix-test-client2',
    '-f',
    encryptedKeyPath,
  ]);
  const authorized = join(dir, 'authorized_keys');
  await writeFile(
    authorized,
    (await readFile(`${keyPath}.pub`, 'utf8')) + (await readFile(`${encryptedKeyPath}.pub`, 'utf8')),
  );
  await chmod(authorized, 0o644);
  const hostKey = (await readFile(`${hostKeyPath}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
  const hostKeyFingerprint = `SHA256:${createHash('sha256')
    .update(Buffer.from(hostKey.split(' ')[1], 'base64'))
    .digest('base64')
    .replace(/=+$/, '')}`;
  const knownHostsPath = join(dir, 'known_hosts');
  await writeFile(knownHostsPath, `[127.0.0.1]:${port} ${hostKey}\n`);
  const root = join(dir, 'data');
  await mkdir(root);
  await chown(root, uid, gid);

  const config = join(dir, 'sshd_config');
  await writeFile(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKeyPath}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'UsePAM no',
      'PasswordAuthentication yes',
      'PubkeyAuthentication yes',
      'KbdInteractiveAuthentication no',
      `AuthorizedKeysFile ${authorized}`,
      'StrictModes no',
      'PermitRootLogin no',
      `AllowUsers ${SFTP_USER}`,
      'Subsystem sftp internal-sftp',
      'ForceCommand internal-sftp',
      'MaxStartups 100',
      'MaxSessions 50',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  await mkdir('/run/sshd', { recursive: true });
  const log = join(dir, 'sshd.log');
  let pid: number | undefined;

  const start = async () => {
    const child = spawnServer('/usr/sbin/sshd', ['-D', '-f', config, '-E', log], join(dir, 'sshd.out'));
    pid = child.pid;
    await waitFor(
      `sshd on 127.0.0.1:${port}`,
      async () => {
        if (child.exitCode !== null) throw new ServerExited(`exited with code ${child.exitCode}`);
        return banner(port);
      },
      20_000,
      () => tail(log) + tail(join(dir, 'sshd.out')),
    );
  };
  const stop = async () => {
    await killTree(pid);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await start();
  } catch (err) {
    await stop();
    throw new Error(`cannot start sshd: ${(err as Error).message}`);
  }
  return {
    host: '127.0.0.1',
    port,
    user: SFTP_USER,
    password: SFTP_PASSWORD,
    keyPath,
    encryptedKeyPath,
    passphrase,
    hostKey,
    hostKeyFingerprint,
    knownHostsPath,
    root,
    async restart() {
      // sshd forks processes per session; kill those (our descendants, by PID) so sessions drop.
      await killTree(pid);
      await start();
    },
    async pause() {
      await killTree(pid);
    },
    async resume() {
      await start();
    },
    stop,
  };
}

/** True once something on the port speaks SSH. */
function banner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1_000, () => done(false));
    sock.once('data', (d) => done(d.toString().startsWith('SSH-')));
    sock.once('error', () => done(false));
  });
}

/** Create the test user with its password unless it exists (idempotent). */
async function ensureUser(): Promise<void> {
  const exists = await run('id', ['-u', SFTP_USER]).then(
    () => true,
    () => false,
  );
  if (!exists) {
    // Two test files may race to create it: losing that race is fine.
    await run('useradd', ['--system', '--create-home', '--shell', '/usr/sbin/nologin', SFTP_USER]).catch(
      async (err) => {
        await run('id', ['-u', SFTP_USER]).catch(() => {
          throw err;
        });
      },
    );
  }
  // Always (re)set: a user created elsewhere may have another password.
  const child = execFile('chpasswd');
  child.stdin?.end(`${SFTP_USER}:${SFTP_PASSWORD}\n`);
  await new Promise<void>((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`chpasswd exited ${code}`)))),
  );
}

/** Kill sshd's session processes (children before parents, so each is reaped), then sshd. */
async function killTree(pid: number | undefined): Promise<void> {
  if (!pid) return;
  for (const p of descendants(pid).reverse()) await killPid(p, 1_000);
  await killPid(pid);
}
