import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  findMixes,
  loadCatalog,
  nameForms,
  planMixes,
  replacePlaceholders,
} from '../../src/generator/index.js';
import { FIXTURES_DIR } from './helpers.js';

describe('catalog', () => {
  it('has the nine mixes, each with summary, storage, variants and tags', async () => {
    const mixes = await loadCatalog();
    expect(mixes.map((m) => m.name)).toEqual([
      'blazor-litestream-aws',
      'blazor-litestream-azure',
      'blazor-litestream-sftp',
      'jamstack-litestream-aws',
      'jamstack-litestream-azure',
      'jamstack-litestream-sftp',
      'litestream-aws',
      'litestream-azure',
      'litestream-sftp',
    ]);
    for (const m of mixes) expect(m.tags).toContain(m.storage);
  });

  it('unknown mix: suggests the nearest names', async () => {
    await expect(findMixes(['litestream-aw'])).rejects.toMatchObject({
      message: "Unknown mix 'litestream-aw'",
      hint: expect.stringMatching(/^Did you mean litestream-aws/),
    });
    await expect(findMixes(['blazor-litestrem-sftp'])).rejects.toMatchObject({
      hint: expect.stringMatching(/blazor-litestream-sftp/),
    });
  });

  it('two storage mixes at once are refused', async () => {
    await expect(findMixes(['litestream-aws', 'litestream-sftp'])).rejects.toThrow(
      /different backup storage/,
    );
  });

  it('a dedicated mix on the wrong app says which mix fits; a general one adapts and says so', async () => {
    await expect(
      planMixes({ dir: path.join(FIXTURES_DIR, 'nextjs'), mixes: ['blazor-litestream-azure'] }),
    ).rejects.toMatchObject({
      message: expect.stringMatching(/made for blazor-server .* but this is a nextjs app/),
      hint: expect.stringMatching(/ls-mix add jamstack-litestream-azure/),
    });
    const plan = await planMixes({
      dir: path.join(FIXTURES_DIR, 'blazor-server'),
      mixes: ['litestream-sftp'],
    });
    expect(plan.notes[0]).toMatch(
      /blazor-server app: litestream-sftp uses the blazor-server files.*blazor-litestream-sftp/,
    );
  });
});

describe('project names and placeholders', () => {
  it('derives every spelling', () => {
    expect(nameForms('notes-api')).toEqual({
      pascal: 'NotesApi',
      kebab: 'notes-api',
      lower: 'notesapi',
      snake: 'notes_api',
      title: 'Notes Api',
    });
    expect(nameForms('@acme/BlazorDiary').kebab).toBe('blazor-diary');
    expect(nameForms('HTTPServer2').pascal).toBe('HttpServer2');
  });

  it('replaces MyApp, my-app, myapp, my_app, My App as whole words only', () => {
    const f = nameForms('Acme Shop');
    expect(
      replacePlaceholders('MyApp.dll my-app-data myapp my_app "My App" my-apple MyAppleTree myapps', f),
    ).toBe('AcmeShop.dll acme-shop-data acmeshop acme_shop "Acme Shop" my-apple MyAppleTree myapps');
  });
});
