/** SFTP: a private sshd on 127.0.0.1 with its own host key (the sidecar checks it). */

import { execFileSync } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type SshdServer, startSshd } from '../services/sshd.js';
import { deploymentScenario } from './scenario.js';

let sshd: SshdServer | undefined;
/** The replica path in litestream.yml is relative: it lands in the SFTP user's home. */
let home = '';

deploymentScenario({
  mix: 'litestream-sftp',
  async start() {
    sshd = await startSshd();
    home = execFileSync('getent', ['passwd', sshd.user], { encoding: 'utf8' }).split(':')[5];
    // A replica left by an earlier run would be restored instead of starting empty.
    await rm(join(home, 'notes-api'), { recursive: true, force: true });
  },
  async stop() {
    await sshd?.stop();
    if (home) await rm(join(home, 'notes-api'), { recursive: true, force: true });
  },
  secrets: () => ({
    SFTP_HOST: '127.0.0.1',
    SFTP_PORT: String(sshd?.port ?? ''),
    SFTP_USERNAME: sshd?.user ?? '',
    SFTP_PASSWORD: sshd?.password ?? '',
    SFTP_HOST_KEY: sshd?.hostKey ?? '',
  }),
  sidecarEnv: () => ({}),
  // sshd killed (sessions drop, connections refused), then started again on the same port.
  outage: {
    down: async () => sshd?.pause(),
    up: async () => sshd?.resume(),
  },
  async listReplica(prefix) {
    const dir = join(home, prefix);
    return (await readdir(dir, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
      .sort();
  },
});
