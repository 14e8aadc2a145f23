import { describe, expect, it } from 'vitest';
import { UserError } from '../../runtime/errors.js';
import { isGitUrl, redactGitUrl, resolveTemplateSource } from '../../src/scaffold/source.js';

describe('template sources', () => {
  it('tells git URLs from names and paths', () => {
    for (const url of [
      'https://github.com/acme/t.git',
      'http://git.local/t',
      'ssh://git@host/acme/t.git',
      'git://host/t.git',
      'file:///srv/t.git',
      'git@github.com:acme/t.git',
    ]) {
      expect(isGitUrl(url), url).toBe(true);
    }
    for (const other of ['node', 'blazor', './t', '../t', '/srv/t', 'C:\\t'])
      expect(isGitUrl(other), other).toBe(false);
  });

  it('never prints the credentials of a URL', () => {
    expect(redactGitUrl('https://user:s3cr3t@github.com/acme/t.git')).toBe(
      'https://[redacted]@github.com/acme/t.git',
    );
    expect(redactGitUrl('https://ghp_token@github.com/acme/t.git#v2')).toBe(
      'https://[redacted]@github.com/acme/t.git#v2',
    );
    expect(redactGitUrl('git@github.com:acme/t.git')).toBe('git@github.com:acme/t.git');
  });

  it('resolves aliases to built-in templates and reports a missing folder', async () => {
    const t = await resolveTemplateSource('next');
    expect(t).toMatchObject({ kind: 'builtin', label: 'nextjs' });
    expect(t.manifest.variant).toBe('nextjs');
    await expect(resolveTemplateSource('./no/such/template')).rejects.toThrow(UserError);
    await expect(resolveTemplateSource('./no/such/template')).rejects.toThrow(
      /Template folder not found: .*no\/such\/template/,
    );
  });

  it('reports an unreachable git URL without its credentials', async () => {
    const err = await resolveTemplateSource('https://user:s3cr3t@127.0.0.1:1/acme/t.git').catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(
      /^Could not clone template https:\/\/\[redacted\]@127\.0\.0\.1:1\/acme\/t\.git: /,
    );
    expect(`${err.message} ${err.hint}`).not.toContain('s3cr3t');
  });
});
