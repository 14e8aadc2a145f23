/**
 * Config loading through the built CLI (`ls-mix databases -config FILE`, `ls-mix replicate`):
 * every error names file, line and key; values that can be checked at load are; `$VAR` is
 * expanded after parsing, so YAML-special secrets are neither printed nor changed; an unset
 * variable is empty with a warning naming the key, as in Litestream.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, killPid, spawnServer, waitFor } from '../../services/process.js';

const ROOT = join(import.meta.dirname, '../../..');
const CLI = join(ROOT, 'bin/run.js');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cli-config-'));
  mkdirSync(join(dir, 'a-directory'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: dir,
    env: { ...process.env, LITESTREAM_CONFIG: '/nonexistent.yml', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let n = 0;
function configFile(text: string): string {
  const f = join(dir, `c${++n}.yml`);
  writeFileSync(f, text);
  return f;
}

const ID = 'AGE-SECRET-KEY-1DQK56SYZGC8VLLHD6MTU3DTY6EAUADL4K5V33JVZ0N5EMF2NWN9QF00P8F';
const RECIPIENT = 'age12mr7uegj4hyapdd9re3njty2erkqsvf4yl2k8e0s87e230sz8ecq3s53q4';

describe('config errors name file:line: key', () => {
  const db = () => join(dir, 'app.db');
  const cases: [string, () => string, number, RegExp, string?][] = [
    ['empty db path', () => 'dbs:\n  - path: ""\n', 2, /^dbs\[0\]\.path: is empty$/],
    [
      'db path is a directory',
      () => `dbs:\n  - path: ${join(dir, 'a-directory')}\n`,
      2,
      /^dbs\[0\]\.path: .*a-directory is a directory, not a database file$/,
    ],
    [
      'bad addr',
      () => `addr: "localhost"\ndbs:\n  - path: ${db()}\n`,
      1,
      /^addr: "localhost" is not HOST:PORT or :PORT$/,
    ],
    [
      'bad upstream url',
      () => `dbs:\n  - path: ${db()}\n    upstream:\n      url: primary:9090\n`,
      4,
      /^dbs\[0\]\.upstream\.url: "primary:9090" must be an http:\/\/ or https:\/\/ URL$/,
    ],
    [
      'bad age recipient',
      () =>
        `dbs:\n  - path: ${db()}\n    replicas:\n      - path: ${join(dir, 'r')}\n        age:\n          recipients: [${RECIPIENT.slice(0, -1)}x]\n`,
      6,
      /^dbs\[0\]\.replicas\[0\]\.age\.recipients\[0\]: "age1.*" is not a valid age recipient/,
    ],
    [
      'bad age identity (never echoed)',
      () =>
        `dbs:\n  - path: ${db()}\n    replicas:\n      - path: ${join(dir, 'r')}\n        age:\n          recipients: [${RECIPIENT}]\n          identities:\n            - ${ID.slice(0, -2)}QQ\n`,
      8,
      /^dbs\[0\]\.replicas\[0\]\.age\.identities\[0\]: is not a valid age identity/,
      ID.slice(0, -2),
    ],
    [
      'endpoint not a URL',
      () =>
        `dbs:\n  - path: ${db()}\n    replicas:\n      - type: s3\n        bucket: b\n        endpoint: "not a url"\n`,
      6,
      /^dbs\[0\]\.replicas\[0\]\.endpoint: "not a url" is not a URL/,
    ],
    [
      'account-key not base64 (never echoed)',
      () =>
        `dbs:\n  - path: ${db()}\n    replicas:\n      - type: abs\n        account-name: acct\n        bucket: c\n        account-key: "s3cr3t!key"\n`,
      7,
      /^dbs\[0\]\.replicas\[0\]\.account-key: is not base64/,
      's3cr3t!key',
    ],
    [
      'replica path is the db file',
      () => `dbs:\n  - path: ${db()}\n    replicas:\n      - path: ${db()}\n`,
      4,
      /^dbs\[0\]\.replicas\[0\]\.path: is the database file itself/,
    ],
    [
      'replica inside the local state',
      () =>
        `dbs:\n  - path: ${db()}\n    replicas:\n      - url: file://${join(dir, '.app.db-litestream', 'r')}\n`,
      4,
      /^dbs\[0\]\.replicas\[0\]\.url: is inside the database's local state/,
    ],
    ['empty auth-token', () => `auth-token: "  "\ndbs: []\n`, 1, /^auth-token: is empty/],
  ];
  it.each(cases)('%s', (_name, text, line, message, secret) => {
    const file = configFile(text());
    const r = cli(['databases', '-config', file]);
    expect(r.code, r.stderr).toBe(1);
    const first = r.stderr.split('\n')[0];
    expect(first.startsWith(`Error: ${file}:${line}: `), first).toBe(true);
    expect(first.slice(`Error: ${file}:${line}: `.length)).toMatch(message);
    if (secret) expect(r.stderr + r.stdout).not.toContain(secret);
  });

  it('an unset variable is empty with a warning naming file:line: key (as Litestream)', () => {
    const file = configFile(
      `dbs:\n  - path: ${db()}\n    replicas:\n      - type: s3\n        bucket: b\n        endpoint: $AWS_ENDPOINT_URL_S3\n`,
    );
    const r = cli(['databases', '-config', file], {});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.trim()).toBe(
      `Warning: ${file}:6: dbs[0].replicas[0].endpoint: environment variable AWS_ENDPOINT_URL_S3 is not set; using an empty value`,
    );
  });

  it('an unset variable where empty cannot work is an error saying so', () => {
    const file = configFile(
      `dbs:\n  - path: ${db()}\n    replicas:\n      - type: s3\n        bucket: \${BUCKET}\n`,
    );
    const r = cli(['databases', '-config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `Error: ${file}:5: dbs[0].replicas[0].bucket: s3 replica needs a bucket (it comes from $BUCKET, which is not set)`,
    );
  });

  it.each(['WARN', 'warning', 'Warning', 'ERROR', 'Debug'])('logging.level %s is accepted', (level) => {
    const file = configFile(`logging:\n  level: ${level}\ndbs: []\n`);
    expect(cli(['databases', '-config', file]).code).toBe(0);
  });
});

// Values that change a YAML document when pasted into it as text (Litestream's way).
const SECRETS = ['*hunter2', '|hunter2', '&x hunter2', '!x hunter2', 'hunter2 #b', 'hunter2: x'];

describe('secrets are expanded after parsing', () => {
  it.each(SECRETS)('%j is neither printed nor changed', async (secret) => {
    // Not printed: the config loads (no YAML error quoting it) and nothing shows it.
    const file = configFile(
      `dbs:\n  - path: ${join(dir, 'app.db')}\n    replicas:\n      - type: sftp\n        host: h\n        password: \${SFTP_PASSWORD}\n`,
    );
    const r = cli(['databases', '-config', file], { SFTP_PASSWORD: secret });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain('hunter2');
    // A config error elsewhere in the same file does not show it either.
    const bad = configFile(`${readConfig(file)}        bogus: 1\n`);
    const e = cli(['databases', '-config', bad], { SFTP_PASSWORD: secret });
    expect(e.code).toBe(1);
    expect(e.stdout + e.stderr).not.toContain('hunter2');

    // Not changed: a replicate process with the secret as its auth-token accepts exactly it.
    const port = await freePort();
    const served = configFile(
      `addr: "127.0.0.1:${port}"\nauth-token: \${TOKEN}\ndbs:\n  - path: ${join(dir, `s${n}.db`)}\n    replicas:\n      - path: ${join(dir, `sr${n}`)}\n`,
    );
    const log = join(dir, `replicate-${n}.log`);
    const child = spawnServer(
      'env',
      [`TOKEN=${secret}`, process.execPath, CLI, 'replicate', '-config', served],
      log,
    );
    try {
      const metrics = (token: string) =>
        fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${token}` } }).then(
          (res) => res.status,
          () => 0,
        );
      await waitFor(
        'replicate serving',
        async () => (await metrics(secret)) === 200,
        30_000,
        () => readConfig(log),
      );
      expect(await metrics('hunter2')).toBe(401);
      expect(readConfig(log)).not.toContain('hunter2');
    } finally {
      await killPid(child.pid, 5_000);
    }
  });
});

function readConfig(f: string): string {
  return readFileSync(f, 'utf8');
}
