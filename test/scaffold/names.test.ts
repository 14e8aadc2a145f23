import { describe, expect, it } from 'vitest';
import { UserError } from '../../runtime/errors.js';
import { listBuiltinTemplates, projectTemplatesRoot } from '../../src/scaffold/catalog.js';
import {
  defaultFolderName,
  projectNames,
  type TemplateReservedNames,
  validateProjectName,
} from '../../src/scaffold/names.js';
import { templateReservedNames } from '../../src/scaffold/reserved.js';

function ruleBroken(name: string, reserved: TemplateReservedNames = {}): string {
  try {
    validateProjectName(name, reserved);
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return (err as UserError).message;
  }
  throw new Error(`"${name}" was accepted`);
}

describe('project names', () => {
  it('derives the five placeholder spellings', () => {
    expect(projectNames('MyApp')).toMatchObject({
      pascal: 'MyApp',
      kebab: 'my-app',
      lower: 'myapp',
      snake: 'my_app',
      title: 'My App',
    });
    expect(projectNames('  acme shop ')).toMatchObject({
      raw: 'acme shop',
      pascal: 'AcmeShop',
      kebab: 'acme-shop',
    });
    expect(projectNames('HTTPServer')).toMatchObject({ pascal: 'HttpServer', snake: 'http_server' });
    expect(projectNames('billing_api.v2')).toMatchObject({ pascal: 'BillingApiV2', kebab: 'billing-api-v2' });
  });

  it('names the folder as typed, or PascalCase when the name has spaces', () => {
    expect(defaultFolderName(projectNames('my-app'))).toBe('my-app');
    expect(defaultFolderName(projectNames('Acme Shop'))).toBe('AcmeShop');
  });

  it('accepts ordinary names', () => {
    for (const ok of ['MyApp', 'my-app', 'My App', 'shop2', 'Acme.Web', 'a']) {
      expect(() => validateProjectName(ok)).not.toThrow();
    }
  });

  it('rejects a bad name with the rule it broke', () => {
    expect(ruleBroken('')).toMatch(/empty/);
    expect(ruleBroken('   ')).toMatch(/empty/);
    expect(ruleBroken('apps/MyApp')).toMatch(/path separator/);
    expect(ruleBroken('..\\MyApp')).toMatch(/path separator/);
    expect(ruleBroken('2fast')).toMatch(/start with a letter/);
    expect(ruleBroken('my$app')).toMatch(/only contain .* \(found '\$'\)/);
    expect(ruleBroken('myapp-')).toMatch(/end with a letter or a digit/);
    expect(ruleBroken('x'.repeat(101))).toMatch(/longer than 100/);
  });

  it('rejects reserved words', () => {
    expect(ruleBroken('CON')).toMatch(/"con" is a reserved device name on Windows/);
    expect(ruleBroken('lpt1')).toMatch(/reserved device name/);
    expect(ruleBroken('node_modules')).toMatch(/reserved name/);
    expect(ruleBroken('System')).toMatch(/"system" is a reserved name/);
    const deps = { dependencies: ['express', 'better-sqlite3'] };
    expect(ruleBroken('Express', deps)).toMatch(/template's own dependencies/);
    expect(ruleBroken('Better Sqlite3', deps)).toMatch(/"better-sqlite3"/);
    expect(ruleBroken('notes db', { typeNames: ['NotesDb', 'App'] })).toMatch(
      /"NotesDb" is the name of a type in the template \(the namespace NotesDb would hide it\)/,
    );
  });

  it("collects a template's reserved names: npm dependencies and C# / Razor types", () => {
    const root = projectTemplatesRoot();
    const blazor = templateReservedNames([`${root}/_shared/dotnet-sqlite`, `${root}/blazor-server`]);
    expect(blazor.typeNames).toEqual(
      expect.arrayContaining(['NotesDb', 'Note', 'App', 'Routes', 'MainLayout', 'Home', 'Program']),
    );
    const node = templateReservedNames([`${root}/_shared/node-api`, `${root}/node`]);
    expect(node).toEqual({ dependencies: ['better-sqlite3', 'express'], typeNames: [] });
    expect(listBuiltinTemplates().length).toBe(8);
  });
});
