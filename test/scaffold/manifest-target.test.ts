import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { scaffoldProject } from '../../src/scaffold/index.js';
import { readManifest } from '../../src/scaffold/manifest.js';
import { assertOutsideTemplate, prepareTarget } from '../../src/scaffold/target.js';

const temps: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'ls-mix-mt-'));
  temps.push(d);
  return d;
};
afterEach(() => {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('ls-mix-template.yml', () => {
  it('is optional', () => {
    expect(readManifest(tmp())).toEqual({});
  });

  it('names the file and the key that is wrong', () => {
    const dir = tmp();
    const file = join(dir, 'ls-mix-template.yml');
    writeFileSync(file, 'variant: node\ncolour: blue\n');
    expect(() => readManifest(dir)).toThrow(`${file}: key "colour"`);
    writeFileSync(file, 'variant: node\nport: eighty\n');
    expect(() => readManifest(dir)).toThrow(`${file}: key "port"`);
    writeFileSync(file, 'variant: [node\n');
    expect(() => readManifest(dir)).toThrow(new RegExp(`^${file}:\\d+: Flow sequence .* end with a \\]$`));
  });

  it('include: is refused outside the built-in templates', async () => {
    const template = tmp();
    writeFileSync(join(template, 'package.json'), '{"name":"my-app"}');
    writeFileSync(join(template, 'ls-mix-template.yml'), 'include: [_shared/node-api]\n');
    const cwd = tmp();
    await expect(
      scaffoldProject({ template, name: 'Shop', storage: 'aws', cwd, git: false }),
    ).rejects.toThrow(/"include:" works only in ls-mix's built-in templates/);
    expect(readdirSync(cwd)).toEqual([]);
  });
});

describe('target folder', () => {
  it('is created when missing, used when empty, refused when not empty', () => {
    const root = tmp();
    expect(prepareTarget(join(root, 'a/b'), false)).toEqual({ created: true });
    expect(prepareTarget(join(root, 'a/b'), false)).toEqual({ created: false });
    writeFileSync(join(root, 'a/b/x'), '');
    expect(() => prepareTarget(join(root, 'a/b'), false)).toThrow(/is not empty \(x\)/);
    expect(prepareTarget(join(root, 'a/b'), true)).toEqual({ created: false });
    expect(() => prepareTarget(join(root, 'a/b/x'), true)).toThrow(/exists and is not a folder/);
  });

  it('must not be inside the template folder', () => {
    const template = tmp();
    mkdirSync(join(template, 'sub'));
    expect(() => assertOutsideTemplate(join(template, 'Shop'), template)).toThrow(
      /inside the template folder/,
    );
    expect(() => assertOutsideTemplate(template, template)).toThrow(/inside the template folder/);
    expect(() => assertOutsideTemplate(join(template, '..', 'Shop'), template)).not.toThrow();
  });
});
