/**
 * Migrations before the app: a one-shot compose service `migrate` runs the project's own
 * migration after the sidecar is healthy (restore done) and before the app, which waits for it
 * to complete successfully. .NET apps that read ServiceStack's AppTasks, Prisma, a `migrate`
 * script; no service when there is none. Checked with `docker-compose config -q` too.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { planMixes } from '../../src/generator/index.js';
import { composeSchemaErrors, dockerComposeConfig } from '../validators/compose.js';
import { cleanupTemps, copyFixture } from './helpers.js';

afterAll(cleanupTemps);

interface Service {
  image?: string;
  command?: string[];
  restart?: string;
  volumes?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
}

async function composeFor(dir: string): Promise<{ text: string; services: Record<string, Service> }> {
  const plan = await planMixes({ dir, mixes: ['litestream-aws'] });
  const text = plan.files.find((f) => f.path === '.deploy/docker-compose.yml')!.content;
  return { text, services: (parse(text) as { services: Record<string, Service> }).services };
}

const ENV = {
  IMAGE_REPO: 'ghcr.io/acme/notes',
  APP_VERSION: 'abc123',
  HOST_DOMAIN: 'notes.example.test',
  LETSENCRYPT_EMAIL: 'ops@example.test',
  AWS_S3_BUCKET: 'b',
  AWS_ACCESS_KEY_ID: 'k',
  AWS_SECRET_ACCESS_KEY: 's',
  AWS_ENDPOINT_URL_S3: '',
  AWS_REGION: '',
};

async function expectValid(text: string): Promise<void> {
  expect(composeSchemaErrors(parse(text))).toEqual([]);
  expect(await dockerComposeConfig(text, ENV)).toBe('');
}

function expectOrdered(services: Record<string, Service>): void {
  expect(services.app.depends_on).toEqual({
    litestream: { condition: 'service_healthy' },
    migrate: { condition: 'service_completed_successfully' },
  });
  expect(services.migrate.depends_on).toEqual({ litestream: { condition: 'service_healthy' } });
  expect(services.migrate.restart).toBe('no');
  // The same image and the same db mount as the app.
  expect(services.migrate.image).toBe(services.app.image);
  expect(services.migrate.volumes).toEqual(services.app.volumes);
}

describe('migrate service', { timeout: 120_000 }, () => {
  it('.NET app reading AppTasks: `--AppTasks=migrate` after the image entrypoint', async () => {
    const dir = await copyFixture('dotnet-web');
    await writeFile(
      path.join(dir, 'Acme/Configure.Db.Migrations.cs'),
      [
        '[assembly: HostingStartup(typeof(Acme.ConfigureDbMigrations))]',
        'namespace Acme;',
        'public class ConfigureDbMigrations : IHostingStartup',
        '{',
        '    public void Configure(IWebHostBuilder builder) => builder',
        '        .ConfigureAppHost(appHost => {',
        '            AppTasks.Register("migrate", args => new Migrator(appHost.Resolve<IDbConnectionFactory>()).Run());',
        '            AppTasks.Run();',
        '        });',
        '}',
        '',
      ].join('\n'),
    );
    const { text, services } = await composeFor(dir);
    expect(services.migrate.command).toEqual(['--AppTasks=migrate']);
    expectOrdered(services);
    expect(text).toContain('found in\n  # Acme/Configure.Db.Migrations.cs');
    await expectValid(text);
  });

  it('.NET app without AppTasks: no migrate service', async () => {
    const { services } = await composeFor(await copyFixture('dotnet-web'));
    expect(services.migrate).toBeUndefined();
    expect(services.app.depends_on).toEqual({ litestream: { condition: 'service_healthy' } });
  });

  it('a `migrate` script in package.json: `npm run migrate`, with the db env var the app gets', async () => {
    const dir = await copyFixture('express');
    const pkgFile = path.join(dir, 'package.json');
    const pkg = JSON.parse(await readFile(pkgFile, 'utf8'));
    pkg.scripts.migrate = 'node src/migrate.js';
    await writeFile(pkgFile, JSON.stringify(pkg, null, 2));
    const { text, services } = await composeFor(dir);
    expect(services.migrate.command).toEqual(['npm', 'run', 'migrate']);
    expect(services.migrate.environment).toEqual(
      Object.fromEntries(
        Object.entries(services.app.environment ?? {}).filter(([k]) => !/^(VIRTUAL_|LETSENCRYPT_)/.test(k)),
      ),
    );
    expectOrdered(services);
    await expectValid(text);
  });

  it('no migration: no migrate service', async () => {
    const { services } = await composeFor(await copyFixture('express'));
    expect(services.migrate).toBeUndefined();
  });

  it('Prisma: `prisma migrate deploy` runs in the migrate service, no longer in the app start command', async () => {
    const dir = await copyFixture('prisma-api');
    const plan = await planMixes({ dir, mixes: ['litestream-aws'] });
    const services = (
      parse(plan.files.find((f) => f.path === '.deploy/docker-compose.yml')!.content) as {
        services: Record<string, Service>;
      }
    ).services;
    expect(services.migrate.command?.slice(0, 5)).toEqual([
      'npx',
      '--no-install',
      'prisma',
      'migrate',
      'deploy',
    ]);
    expectOrdered(services);
    const dockerfile = plan.files.find((f) => f.path === 'Dockerfile')!.content;
    expect(dockerfile).not.toMatch(/migrate deploy/);
  });
});
