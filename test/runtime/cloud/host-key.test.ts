/**
 * Host-key checks of the SFTP client against keys and known_hosts files made by OpenSSH's own
 * ssh-keygen (fingerprints, hashed host names, [host]:port, wildcards, negation, @revoked).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkHostKey, fingerprint } from '../../../runtime/replica/sftp/host-key.js';

let dir: string;
const keys: Record<string, { line: string; blob: Buffer; fp: string }> = {};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ls-mix-hostkey-'));
  for (const [name, type] of [
    ['a', 'ed25519'],
    ['b', 'ecdsa'],
    ['c', 'ed25519'],
  ]) {
    const file = join(dir, name);
    execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', file]);
    const line = readFileSync(`${file}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
    // ssh-keygen -lf prints "256 SHA256:... comment (TYPE)": the fingerprint to compare with.
    const fp = execFileSync('ssh-keygen', ['-lf', `${file}.pub`], { encoding: 'utf8' }).split(' ')[1];
    keys[name] = { line, blob: Buffer.from(line.split(' ')[1], 'base64'), fp };
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function knownHosts(name: string, lines: string[], hash = false): string {
  const file = join(dir, name);
  writeFileSync(file, `${lines.join('\n')}\n`);
  if (hash) execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
  return file;
}

describe('sftp host-key checks', () => {
  it('computes the same SHA256 fingerprint as ssh-keygen -lf', () => {
    for (const k of Object.values(keys)) expect(fingerprint(k.blob)).toBe(k.fp);
  });

  it('accepts a pinned key line (with or without host/comment) or fingerprint, refuses others', () => {
    const a = keys.a;
    const policy = { host: 'h', port: 22 };
    expect(checkHostKey({ ...policy, hostKey: a.line }, a.blob)).toEqual({ ok: true });
    expect(checkHostKey({ ...policy, hostKey: `h ${a.line} me@laptop` }, a.blob)).toEqual({ ok: true });
    expect(checkHostKey({ ...policy, hostKey: a.fp }, a.blob)).toEqual({ ok: true });
    // Rotation: several pins, one per line.
    expect(checkHostKey({ ...policy, hostKey: `${keys.c.fp}\n${a.line}` }, a.blob)).toEqual({ ok: true });
    expect(checkHostKey({ ...policy, hostKey: a.fp }, keys.c.blob)).toEqual({
      ok: false,
      reason: 'mismatch',
      expected: [a.fp],
    });
  });

  it('reads hashed known_hosts entries, matching [host]:port for non-22 ports', () => {
    const file = knownHosts(
      'hashed',
      [`[db.example]:2222 ${keys.a.line}`, `db.example ${keys.b.line}`],
      true,
    );
    expect(readFileSync(file, 'utf8')).toMatch(/^\|1\|/);
    expect(checkHostKey({ host: 'db.example', port: 2222, knownHostsPath: file }, keys.a.blob)).toEqual({
      ok: true,
    });
    expect(checkHostKey({ host: 'db.example', port: 22, knownHostsPath: file }, keys.b.blob)).toEqual({
      ok: true,
    });
    // The port-22 entry does not vouch for port 2222, nor the other way round.
    expect(checkHostKey({ host: 'db.example', port: 2222, knownHostsPath: file }, keys.b.blob)).toMatchObject(
      {
        ok: false,
        reason: 'mismatch',
        expected: [keys.a.fp],
      },
    );
    expect(checkHostKey({ host: 'other.example', port: 22, knownHostsPath: file }, keys.b.blob)).toEqual({
      ok: false,
      reason: 'unknown',
    });
  });

  it('understands wildcards, negation and @revoked', () => {
    const file = knownHosts('patterns', [
      `*.example,!bad.example ${keys.a.line}`,
      `@revoked * ${keys.c.line}`,
      `# a comment`,
      ``,
    ]);
    expect(checkHostKey({ host: 'x.example', port: 22, knownHostsPath: file }, keys.a.blob)).toEqual({
      ok: true,
    });
    expect(checkHostKey({ host: 'bad.example', port: 22, knownHostsPath: file }, keys.a.blob)).toEqual({
      ok: false,
      reason: 'unknown',
    });
    expect(checkHostKey({ host: 'x.example', port: 22, knownHostsPath: file }, keys.c.blob)).toEqual({
      ok: false,
      reason: 'revoked',
    });
  });

  it('trusts anything only with insecureIgnoreHostKey', () => {
    const empty = knownHosts('empty', []);
    expect(checkHostKey({ host: 'h', port: 22, knownHostsPath: empty }, keys.a.blob)).toEqual({
      ok: false,
      reason: 'unknown',
    });
    expect(
      checkHostKey({ host: 'h', port: 22, knownHostsPath: empty, insecureIgnoreHostKey: true }, keys.a.blob),
    ).toEqual({
      ok: true,
    });
  });
});
