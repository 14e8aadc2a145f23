/**
 * The user's files are never lost or silently changed, and nothing from the repo becomes
 * code: --yes keeps their files, --force keeps a copy that `remove` puts back, `remove`
 * never deletes a file that was there before, flags are remembered, every detected value
 * passes the flag's rules, and a db path is only ever one argument of the sidecar's shell.
 */
import { execFile } from 'node:child_process';
import { access, chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { dbPathOverride } from '../../src/generator/detect-facts.js';
import {
  baseImageDefault,
  dockerfileEnvPort,
  readDockerfileFacts,
} from '../../src/generator/dockerfile-facts.js';
import { applyPlan, detectProject, MANIFEST_FILE, planMixes, removeMix } from '../../src/generator/index.js';
import { unmergeCompose } from '../../src/generator/merge.js';
import { validateFacts } from '../../src/generator/validate-facts.js';
import { loadWithRuntime } from '../validators/litestream-config.js';
import { cleanupTemps, copyFixture, projectWith, readTree, tempDir } from './helpers.js';

afterAll(cleanupTemps);

const gone = (p: string) =>
  access(p).then(
    () => false,
    () => true,
  );
const byPath = (files: { path: string; status: string; reason?: string }[], p: string) =>
  files.find((f) => f.path === p);

describe("the user's files", () => {
  it('--yes keeps every file of theirs (Dockerfile, .dockerignore, a changed file) and says so', async () => {
    const dir = await copyFixture('express');
    await writeFile(
      path.join(dir, 'Dockerfile'),
      'FROM node:22\nWORKDIR /app\nUSER node\nCOPY . .\nCMD ["node", "src/server.js"]\n',
    );
    await writeFile(path.join(dir, '.dockerignore'), 'node_modules\n');
    await writeFile(path.join(dir, 'litestream.yml'), 'dbs: [] # mine\n');
    const before = await readTree(dir);
    const result = await applyPlan(await planMixes({ dir, mixes: ['litestream-aws'] }), { yes: true });
    const after = await readTree(dir);
    for (const f of ['Dockerfile', '.dockerignore', 'litestream.yml'])
      expect(after.get(f), f).toBe(before.get(f));
    expect(byPath(result.files, 'Dockerfile')).toMatchObject({
      status: 'skip',
      reason: 'yours: kept as is (--force replaces it, keeping a copy)',
    });
    expect(byPath(result.files, 'litestream.yml')).toMatchObject({
      status: 'skip',
      reason: 'kept yours: --yes never replaces your files (--force does, keeping a copy)',
    });
    expect(result.backups).toEqual([]);
    expect(after.has('.ls-mix/backup/Dockerfile')).toBe(false);
  });

  it('--force replaces them, keeps a copy, and the status line says so; remove puts each back byte for byte', async () => {
    const dir = await copyFixture('express');
    const mine = 'FROM node:22\nWORKDIR /app\nUSER node\nCOPY . .\nCMD ["node", "src/server.js"]\n';
    await writeFile(path.join(dir, 'Dockerfile'), mine);
    await writeFile(path.join(dir, 'litestream.yml'), 'dbs: [] # mine\n');
    const fixture = await readTree(dir);
    const plan = await planMixes({ dir, mixes: ['litestream-aws'], force: true });
    const dry = await applyPlan(plan, { force: true, dryRun: true });
    expect(byPath(dry.files, 'Dockerfile')?.reason).toMatch(
      /^would replace yours; a copy would be kept in \.ls-mix\/backup\/Dockerfile/,
    );
    expect(await readTree(dir)).toEqual(fixture);

    const result = await applyPlan(plan, { force: true });
    expect(byPath(result.files, 'Dockerfile')).toMatchObject({
      status: 'force',
      reason: 'replaced yours; a copy is kept in .ls-mix/backup/Dockerfile (`ls-mix remove` puts it back)',
    });
    expect(await readFile(path.join(dir, 'Dockerfile'), 'utf8')).toMatch(/^# Notes Api: production image/);
    expect(await readFile(path.join(dir, '.ls-mix/backup/Dockerfile'), 'utf8')).toBe(mine);
    const manifest = JSON.parse(await readFile(path.join(dir, MANIFEST_FILE), 'utf8'));
    expect(manifest.files.Dockerfile.backup).toBe('.ls-mix/backup/Dockerfile');

    const removed = await removeMix(dir, 'litestream-aws');
    expect(byPath(removed.files, 'Dockerfile')).toMatchObject({ status: 'restore' });
    expect(removed.restored.sort()).toEqual(['Dockerfile', 'litestream.yml']);
    // Exactly the project as it was: their files back, ours gone, .ls-mix/ and the manifest gone.
    expect(await readTree(dir)).toEqual(fixture);
  });

  it('a second --force over a file of theirs keeps the first copy (the one remove restores) and the second', async () => {
    const dir = await copyFixture('express');
    await writeFile(path.join(dir, 'litestream.yml'), 'dbs: [] # original\n');
    await applyPlan(await planMixes({ dir, mixes: ['litestream-aws'] }), { force: true });
    await writeFile(path.join(dir, 'litestream.yml'), 'dbs: [] # edited after\n');
    const second = await applyPlan(await planMixes({ dir, mixes: ['litestream-aws'] }), { force: true });
    expect(second.backups).toEqual(['.ls-mix/backup/litestream.yml.1']);
    expect(await readFile(path.join(dir, '.ls-mix/backup/litestream.yml'), 'utf8')).toBe(
      'dbs: [] # original\n',
    );
    expect(await readFile(path.join(dir, '.ls-mix/backup/litestream.yml.1'), 'utf8')).toBe(
      'dbs: [] # edited after\n',
    );
    await removeMix(dir, 'litestream-aws');
    expect(await readFile(path.join(dir, 'litestream.yml'), 'utf8')).toBe('dbs: [] # original\n');
  });

  it('remove never deletes a file that was there before ls-mix, even when it is identical to ours', async () => {
    const dir = await copyFixture('express');
    const first = await planMixes({ dir, mixes: ['litestream-aws'] });
    const dockerignore = first.files.find((f) => f.path === '.dockerignore')!.content;
    await writeFile(path.join(dir, '.dockerignore'), dockerignore); // e.g. copied from another project
    const plan = await planMixes({ dir, mixes: ['litestream-aws'] });
    expect(byPath(plan.files, '.dockerignore')).toMatchObject({ status: 'identical', preexisting: true });
    await applyPlan(plan);
    const r = await removeMix(dir, 'litestream-aws');
    expect(byPath(r.files, '.dockerignore')).toMatchObject({
      status: 'kept',
      reason: 'was there before ls-mix: yours',
    });
    expect(await readFile(path.join(dir, '.dockerignore'), 'utf8')).toBe(dockerignore);
    expect(await gone(path.join(dir, 'Dockerfile'))).toBe(true);
  });
});

describe('compose file of the user’s', () => {
  async function withCompose(compose: string) {
    const dir = await copyFixture('express');
    await mkdir(path.join(dir, '.deploy'));
    await writeFile(path.join(dir, '.deploy/docker-compose.yml'), compose);
    return dir;
  }

  it('a bind mount of the db folder: the sidecar gets the same bind mount, and no named volume is added', async () => {
    const dir = await withCompose(
      'services:\n  web:\n    build: ..\n    volumes:\n      - ./notes-data:/data   # bind\n',
    );
    await applyPlan(await planMixes({ dir, mixes: ['litestream-aws'] }));
    const doc = parse(await readFile(path.join(dir, '.deploy/docker-compose.yml'), 'utf8'));
    expect(doc.services.litestream.volumes).toEqual(['./notes-data:/data']);
    expect(doc.volumes).toBeUndefined();
    expect(doc.services.litestream.image).toBeUndefined(); // built by compose, like their app
    expect(doc.services.litestream.build.dockerfile).toBe('.deploy/litestream.Dockerfile');
  });

  it('the env var the app reads its db path from, set in their compose, gives the path the sidecar replicates', async () => {
    const dir = await withCompose(
      [
        'services:',
        '  app:',
        '    image: me/notes',
        '    environment:',
        '      - DB_PATH=/var/lib/notes/notes.db',
        '    volumes:',
        '      - type: volume',
        '        source: notes',
        '        target: /var/lib/notes',
        'volumes:',
        '  notes:',
        '',
      ].join('\n'),
    );
    const plan = await planMixes({ dir, mixes: ['litestream-aws'] });
    expect(plan.containerDb.path).toBe('/var/lib/notes/notes.db');
    await applyPlan(plan);
    const doc = parse(await readFile(path.join(dir, '.deploy/docker-compose.yml'), 'utf8'));
    expect(doc.services.litestream.volumes).toEqual([
      { type: 'volume', source: 'notes', target: '/var/lib/notes' },
    ]);
    expect(doc.services.litestream.image).toBe('me/notes-litestream');
    expect(Object.keys(doc.volumes)).toEqual(['notes']);
    expect(loadWithRuntime(await readFile(path.join(dir, 'litestream.yml'), 'utf8')).dbs[0].path).toBe(
      '/var/lib/notes/notes.db',
    );
  });

  it('a db folder on a tmpfs or an anonymous volume is refused: the sidecar cannot share it', async () => {
    const tmpfs = await withCompose(
      'services:\n  app:\n    build: ..\n    tmpfs:\n      - /run\n    volumes:\n      - type: tmpfs\n        target: /data\n',
    );
    await expect(planMixes({ dir: tmpfs, mixes: ['litestream-aws'] })).rejects.toThrow(
      /'app' service keeps its SQLite db folder \/data on a tmpfs/,
    );
    const anon = await withCompose('services:\n  app:\n    build: ..\n    volumes:\n      - /data\n');
    await expect(planMixes({ dir: anon, mixes: ['litestream-aws'] })).rejects.toThrow(
      /on an anonymous volume/,
    );
  });

  it('4-space indentation and no final newline: ours is indented like theirs, and unmerge gives their bytes back', async () => {
    const mine =
      'services:\n    app:\n        build: ..\n        volumes:\n            - "db:/data"  # keep\nvolumes:\n    db:';
    const dir = await withCompose(mine);
    const plan = await planMixes({ dir, mixes: ['litestream-aws'] });
    const compose = plan.files.find((f) => f.path === '.deploy/docker-compose.yml')!;
    expect(compose.content.startsWith(mine.slice(0, mine.indexOf('volumes:\n    db')))).toBe(true);
    expect(compose.content).toMatch(/\n {4}litestream:\n {8}build:\n {12}context: \.\.\n/);
    expect(parse(compose.content).services.litestream.volumes).toEqual(['db:/data']);
    expect(unmergeCompose(compose.content, compose.added ?? [], 'f')).toBe(mine);
  });

  it('a compose file in the top folder is not taken over: a note says ls-mix deploys its own stack', async () => {
    const dir = await copyFixture('express');
    await writeFile(path.join(dir, 'compose.yaml'), 'services:\n  web:\n    build: .\n');
    const plan = await planMixes({ dir, mixes: ['litestream-aws'] });
    expect(plan.notes).toContain(
      'compose.yaml is yours and stays as is: ls-mix deploys .deploy/docker-compose.yml, a stack of its own. To have ls-mix add its sidecar to your stack (on the volume your app keeps its db on), copy compose.yaml to .deploy/docker-compose.yml (its relative paths then start from .deploy/) and run again.',
    );
    expect(plan.files.map((f) => f.path)).not.toContain('compose.yaml');
  });

  it('two built services and no app: asks for --service; --service picks one', async () => {
    const dir = await withCompose(
      'services:\n  api:\n    build: ..\n    volumes: ["db:/data"]\n  worker:\n    build: ..\nvolumes:\n  db:\n',
    );
    await expect(planMixes({ dir, mixes: ['litestream-aws'] })).rejects.toMatchObject({
      message: expect.stringMatching(/cannot tell which service runs the app \(services: api, worker\)/),
      hint: 'Pass --service with the name of the app service.',
    });
    const plan = await planMixes({ dir, mixes: ['litestream-aws'], overrides: { service: 'api' } });
    const compose = plan.files.find((f) => f.path === '.deploy/docker-compose.yml')!;
    expect(parse(compose.content).services.litestream.volumes).toEqual(['db:/data']);
  });
});

describe('a Dockerfile of the user’s, read with dockerfile-ast', () => {
  it('final stage only; WORKDIR relative to the last one and through ENV; USER by uid, known name or $APP_UID; EXPOSE ports', () => {
    const facts = readDockerfileFacts(
      [
        'FROM mcr.microsoft.com/dotnet/sdk:8.0 AS build',
        'WORKDIR /src',
        'USER root',
        'EXPOSE 5000',
        'FROM mcr.microsoft.com/dotnet/aspnet:8.0',
        'ENV BASE=/opt',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile variable, not a JS template
        'WORKDIR ${BASE}/shop',
        'WORKDIR web',
        'USER $APP_UID',
        'EXPOSE 8080/tcp 8443',
        '',
      ].join('\n'),
    );
    expect(facts).toEqual({
      workdir: '/opt/shop/web',
      user: '1654',
      uid: 1654,
      ports: [8080, 8443],
      env: { BASE: '/opt' },
      runs: false,
      image: 'dotnet/aspnet:8.0',
    });
    expect(readDockerfileFacts('FROM node:22\nUSER appuser\n')).toEqual({
      user: 'appuser',
      uid: undefined,
      ports: [],
      env: {},
      runs: false,
      image: 'node:22',
    });
    // A CMD or ENTRYPOINT anywhere in the final stage's chain starts something.
    const runs = (t: string) => readDockerfileFacts(t).runs;
    expect(runs('FROM node:22 AS base\nCMD ["node", "server.js"]\nFROM base\nUSER node\n')).toBe(true);
    expect(runs('FROM node:22\nENTRYPOINT ["/app/start.sh"]\n')).toBe(true);
    expect(
      runs('FROM node:22 AS build\nCMD ["npm", "test"]\nFROM node:22-slim\nCOPY --from=build /app /app\n'),
    ).toBe(false);
    expect(baseImageDefault(readDockerfileFacts('FROM node:18-slim\nWORKDIR /app\n').image)).toMatch(/REPL/);
    expect(baseImageDefault('dotnet/aspnet:8.0')).toMatch(/does not start/);
    expect(baseImageDefault('ghcr.io/acme/node-base:1')).toBeUndefined();
  });

  it('a final stage built FROM an earlier one inherits its WORKDIR, USER, EXPOSE and ENV; an ARG is not runtime env', () => {
    const facts = readDockerfileFacts(
      [
        'ARG PORT=9999',
        'FROM node:22-slim AS Base',
        'WORKDIR /srv/app',
        'USER node',
        'ENV PORT=4000 MODE="prod mode"',
        'FROM base AS build',
        'USER root',
        'WORKDIR /build',
        'ENV PORT=1',
        'FROM base',
        'ENV DATABASE_URL=file:/data/a.db?mode=rwc',
        '',
      ].join('\n'),
    );
    expect(facts).toEqual({
      workdir: '/srv/app',
      user: 'node',
      uid: 1000,
      ports: [],
      env: { PORT: '4000', MODE: 'prod mode', DATABASE_URL: 'file:/data/a.db?mode=rwc' },
      runs: false,
      image: 'node:22-slim',
    });
    expect(dockerfileEnvPort(facts, 'node')).toEqual({ name: 'PORT', port: 4000 });
    // System users by the base image's family (lovasoa/sanipasse: node:16-alpine, USER daemon).
    const uid = (t: string) => readDockerfileFacts(t).uid;
    expect(uid('FROM node:16-alpine\nUSER daemon\n')).toBe(2);
    expect(uid('FROM node:22-bookworm-slim AS base\nFROM base\nUSER daemon\n')).toBe(1);
    expect(uid('FROM node:20-slim@sha256:a22f\nUSER www-data\n')).toBe(33);
    expect(uid('FROM gcr.io/distroless/nodejs22\nUSER daemon\n')).toBeUndefined();
    expect(dockerfileEnvPort(facts, 'dotnet')).toBeUndefined();
    // An image named like no earlier stage is an image; ARG values are build-time only.
    expect(readDockerfileFacts('FROM base AS x\nUSER 5\nFROM other\nARG PORT=1\n')).toEqual({
      ports: [],
      env: {},
      runs: false,
      image: 'other',
    });
    const aspnet = readDockerfileFacts(
      'FROM mcr.microsoft.com/dotnet/aspnet:10.0\nENV ASPNETCORE_URLS=http://+:5080;https://+:5443\n',
    );
    expect(dockerfileEnvPort(aspnet, 'dotnet')).toEqual({ name: 'ASPNETCORE_URLS', port: 5080 });
  });

  it('ENV PORT wins over the fallback the app reads it with, and is named when the app does not read it', async () => {
    const dir = await copyFixture('express');
    await writeFile(
      path.join(dir, 'Dockerfile'),
      'FROM node:22-slim\nWORKDIR /app\nENV PORT=8080\nCOPY . .\nCMD ["node", "server.js"]\n',
    );
    const fallback = await planMixes({ dir, mixes: ['litestream-aws'] });
    expect(fallback.facts.port).toMatchObject({ value: 8080, from: 'Dockerfile ENV PORT' });
    // The flag still wins.
    const flagged = await planMixes({ dir, mixes: ['litestream-aws'], overrides: { port: 9000 } });
    expect(flagged.facts.port.value).toBe(9000);
    // A port in the code that ignores PORT stays, and the mismatch is said.
    const server = path.join(dir, 'src/server.js');
    await writeFile(
      server,
      (await readFile(server, 'utf8'))
        .replace('Number(process.env.PORT || 3000)', '3000')
        .replace('app.listen(port', 'app.listen(3000'),
    );
    const fixed = await planMixes({ dir, mixes: ['litestream-aws'] });
    expect(fixed.facts.port).toMatchObject({ value: 3000, from: 'src/server.js' });
    expect(fixed.notes).toContain(
      'Mismatch: your Dockerfile sets PORT=8080 but the app listens on 3000 (detected in src/server.js, which does not read PORT); the compose file uses 3000. Pass --port if the app does listen on 8080.',
    );
  });

  it('a port mismatch and a user whose uid cannot be told are named in notes', async () => {
    const dir = await copyFixture('own-dockerfile');
    await writeFile(
      path.join(dir, 'Dockerfile'),
      (await readFile(path.join(dir, 'Dockerfile'), 'utf8')).replace('USER 10001', 'USER shop'),
    );
    const plan = await planMixes({ dir, mixes: ['litestream-aws'], overrides: { port: 9000 } });
    const notes = plan.notes.join('\n');
    expect(notes).toContain(
      'Mismatch: your Dockerfile EXPOSEs 8081 but the app listens on 9000 (--port); the compose file uses 9000. Fix the EXPOSE line, or pass --port.',
    );
    expect(notes).toMatch(/runs the app as USER shop, whose uid ls-mix cannot tell/);
  });
});

describe('a Dockerfile ENV that puts the db in a folder of the app', () => {
  it('is not followed when a volume there would hide the image’s files (the migrations): /data instead, and a note', async () => {
    const dir = await copyFixture('prisma-dockerfile-env');
    const dockerfile = path.join(dir, 'Dockerfile');
    await writeFile(
      dockerfile,
      (await readFile(dockerfile, 'utf8')).replace(
        'file:/data/trail-log.db?connection_limit=1',
        'file:/srv/trail-log/prisma/live.db',
      ),
    );
    await mkdir(path.join(dir, 'prisma/migrations/1_init'), { recursive: true });
    await writeFile(
      path.join(dir, 'prisma/migrations/1_init/migration.sql'),
      'CREATE TABLE "Hike" (id INTEGER);\n',
    );
    const plan = await planMixes({ dir, mixes: ['litestream-aws'] });
    expect(plan.containerDb.path).toBe('/data/dev.db');
    expect(plan.notes).toContain(
      'Your Dockerfile puts the db at /srv/trail-log/prisma/live.db, in a folder of the app that a volume would hide (prisma/migrations/1_init/migration.sql, prisma/schema.prisma): the compose file sets DATABASE_URL to a path on the db volume instead.',
    );
    const compose = parse(plan.files.find((f) => f.path === '.deploy/docker-compose.yml')!.content);
    expect(compose.services.app.environment.DATABASE_URL).toBe('file:/data/dev.db');
  });
});

describe('a compose file of the user’s that gives the db var a URL with options', () => {
  it('replicates the file, not the URL (?connection_limit=1 is no part of the path); their compose wins over their Dockerfile', async () => {
    const dir = await copyFixture('prisma-dockerfile-env');
    await mkdir(path.join(dir, '.deploy'));
    await writeFile(
      path.join(dir, '.deploy/docker-compose.yml'),
      'services:\n  app:\n    build: ..\n    environment:\n      DATABASE_URL: file:/var/lib/trail/t.db?connection_limit=1\n    volumes:\n      - trail:/var/lib/trail\nvolumes:\n  trail:\n',
    );
    const plan = await planMixes({ dir, mixes: ['litestream-aws'] });
    expect(plan.containerDb.path).toBe('/var/lib/trail/t.db');
    const config = plan.files.find((f) => f.path === 'litestream.yml')!.content;
    expect(loadWithRuntime(config).dbs[0].path).toBe('/var/lib/trail/t.db');
  });
});

describe('a Dockerfile ENV value the compose file cannot hold as it is', () => {
  it('keeps the db path, drops the options, says so (ejs would turn & into &amp;)', async () => {
    const dir = await copyFixture('prisma-dockerfile-env');
    const dockerfile = path.join(dir, 'Dockerfile');
    await writeFile(
      dockerfile,
      (await readFile(dockerfile, 'utf8')).replace(
        '?connection_limit=1',
        '?connection_limit=1&socket_timeout=10',
      ),
    );
    const plan = await planMixes({ dir, mixes: ['litestream-aws'] });
    const compose = parse(plan.files.find((f) => f.path === '.deploy/docker-compose.yml')!.content);
    expect(compose.services.app.environment.DATABASE_URL).toBe('file:/data/trail-log.db');
    expect(plan.notes).toContain(
      'Your Dockerfile sets DATABASE_URL with characters the compose file cannot hold as they are: compose sets it to the db path alone; add any options of it in .deploy/docker-compose.yml.',
    );
    // A path that is no plain path is not followed at all.
    await writeFile(
      dockerfile,
      (await readFile(dockerfile, 'utf8')).replace('file:/data/trail-log.db', 'file:/data/trail#log.db'),
    );
    expect((await planMixes({ dir, mixes: ['litestream-aws'] })).containerDb.path).toBe('/data/dev.db');
  });
});

describe('a .NET Dockerfile of the user’s that sets the connection string and the URLs', () => {
  it('puts the db where its ENV ConnectionStrings__X says, with its keywords, and routes to its ASPNETCORE_URLS port', async () => {
    const dir = await copyFixture('dotnet-web');
    await writeFile(
      path.join(dir, 'Dockerfile'),
      [
        'FROM mcr.microsoft.com/dotnet/sdk:8.0 AS build',
        'WORKDIR /src',
        'COPY . .',
        'RUN dotnet publish Acme/Acme.csproj -c Release -o /app/publish',
        'FROM mcr.microsoft.com/dotnet/aspnet:8.0',
        'WORKDIR /app',
        'COPY --from=build /app/publish .',
        'ENV ASPNETCORE_URLS=http://+:5080',
        'ENV ConnectionStrings__DefaultConnection="Data Source=/data/acme.db;Foreign Keys=True"',
        'USER $APP_UID',
        'ENTRYPOINT ["dotnet", "Acme.dll"]',
        '',
      ].join('\n'),
    );
    const plan = await planMixes({ dir, mixes: ['litestream-aws'] });
    expect(plan.facts.port).toMatchObject({ value: 5080, from: 'Dockerfile ENV ASPNETCORE_URLS' });
    expect(plan.containerDb.path).toBe('/data/acme.db');
    const compose = parse(plan.files.find((f) => f.path === '.deploy/docker-compose.yml')!.content);
    expect(compose.services.app.environment).toMatchObject({
      VIRTUAL_PORT: '5080',
      ConnectionStrings__DefaultConnection: 'Data Source=/data/acme.db;Foreign Keys=True',
    });
    expect(compose.services.app.volumes).toEqual(['acme-data:/data']);
    // Without those ENV lines: appsettings' path under WORKDIR, the image's default port.
    await writeFile(
      path.join(dir, 'Dockerfile'),
      'FROM mcr.microsoft.com/dotnet/aspnet:8.0\nWORKDIR /app\nENTRYPOINT ["dotnet", "Acme.dll"]\n',
    );
    const plain = await planMixes({ dir, mixes: ['litestream-aws'] });
    expect([plain.facts.port.value, plain.containerDb.path]).toEqual([8080, '/app/App_Data/app.db']);
  });
});

describe('a Dockerfile of the user’s that starts nothing', () => {
  it('is refused over an official base image (a development image); --force, a CMD or a compose file of yours settles it', async () => {
    // Shaped like EvgeniyKoch/backend-project-lvl4: `Dockerfile` is the development image (tools
    // and a WORKDIR, the code bind-mounted and the command given by docker-compose.override.yml).
    const dir = await copyFixture('express');
    const dev =
      'FROM node:18-slim\nRUN apt-get update && apt-get install -yq build-essential python3\nWORKDIR /app\n';
    await writeFile(path.join(dir, 'Dockerfile'), dev);
    const before = await readTree(dir);
    await expect(planMixes({ dir, mixes: ['litestream-aws'] })).rejects.toMatchObject({
      message:
        'Your Dockerfile has no CMD or ENTRYPOINT: a container of it runs what node:18-slim runs by default (node with no script: a REPL that exits at once), not the app, and every deploy would start nothing (a development image, used with a bind mount and a compose `command:`?)',
      hint: expect.stringMatching(/^Add a CMD that starts the app .*--force/),
    });
    expect(await readTree(dir)).toEqual(before);
    // --force writes ls-mix's Dockerfile (which has a CMD).
    const forced = await planMixes({ dir, mixes: ['litestream-aws'], force: true });
    expect(forced.files.find((f) => f.path === 'Dockerfile')?.content).toMatch(/^CMD \[/m);
    // A base image of the user's may start the app itself: not refused.
    await writeFile(
      path.join(dir, 'Dockerfile'),
      'FROM ghcr.io/acme/node-app-base:1\nWORKDIR /app\nCOPY . .\n',
    );
    expect((await planMixes({ dir, mixes: ['litestream-aws'] })).userDockerfile).toBe(true);
    // A compose file of the user's (.deploy/) may give the app service its command.
    await writeFile(path.join(dir, 'Dockerfile'), dev);
    await mkdir(path.join(dir, '.deploy'), { recursive: true });
    await writeFile(
      path.join(dir, '.deploy/docker-compose.yml'),
      'services:\n  app:\n    build: ..\n    command: npm start\n    volumes:\n      - app-data:/data\nvolumes:\n  app-data:\n',
    );
    expect((await planMixes({ dir, mixes: ['litestream-aws'] })).userDockerfile).toBe(true);
  });
});

describe('a Bun app', () => {
  it('is never given a Node Dockerfile: refused without one of its own (and with --force); fitted to its own', async () => {
    const dir = await copyFixture('bun-hono');
    const facts = await detectProject(dir);
    // Bun.env is process.env.
    expect([facts.dbPath.value, facts.dbEnvVar, facts.ownDockerfile, facts.port]).toEqual([
      'data/links.db',
      'DB_FILE',
      { kind: 'Bun', why: 'package.json scripts.start runs bun' },
      { value: 3000, source: 'detected', from: 'src/index.ts', envDefault: 'PORT' },
    ]);
    const before = await readTree(dir);
    await expect(planMixes({ dir, mixes: ['litestream-aws'] })).rejects.toMatchObject({
      message:
        'This app runs on Bun (package.json scripts.start runs bun): the Dockerfile ls-mix writes is a Node one, which can neither build nor run it',
      hint: expect.stringMatching(/^Add a Dockerfile that builds and runs the app on Bun/),
    });
    await writeFile(
      path.join(dir, 'Dockerfile'),
      'FROM oven/bun:1-slim\nWORKDIR /srv\nCOPY . .\nRUN bun install --production\nENV PORT=4100\nUSER bun\nCMD ["bun", "run", "src/index.ts"]\n',
    );
    await expect(planMixes({ dir, mixes: ['litestream-aws'], force: true })).rejects.toThrow(/runs on Bun/);
    const plan = await planMixes({ dir, mixes: ['litestream-aws'] });
    expect(plan.files.find((f) => f.path === 'Dockerfile')?.status).toBe('skip');
    expect(plan.facts.port.value).toBe(4100);
    expect(plan.containerDb.path).toBe('/data/links.db');
    // Nothing was written by the refused runs.
    expect([...(await readTree(dir)).keys()].sort()).toEqual([...before.keys(), 'Dockerfile'].sort());
    // Signals: the lockfile, packageManager, Bun's API in the sources.
    await writeFile(path.join(dir, 'package.json'), '{ "name": "x", "packageManager": "bun@1.2.14" }\n');
    expect((await detectProject(dir)).ownDockerfile?.why).toBe('package.json packageManager');
    await writeFile(path.join(dir, 'bun.lock'), '{}\n');
    expect((await detectProject(dir)).ownDockerfile?.why).toBe('bun.lock');
  });
});

describe('a Node app without a start script', () => {
  it('is refused: the image would run `npm start` and stop; a main, a server.js or a Dockerfile of its own settles it', async () => {
    // Shaped like tnsicdr/ascendant-mimir: TypeScript run by tsx in development, no start script.
    const files = {
      'package.json': JSON.stringify({
        name: 'mimir',
        type: 'module',
        scripts: { dev: 'tsx --env-file=.env ./src/main.ts', test: 'vitest' },
        dependencies: { 'better-sqlite3': '^11', fastify: '^5' },
      }),
      'src/main.ts': `import Database from 'better-sqlite3';\nconst db = new Database(process.env.DB_FILE ?? 'data/app.db');\n`,
    };
    const dir = await projectWith(files, 'ls-mix-nostart-');
    const before = await readTree(dir);
    await expect(planMixes({ dir, mixes: ['litestream-aws'] })).rejects.toMatchObject({
      message:
        'package.json has no "start" script (its scripts: dev: tsx --env-file=.env ./src/main.ts; test: vitest): the image ls-mix writes starts the app with `npm start`, which would stop with "Missing script: start" on every deploy',
      hint: expect.stringMatching(/^Add a "start" script .*; or add a Dockerfile of your own/),
    });
    await expect(planMixes({ dir, mixes: ['litestream-aws'], force: true })).rejects.toThrow(
      /no "start" script/,
    );
    expect(await readTree(dir)).toEqual(before);
    // npm's own default: `node server.js`.
    await writeFile(path.join(dir, 'server.js'), "import './src/main.ts';\n");
    expect((await planMixes({ dir, mixes: ['litestream-aws'] })).facts.startCommand).toEqual([
      'npm',
      'start',
    ]);
    await rm(path.join(dir, 'server.js'));
    // A `main` is run as it is.
    const pkg = JSON.parse(files['package.json']);
    await writeFile(path.join(dir, 'package.json'), JSON.stringify({ ...pkg, main: 'dist/main.js' }));
    expect((await planMixes({ dir, mixes: ['litestream-aws'] })).facts.startCommand).toEqual([
      'node',
      'dist/main.js',
    ]);
    await writeFile(path.join(dir, 'package.json'), files['package.json']);
    // A Dockerfile of its own runs what it says.
    await writeFile(
      path.join(dir, 'Dockerfile'),
      'FROM node:22-slim\nWORKDIR /app\nCOPY . .\nCMD ["npx", "tsx", "src/main.ts"]\n',
    );
    const own = await planMixes({ dir, mixes: ['litestream-aws'] });
    expect(own.files.find((f) => f.path === 'Dockerfile')?.status).toBe('skip');
  });
});

describe('flags are remembered', () => {
  it('a re-run without --db-path / --port keeps what they set, and says where it comes from', async () => {
    const dir = await copyFixture('express');
    await applyPlan(
      await planMixes({
        dir,
        mixes: ['litestream-aws'],
        overrides: { dbPath: 'var/notes.sqlite', port: 4000 },
      }),
    );
    const manifest = JSON.parse(await readFile(path.join(dir, MANIFEST_FILE), 'utf8'));
    expect(manifest.facts).toEqual({ dbPath: 'var/notes.sqlite', port: 4000 });
    const again = await planMixes({ dir, mixes: ['litestream-aws'] });
    expect(again.facts.dbPath).toEqual({
      value: 'var/notes.sqlite',
      source: 'flag',
      from: '--db-path, remembered in .ls-mix.json',
    });
    expect(again.facts.port.value).toBe(4000);
    expect(again.files.every((f) => f.status === 'identical')).toBe(true);
    // A flag given now wins, and is remembered in turn.
    await applyPlan(await planMixes({ dir, mixes: ['litestream-aws'], overrides: { port: 5000 } }));
    const third = await planMixes({ dir, mixes: ['litestream-aws'] });
    expect([third.facts.port.value, third.facts.dbPath.value]).toEqual([5000, 'var/notes.sqlite']);
  });
});

describe('values from the repo are data, never code', () => {
  /** A copy of `fixture` whose `file` opens `literal` where it opened `was`. */
  async function opening(fixture: string, file: string, was: string, literal: string) {
    const dir = await copyFixture(fixture);
    const source = path.join(dir, file);
    await writeFile(
      source,
      (await readFile(source, 'utf8')).replace(was, () => JSON.stringify(literal)),
    );
    return dir;
  }
  /** The own-dockerfile fixture (workdir /srv/app) with its app opening `literal` by a fixed path. */
  const ownDockerfileOpening = (literal: string) =>
    opening('own-dockerfile', 'src/server.js', "'storage/shop.sqlite'", literal);
  /** The express fixture, its app reading DB_PATH with `literal` as the default. */
  const withDbLiteral = (literal: string) => opening('express', 'src/db.js', "'data/notes.db'", literal);

  it('a detected db path data/x$$(id).db is refused like the flag would be, naming the file and --db-path', async () => {
    const dir = await withDbLiteral('data/x$$(id).db');
    await expect(planMixes({ dir, mixes: ['litestream-aws'] })).rejects.toMatchObject({
      // The detection names the file (and, for code, the line) the path came from.
      message: expect.stringMatching(
        /^The SQLite db path 'data\/x\$\$\(id\)\.db' \(detected in src\/db\.js(:\d+ \([\w-]+\))?\) cannot be used: only letters, digits, spaces and \/ \. _ - @ \+ are allowed$/,
      ),
      hint: 'Pass --db-path with a plain value, e.g. --db-path data/app.db.',
    });
    await expect(
      planMixes({ dir, mixes: ['litestream-aws'], overrides: { dbPath: 'data/x$$(id).db' } }),
    ).rejects.toThrow(/--db-path 'data\/x\$\$\(id\)\.db' is not a plain file path/);
  });

  it.each(['data/`id`.db', "data/it's.db", 'data/a;b.db', 'data/a\u001b[2J.db', '-rf/x.db', 'data/../x.db'])(
    'a detected db path %j fails the same rule as --db-path',
    async (bad) => {
      const facts = await detectProject(await copyFixture('express'));
      facts.dbPath = { value: bad, source: 'detected', from: 'appsettings.json' };
      expect(() => validateFacts(facts)).toThrow(
        /^The SQLite db path '.*' \(detected in appsettings\.json\) cannot be used/,
      );
      expect(() => dbPathOverride({ dbPath: bad })).toThrow(/is not a plain file path/);
      // The message never carries the terminal control characters of the path.
      try {
        validateFacts(facts);
      } catch (err) {
        expect((err as Error).message).not.toMatch(/\u001b/);
      }
    },
  );

  it('a detected .NET project path with shell characters is refused before it reaches a Dockerfile RUN line', async () => {
    const facts = await detectProject(await copyFixture('dotnet-web'));
    expect(() => validateFacts(facts)).not.toThrow();
    facts.csproj = 'Acme/$(id)/Acme.csproj';
    expect(() => validateFacts(facts)).toThrow(
      /^The web project 'Acme\/\$\(id\)\/Acme\.csproj' has characters a Dockerfile line cannot hold/,
    );
  });

  it('a db path with spaces works: one argument of the sidecar command, a quoted shell word in the sidecar Dockerfile', async () => {
    const dir = await copyFixture('express');
    const plan = await planMixes({
      dir,
      mixes: ['litestream-sftp'],
      overrides: { dbPath: '/srv/my notes/notes.db' },
    });
    const compose = parse(plan.files.find((f) => f.path === '.deploy/docker-compose.yml')!.content);
    expect(compose.services.litestream.command.at(-1)).toBe('/srv/my notes/notes.db');
    expect(compose.services.litestream.volumes).toEqual(['notes-api-data:/srv/my notes']);
    const plain = await planMixes({
      dir: await ownDockerfileOpening('my data/shop.db'),
      mixes: ['litestream-sftp'],
    });
    const c2 = parse(plain.files.find((f) => f.path === '.deploy/docker-compose.yml')!.content);
    expect(c2.services.litestream.command.at(-1)).toBe('/srv/app/my data/shop.db');
    expect(c2.services.litestream.volumes).toEqual(['corner-shop-data:/srv/app/my data']);
    const sidecar = plain.files.find((f) => f.path === '.deploy/litestream.Dockerfile')!.content;
    expect(sidecar).toContain("RUN mkdir -p '/srv/app/my data' && chown 10001:10001 '/srv/app/my data'");
    expect(loadWithRuntime(plain.files.find((f) => f.path === 'litestream.yml')!.content).dbs[0].path).toBe(
      '/srv/app/my data/shop.db',
    );
  });

  it('the sidecar command runs a db path as data in a real shell, whatever it holds', async () => {
    // Render with a hostile path (past the validation, as a hand-edited manifest or a future
    // detector could) and run the compose command the way compose does: `$$` is `$`.
    const dir = await ownDockerfileOpening('data/x.db');
    const plan = await planMixes({ dir, mixes: ['litestream-aws'] });
    const compose = parse(plan.files.find((f) => f.path === '.deploy/docker-compose.yml')!.content);
    const command = (compose.services.litestream.command as string[]).map((a) => a.replace(/\$\$/g, '$'));
    const hostile = '/srv/app/data/x$(touch pwned)`touch pwned2`;touch pwned3 .db';
    command[command.length - 1] = hostile;
    const bin = await tempDir('ls-mix-fakebin-');
    await writeFile(path.join(bin, 'ls-mix'), '#!/bin/sh\nprintf "%s\\n" "$@" >> "$LOG"\n');
    await chmod(path.join(bin, 'ls-mix'), 0o755);
    const work = await tempDir('ls-mix-shell-');
    const log = path.join(work, 'args.log');
    await promisify(execFile)(command[0], command.slice(1), {
      cwd: work,
      env: { PATH: `${bin}:/usr/bin:/bin`, LOG: log },
    }).catch(() => undefined); // the fake ls-mix logs its arguments; they are what count
    const args = (await readFile(log, 'utf8')).split('\n');
    expect(args).toContain(hostile);
    for (const f of ['pwned', 'pwned2', 'pwned3']) expect(await gone(path.join(work, f))).toBe(true);
  });

  it('a db path whose folder is a system folder of the image is refused (no volume over /etc or /usr/local)', async () => {
    for (const p of [
      '/etc/app.db',
      '/usr/local/app.db',
      '/usr/local/lib/app.db',
      '/usr/src/app.db',
      '/var/app.db',
      '/tmp/app.db',
    ]) {
      await expect(
        planMixes({ dir: await ownDockerfileOpening(p), mixes: ['litestream-aws'] }),
        p,
      ).rejects.toThrow(/system folder/);
      // The app reads its path from DB_PATH: the flag sets it, and the same rule applies.
      await expect(
        planMixes({ dir: await copyFixture('express'), mixes: ['litestream-aws'], overrides: { dbPath: p } }),
        p,
      ).rejects.toThrow(/system folder/);
    }
    const ok = await planMixes({
      dir: await ownDockerfileOpening('/var/lib/shop/shop.db'),
      mixes: ['litestream-aws'],
    });
    expect(ok.containerDb.path).toBe('/var/lib/shop/shop.db');
    // /usr/src holds source code, no system files: a folder below it is the app's (Node's
    // Docker guide puts the app in /usr/src/app).
    const src = await planMixes({
      dir: await ownDockerfileOpening('/usr/src/app/data/shop.db'),
      mixes: ['litestream-aws'],
    });
    expect(src.containerDb.path).toBe('/usr/src/app/data/shop.db');
  });
});
