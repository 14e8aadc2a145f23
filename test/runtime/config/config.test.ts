import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFromArgs, loadConfig, parseConfig, parseDuration } from '../../../runtime/config/index.js';
import { UserError } from '../../../runtime/errors.js';

const parse = (text: string, env: Record<string, string> = {}) =>
  parseConfig(text, { source: 'litestream.yml', env, cwd: '/srv' });

function errorOf(text: string, env: Record<string, string> = {}): UserError {
  try {
    parse(text, env);
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return err as UserError;
  }
  throw new Error('expected a UserError');
}

describe('parseDuration (Go syntax)', () => {
  it.each([
    ['1s', 1000],
    ['100ms', 100],
    ['4h', 14_400_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['168h', 604_800_000],
    ['0', 0],
    ['2m3s', 123_000],
    ['500us', 1],
  ])('%s -> %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '5', '1x', 's', '1h 30m', '1hh'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('parseConfig', () => {
  it('applies Litestream defaults and kebab-case keys', () => {
    const c = parse(`
dbs:
  - path: data/app.db
    replicas:
      - type: file
        path: /backups/app
`);
    expect(c.logging).toEqual({ level: 'info', type: 'text', stderr: false });
    expect(c.dbs[0]).toMatchObject({
      path: '/srv/data/app.db',
      monitorInterval: 1000,
      checkpointInterval: 60_000,
      minCheckpointPageCount: 1000,
      maxCheckpointPageCount: 10_000,
    });
    expect(c.dbs[0].replicas[0]).toEqual({
      type: 'file',
      name: 'file',
      path: '/backups/app',
      url: undefined,
      retention: 86_400_000,
      retentionCheckInterval: 3_600_000,
      syncInterval: 1000,
      snapshotInterval: 0,
      validationInterval: 0,
    });
  });

  it('reads every documented key', () => {
    const c = parse(
      `
addr: ":9090"
auth-token: tok
exec: node server.js
access-key-id: GLOBALKEY
secret-access-key: \${SECRET}
logging: { level: debug, type: json, stderr: false }
dbs:
  - path: /data/app.db
    meta-path: /data/meta
    monitor-interval: 50ms
    checkpoint-interval: 30s
    min-checkpoint-page-count: 10
    max-checkpoint-page-count: 100
    upstream: { url: "http://primary:9090", path: /data/app.db, token: tok }
    replicas:
      - url: s3://bucket/prefix
        type: file
        region: eu-west-1
        endpoint: http://127.0.0.1:9000
        skip-verify: true
        retention: 168h
        retention-check-interval: 10m
        sync-interval: 100ms
        snapshot-interval: 4h
        validation-interval: 12h
        age: { recipients: [age12mr7uegj4hyapdd9re3njty2erkqsvf4yl2k8e0s87e230sz8ecq3s53q4], identities: [AGE-SECRET-KEY-1DQK56SYZGC8VLLHD6MTU3DTY6EAUADL4K5V33JVZ0N5EMF2NWN9QF00P8F] }
      - type: abs
        account-name: acct
        bucket: container
        path: db
        sas-token: sv=1
      - name: offsite
        url: sftp://me:pw@example.com:2222/backups
        key-path: /keys/id
        known-hosts-path: /keys/known_hosts
`,
      { SECRET: 'topsecret', LITESTREAM_AZURE_ACCOUNT_KEY: 'YXprZXk=' },
    );
    expect(c).toMatchObject({ addr: ':9090', authToken: 'tok', exec: 'node server.js' });
    expect(c.logging).toEqual({ level: 'debug', type: 'json', stderr: false });
    const [s3, abs, sftp] = c.dbs[0].replicas;
    expect(s3).toMatchObject({
      type: 's3', // the url scheme wins over `type: file`
      name: 's3',
      bucket: 'bucket',
      path: 'prefix',
      forcePathStyle: true,
      skipVerify: true,
      accessKeyId: 'GLOBALKEY',
      secretAccessKey: 'topsecret',
      retention: 168 * 3_600_000,
      syncInterval: 100,
      snapshotInterval: 4 * 3_600_000,
      age: {
        recipients: ['age12mr7uegj4hyapdd9re3njty2erkqsvf4yl2k8e0s87e230sz8ecq3s53q4'],
        identities: ['AGE-SECRET-KEY-1DQK56SYZGC8VLLHD6MTU3DTY6EAUADL4K5V33JVZ0N5EMF2NWN9QF00P8F'],
      },
    });
    expect(abs).toMatchObject({
      type: 'abs',
      accountName: 'acct',
      accountKey: 'YXprZXk=',
      bucket: 'container',
      sasToken: 'sv=1',
    });
    expect(sftp).toMatchObject({
      type: 'sftp',
      name: 'offsite',
      host: 'example.com:2222',
      user: 'me',
      password: 'pw',
      path: 'backups',
      keyPath: '/keys/id',
    });
    expect(c.dbs[0]).toMatchObject({
      metaPath: '/data/meta',
      monitorInterval: 50,
      minCheckpointPageCount: 10,
    });
    expect(c.dbs[0].upstream).toEqual({ url: 'http://primary:9090', path: '/data/app.db', token: 'tok' });
  });

  it('fills S3 credentials from LITESTREAM_* env when the file has none', () => {
    const c = parse('dbs: [{path: /a.db, replicas: [{url: "s3://b/p"}]}]', {
      LITESTREAM_ACCESS_KEY_ID: 'AKIA',
      LITESTREAM_SECRET_ACCESS_KEY: 'shh',
    });
    expect(c.dbs[0].replicas[0]).toMatchObject({ accessKeyId: 'AKIA', secretAccessKey: 'shh' });
  });

  it('keeps $ text as written with expandEnv: false, and $$ is a literal dollar', () => {
    const text = 'dbs: [{path: /a.db, replicas: [{type: sftp, host: h, password: "p$$w"}]}]';
    expect(parse(text).dbs[0].replicas[0].password).toBe('p$w');
    const raw = parseConfig('dbs: [{path: "/$HOME/a.db"}]', { expandEnv: false, env: {} });
    expect(raw.dbs[0].path).toBe('/$HOME/a.db');
  });

  it('ignores references inside comments', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: config syntax, not a template
    expect(() => parse('# uses $NOT_SET\ndbs: [] # and ${ALSO_NOT}\n')).not.toThrow();
  });
});

describe('gcs replicas (type: gcs, gs:// as in Litestream)', () => {
  it('reads gs://BUCKET/PATH and type: gcs', () => {
    const c = parse(
      'dbs:\n  - path: /a.db\n    replicas:\n      - url: gs://my-bucket/app/db\n      - name: g2\n        type: gcs\n        bucket: other\n        path: x\n        endpoint: http://127.0.0.1:4443\n',
    );
    expect(c.dbs[0].replicas[0]).toMatchObject({
      type: 'gcs',
      name: 'gcs',
      bucket: 'my-bucket',
      path: 'app/db',
    });
    expect(c.dbs[0].replicas[1]).toMatchObject({
      type: 'gcs',
      bucket: 'other',
      path: 'x',
      endpoint: 'http://127.0.0.1:4443',
    });
  });

  it('names the missing bucket and refuses keys of other storages', () => {
    expect(errorOf('dbs:\n  - path: /a.db\n    replicas:\n      - type: gcs\n').message).toBe(
      'litestream.yml:4: dbs[0].replicas[0].type: gcs replica needs a bucket',
    );
    expect(
      errorOf(
        'dbs:\n  - path: /a.db\n    replicas:\n      - type: gcs\n        bucket: b\n        region: us\n',
      ).message,
    ).toBe('litestream.yml:6: key "region" does not apply to a gcs replica');
  });
});

describe('parseConfig errors: one line naming file, line and key', () => {
  it.each([
    ['unknown top-level key', 'dbz:\n  - path: /a.db\n', /^litestream\.yml:1: unknown key "dbz"$/, /dbs/],
    [
      'unknown replica key (with suggestion)',
      'dbs:\n  - path: /a.db\n    replicas:\n      - type: file\n        path: /r\n        retension: 1h\n',
      /^litestream\.yml:6: unknown key "retension" in dbs\[0\]\.replicas\[0\]$/,
      /Did you mean "retention"/,
    ],
    [
      'bad duration',
      'dbs:\n  - path: /a.db\n    monitor-interval: 10\n',
      /^litestream\.yml:3: dbs\[0\]\.monitor-interval: invalid duration 10/,
      undefined,
    ],
    [
      'bad duration text',
      'dbs:\n  - path: /a.db\n    checkpoint-interval: 1 minute\n',
      /^litestream\.yml:3: dbs\[0\]\.checkpoint-interval: invalid duration "1 minute"/,
      undefined,
    ],
    [
      'wrong type',
      'dbs:\n  - path: /a.db\n    min-checkpoint-page-count: lots\n',
      /^litestream\.yml:3: dbs\[0\]\.min-checkpoint-page-count: expected a number$/,
      undefined,
    ],
    [
      'negative count',
      'dbs:\n  - path: /a.db\n    min-checkpoint-page-count: -3\n',
      /^litestream\.yml:3: dbs\[0\]\.min-checkpoint-page-count: must not be negative$/,
      undefined,
    ],
    [
      'fractional count',
      'http:\n  max-connections: 2.5\n',
      /^litestream\.yml:2: http\.max-connections: expected a whole number$/,
      undefined,
    ],
    [
      'duration of the wrong type',
      'dbs:\n  - path: /a.db\n    monitor-interval: [1, 2]\n',
      /^litestream\.yml:3: dbs\[0\]\.monitor-interval: expected a duration such as 1s/,
      undefined,
    ],
    [
      'age recipients of the wrong type',
      'dbs:\n  - path: /a.db\n    replicas:\n      - path: /r\n        age:\n          recipients: 5\n',
      /^litestream\.yml:6: dbs\[0\]\.replicas\[0\]\.age\.recipients: expected a string or a list of strings$/,
      undefined,
    ],
    [
      'a replica that is not a mapping',
      'dbs:\n  - path: /a.db\n    replicas:\n      - /r\n',
      /^litestream\.yml:4: dbs\[0\]\.replicas\[0\]: expected a mapping$/,
      undefined,
    ],
    [
      'missing upstream url',
      'dbs:\n  - path: /a.db\n    upstream:\n      token: x\n',
      /^litestream\.yml:4: dbs\[0\]\.upstream\.url: expected a string$/,
      undefined,
    ],
    [
      'missing db path',
      'dbs:\n  - monitor-interval: 1s\n',
      /^litestream\.yml:2: dbs\[0\]\.path: expected a string$/,
      undefined,
    ],
    [
      'bad replica type',
      'dbs:\n  - path: /a.db\n    replicas:\n      - type: ftp\n',
      /^litestream\.yml:4: dbs\[0\]\.replicas\[0\]\.type: must be one of file, s3, abs, sftp, gcs$/,
      undefined,
    ],
    [
      'bad logging level',
      'logging:\n  level: loud\n',
      /^litestream\.yml:2: logging\.level: must be one of/,
      undefined,
    ],
    ['invalid YAML', 'dbs:\n  - path: [unclosed\n', /^litestream\.yml:[23]: invalid YAML: /, undefined],
    [
      'duplicate YAML key',
      'dbs:\n  - path: /a.db\n    path: /b.db\n',
      /^litestream\.yml:3: invalid YAML: /,
      undefined,
    ],
    [
      'duplicate replica name',
      'dbs:\n  - path: /a.db\n    replicas:\n      - path: /r1\n      - path: /r2\n',
      /^litestream\.yml:5: duplicate replica name "file" \(also dbs\[0\]\.replicas\[0\]\)$/,
      /unique "name"/,
    ],
    [
      'duplicate db',
      'dbs:\n  - path: /a.db\n  - path: /a.db\n',
      /^litestream\.yml:3: dbs\[1\]\.path: \/a\.db is already listed as dbs\[0\]$/,
      undefined,
    ],
    [
      's3 without bucket',
      'dbs:\n  - path: /a.db\n    replicas:\n      - type: s3\n        path: x\n',
      /^litestream\.yml:4: dbs\[0\]\.replicas\[0\]\.type: s3 replica needs a bucket$/,
      /bucket/,
    ],
    [
      'sftp without host',
      'dbs:\n  - path: /a.db\n    replicas:\n      - type: sftp\n',
      /^litestream\.yml:4: dbs\[0\]\.replicas\[0\]\.type: sftp replica needs a host$/,
      undefined,
    ],
    [
      'file without path',
      'dbs:\n  - path: /a.db\n    replicas:\n      - type: file\n',
      /^litestream\.yml:4: dbs\[0\]\.replicas\[0\]\.type: file replica needs a path$/,
      undefined,
    ],
    [
      'key of another storage',
      'dbs:\n  - path: /a.db\n    replicas:\n      - type: file\n        path: /r\n        bucket: b\n',
      /^litestream\.yml:6: key "bucket" does not apply to a file replica$/,
      undefined,
    ],
    [
      'unsupported url',
      'dbs:\n  - path: /a.db\n    replicas:\n      - url: gcs://bucket/db\n',
      /^litestream\.yml:4: dbs\[0\]\.replicas\[0\]\.url: invalid replica URL "gcs:\/\/bucket\/db": unsupported scheme/,
      undefined,
    ],
    [
      'unset variable where empty cannot work',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: config syntax, not a template
      'dbs:\n  - path: /a.db\n    replicas:\n      - url: s3://${BUCKET}/db\n',
      /^litestream\.yml:4: dbs\[0\]\.replicas\[0\]\.url: invalid replica URL .*missing bucket \(it comes from \$BUCKET, which is not set\)$/,
      undefined,
    ],
    [
      'min above max',
      'dbs:\n  - path: /a.db\n    min-checkpoint-page-count: 50\n    max-checkpoint-page-count: 10\n',
      /^litestream\.yml:3: dbs\[0\]: min-checkpoint-page-count \(50\) is above/,
      undefined,
    ],
  ])('%s', (_name, text, message, hint) => {
    const err = errorOf(text);
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain('\n');
    if (hint) expect(err.hint).toMatch(hint);
  });

  it('never echoes a password from a bad URL', () => {
    const err = errorOf('dbs:\n  - path: /a.db\n    replicas:\n      - url: ftp://me:hunter2@host/db\n');
    expect(err.message).not.toContain('hunter2');
  });
});

describe('loadConfig', () => {
  it('reads LITESTREAM_CONFIG when no path is given, and names a missing file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'ls.yml');
    writeFileSync(file, 'dbs:\n  - path: /a.db\n    bogus: 1\n');
    await expect(loadConfig(undefined, { env: { LITESTREAM_CONFIG: file } })).rejects.toThrow(
      `${file}:3: unknown key "bogus" in dbs[0]`,
    );
    await expect(loadConfig(join(dir, 'missing.yml'))).rejects.toThrow(
      /config file not found: .*missing\.yml/,
    );
  });
});

describe('configFromArgs', () => {
  it('names a bad URL as the URL parser states it', () => {
    expect(() => configFromArgs('/data/app.db', ['gcs://bucket/app'])).toThrow(
      /^invalid replica URL "gcs:\/\/bucket\/app": unsupported scheme "gcs:\/\/"$/,
    );
  });

  it('builds one db with one replica per URL, unique names', () => {
    const c = configFromArgs('/data/app.db', ['s3://b/p', 'file:///backups/a', '/backups/b']);
    expect(c.dbs[0].path).toBe('/data/app.db');
    expect(c.dbs[0].replicas.map((r) => [r.type, r.name, r.path])).toEqual([
      ['s3', 's3', 'p'],
      ['file', 'file', '/backups/a'],
      ['file', 'file2', '/backups/b'],
    ]);
  });
});
