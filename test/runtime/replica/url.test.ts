import { describe, expect, it } from 'vitest';
import { isReplicaUrl, parseReplicaUrl } from '../../../runtime/replica/url.js';

describe('parseReplicaUrl', () => {
  it('file:///path', () => {
    expect(parseReplicaUrl('file:///var/backups/db')).toMatchObject({
      type: 'file',
      path: '/var/backups/db',
    });
    expect(parseReplicaUrl('file:///var/my%20backups/')).toMatchObject({ path: '/var/my backups/' });
  });

  it('s3://bucket/path with query parameters', () => {
    expect(parseReplicaUrl('s3://my-bucket/db/app.db')).toEqual({
      type: 's3',
      url: 's3://my-bucket/db/app.db',
      bucket: 'my-bucket',
      path: 'db/app.db',
    });
    expect(
      parseReplicaUrl(
        's3://b/p?endpoint=127.0.0.1:9000&region=eu-west-1&force-path-style=true&skip-verify=1',
      ),
    ).toMatchObject({
      bucket: 'b',
      path: 'p',
      endpoint: 'http://127.0.0.1:9000',
      region: 'eu-west-1',
      forcePathStyle: true,
      skipVerify: true,
    });
    expect(parseReplicaUrl('s3://b/p?endpoint=s3.example.com')).toMatchObject({
      endpoint: 'https://s3.example.com',
      forcePathStyle: true,
    });
    expect(parseReplicaUrl('s3://b?endpoint=https://minio.local:9000/')).toMatchObject({
      endpoint: 'https://minio.local:9000',
      path: '',
    });
  });

  it("s3 provider host shortcuts, as Litestream v0.3.13's", () => {
    expect(parseReplicaUrl('s3://bkt.nyc3.digitaloceanspaces.com/db')).toMatchObject({
      bucket: 'bkt',
      region: 'nyc3',
      endpoint: 'https://nyc3.digitaloceanspaces.com',
      forcePathStyle: true,
    });
    expect(parseReplicaUrl('s3://bkt.localhost:9000/db')).toMatchObject({
      bucket: 'bkt',
      endpoint: 'http://localhost:9000',
      region: 'us-east-1',
    });
    expect(parseReplicaUrl('s3://bkt.s3.us-west-002.backblazeb2.com/db')).toMatchObject({
      bucket: 'bkt',
      endpoint: 'https://s3.us-west-002.backblazeb2.com',
    });
  });

  it('abs://account@container/path', () => {
    expect(parseReplicaUrl('abs://devstoreaccount1@backups/app/db')).toMatchObject({
      type: 'abs',
      accountName: 'devstoreaccount1',
      bucket: 'backups',
      path: 'app/db',
    });
  });

  it('sftp://user:pass@host:port/path', () => {
    expect(parseReplicaUrl('sftp://ben:s%40cret@127.0.0.1:2222/backups/db')).toMatchObject({
      type: 'sftp',
      user: 'ben',
      password: 's@cret',
      host: '127.0.0.1:2222',
      path: 'backups/db',
    });
    expect(parseReplicaUrl('sftp://ben@example.com/db')).toMatchObject({ host: 'example.com', path: 'db' });
  });

  it.each([
    ['ftp://host/x', 'unsupported scheme "ftp://"'],
    ['/var/db', 'missing scheme'],
    ['s3:///path', 'missing bucket'],
    ['abs:///path', 'missing container'],
    ['file://host/x', 'file URLs have no host'],
    ['file:///', 'missing folder path'],
    ['s3://b/p?endpont=x', 'unknown query parameter "endpont"'],
    ['s3://b/p?force-path-style=maybe', 'force-path-style=maybe must be true or false'],
    ['sftp://u:p@h/%zz', 'bad percent-encoding'],
  ])('rejects %s', (url, message) => {
    expect(() => parseReplicaUrl(url)).toThrow(message);
  });

  it('never puts a password into an error', () => {
    let message = '';
    try {
      parseReplicaUrl('sftp://ben:hunter2@host/p?x=1');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('unknown query parameter');
    expect(message).not.toContain('hunter2');
  });

  it('tells URLs from paths', () => {
    expect(isReplicaUrl('s3://b/p')).toBe(true);
    expect(isReplicaUrl('/var/lib/app.db')).toBe(false);
    expect(isReplicaUrl('C:\\db')).toBe(false);
  });
});
