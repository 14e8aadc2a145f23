import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { copyTemplate } from '../../src/scaffold/copy.js';
import { projectNames } from '../../src/scaffold/names.js';

const FIXTURE = join(import.meta.dirname, '../fixtures/template-repos/team-express');
const temps: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'ls-mix-copy-'));
  temps.push(d);
  return d;
};
afterEach(() => {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('copyTemplate', () => {
  it('renames placeholders in contents and in file and folder names', () => {
    const dest = tmp();
    const { files } = copyTemplate([{ dir: FIXTURE }], dest, projectNames('Acme Shop'));
    expect(files).toEqual([
      '.gitignore',
      'Dockerfile',
      'README.md',
      'acme-shop.config.json',
      'assets/logo.bin',
      'package.json',
      'src/AcmeShop/greeting.js',
      'src/server.js',
    ]);
    const read = (f: string) => readFileSync(join(dest, f), 'utf8');
    expect(read('README.md')).toContain(
      'Placeholders: AcmeShop, acme-shop, acmeshop, acme_shop, Acme Shop. Untouched: MyApplication.',
    );
    expect(JSON.parse(read('package.json')).name).toBe('acme-shop');
    expect(read('src/server.js')).toContain("'var/acme_shop.db'");
    expect(read('src/server.js')).toContain("from './AcmeShop/greeting.js'");
    expect(read('.gitignore')).toBe('node_modules/\nvar/\n');
  });

  it('copies binary files byte for byte', () => {
    const dest = tmp();
    copyTemplate([{ dir: FIXTURE }], dest, projectNames('Acme'));
    expect(readFileSync(join(dest, 'assets/logo.bin'))).toEqual(
      readFileSync(join(FIXTURE, 'assets/logo.bin')),
    );
  });

  it('skips .git, node_modules, symlinks and the template manifest; later folders win', () => {
    const base = tmp();
    const over = tmp();
    mkdirSync(join(base, '.git'));
    writeFileSync(join(base, '.git/HEAD'), 'ref');
    mkdirSync(join(base, 'node_modules/x'), { recursive: true });
    writeFileSync(join(base, 'node_modules/x/index.js'), '');
    writeFileSync(join(base, 'ls-mix-template.yml'), 'variant: node\n');
    writeFileSync(join(base, 'a.txt'), 'from base MyApp');
    writeFileSync(join(base, 'b.txt'), 'only base');
    symlinkSync('/etc/passwd', join(base, 'link'));
    writeFileSync(join(over, 'a.txt'), 'from over MyApp');

    const dest = tmp();
    const result = copyTemplate(
      [{ dir: base }, { dir: over, into: 'sub' }, { dir: over }],
      dest,
      projectNames('Zed'),
    );
    expect(result.files).toEqual(['a.txt', 'b.txt', 'sub/a.txt']);
    expect(readFileSync(join(dest, 'a.txt'), 'utf8')).toBe('from over Zed');
    expect(result.warnings).toEqual(['skipped symlink link (templates copy plain files only)']);
  });
});
