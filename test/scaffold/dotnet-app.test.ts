/**
 * The four .NET starters, compiled and run: `ls-mix new` -> `dotnet build` -> the app serves
 * HTTP and writes its SQLite db (WAL) where the mix replicates it -> the same app under
 * `ls-mix replicate -exec "dotnet ..."`, its db path given through configuration as the
 * generated compose file gives it -> `ls-mix restore` brings every row back.
 *
 * NuGet packages come from the machine's source into the default cache (~/.nuget/packages):
 * each starter restores once, in its build.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { detectProject } from '../../src/generator/detect.js';
import { scaffoldProject } from '../../src/scaffold/index.js';
import { freePort, postNotes, waitForHttp } from './app-process.js';
import { assertBuilt, BIN, runCli, tempDirs } from './helpers.js';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

const TEMPLATES = ['web', 'blazor-server', 'blazor-tailwind', 'blazor-wasm'] as const;

interface BuiltApp {
  dir: string;
  /** The published project's folder (the app's content root: /app in the container). */
  projectDir: string;
  dll: string;
}

async function scaffoldAndBuild(template: string): Promise<BuiltApp> {
  const { dir } = await scaffoldProject({
    template,
    name: 'Notes Web',
    storage: 'aws',
    cwd: dirs.make('ls-mix-dotnet-'),
    git: false,
  });
  const facts = await detectProject(dir);
  const csproj = facts.csproj ?? '';
  expect(readFileSync(join(dir, csproj), 'utf8')).toContain('<TargetFramework>net10.0</TargetFramework>');
  const build = await execa('dotnet', ['build', csproj, '--nologo', '-v', 'q', '-clp:NoSummary'], {
    cwd: dir,
    reject: false,
    timeout: 600_000,
    env: { DOTNET_CLI_TELEMETRY_OPTOUT: '1', DOTNET_NOLOGO: '1' },
  });
  expect(build.exitCode, build.stdout + build.stderr).toBe(0);
  const projectDir = join(dir, csproj, '..');
  const dll = join(projectDir, 'bin/Debug/net10.0', `${facts.assemblyName}.dll`);
  expect(existsSync(dll), dll).toBe(true);
  return { dir, projectDir, dll };
}

/** `dotnet App.dll` on 127.0.0.1:port, in the project folder (its content root). */
function appEnv(port: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ASPNETCORE_URLS: `http://127.0.0.1:${port}`,
    ASPNETCORE_ENVIRONMENT: 'Production',
    DOTNET_CLI_TELEMETRY_OPTOUT: '1',
    ...extra,
  };
}

async function listNotes(base: string): Promise<string[]> {
  const res = await fetch(`${base}/api/notes?limit=500`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { text: string }[]).map((n) => n.text).reverse();
}

function readDb(file: string): { journal: unknown; texts: string[]; integrity: unknown } {
  const db = new Database(file, { readonly: true });
  try {
    return {
      journal: db.pragma('journal_mode', { simple: true }),
      texts: (db.prepare('SELECT text FROM notes ORDER BY id').all() as { text: string }[]).map(
        (r) => r.text,
      ),
      integrity: db.pragma('integrity_check', { simple: true }),
    };
  } finally {
    db.close();
  }
}

describe.each(TEMPLATES)('%s starter: compiled and run', (template) => {
  let app: BuiltApp;

  beforeAll(async () => {
    app = await scaffoldAndBuild(template);
  }, 900_000);

  it('serves HTTP and writes its SQLite db (WAL) at the path the mix replicates', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const proc = execa('dotnet', [app.dll], {
      cwd: app.projectDir,
      env: appEnv(port),
      reject: false,
      timeout: 120_000,
    });
    try {
      await waitForHttp(`${base}/healthz`, proc);
      await postNotes(base, 12, `${template} note`);
      expect(await listNotes(base)).toHaveLength(12);
      const bad = await fetch(`${base}/api/notes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"text":""}',
      });
      expect(bad.status).toBe(400);
      if (template !== 'web') {
        const page = await fetch(base);
        expect(page.status).toBe(200);
        expect(await page.text()).toContain('_framework/blazor.web.js');
      }
    } finally {
      proc.kill('SIGTERM');
    }
    const run = await proc;
    expect(run.exitCode, run.stdout + run.stderr).toBe(0); // graceful shutdown

    // The app's relative App_Data/app.db is /app/App_Data/app.db in the container: exactly
    // what litestream.yml replicates and what compose hands the app as its connection string.
    const written = join(app.projectDir, 'App_Data/app.db');
    const db = readDb(written);
    expect(db.journal).toBe('wal');
    expect(db.integrity).toBe('ok');
    expect(db.texts).toHaveLength(12);
    const config = parse(readFileSync(join(app.dir, 'litestream.yml'), 'utf8'));
    expect(config.dbs[0].path).toBe('/app/App_Data/app.db');
    const compose = parse(readFileSync(join(app.dir, '.deploy/docker-compose.yml'), 'utf8'));
    expect(compose.services.app.environment.ConnectionStrings__DefaultConnection).toMatch(
      /^Data Source=\/app\/App_Data\/app\.db(;|$)/,
    );
    expect(compose.services.app.volumes).toContain('notes-web-data:/app/App_Data');
  });

  if (template === 'blazor-wasm') {
    it('builds the WebAssembly client (browser-wasm runtime pack from the NuGet source)', () => {
      const client = join(app.dir, 'NotesWeb.Client/bin/Debug/net10.0/wwwroot/_framework');
      const files = readdirSync(client);
      expect(
        files.some((f) => /^NotesWeb\.Client\.[a-z0-9]+\.wasm$/.test(f) || f === 'NotesWeb.Client.wasm'),
      ).toBe(true);
      expect(
        files.some((f) => /^dotnet\.native\.[a-z0-9]+\.wasm$/.test(f) || f === 'dotnet.native.wasm'),
      ).toBe(true);
    });
  }

  it('runs under `ls-mix replicate -exec "dotnet ..."`; `ls-mix restore` brings the rows back', async () => {
    assertBuilt();
    const work = dirs.make('ls-mix-dotnet-e2e-');
    const dbPath = join(work, 'live/app.db');
    const replica = `file://${join(work, 'replica')}`;
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    // The db path through configuration, as compose passes it (ConnectionStrings__<Name>).
    const replicate = execa('node', [BIN, 'replicate', '-exec', `dotnet ${app.dll}`, dbPath, replica], {
      cwd: app.projectDir,
      env: appEnv(port, { ConnectionStrings__DefaultConnection: `Data Source=${dbPath};Cache=Shared` }),
      reject: false,
      timeout: 180_000,
    });
    let live: string[] = [];
    try {
      await waitForHttp(`${base}/healthz`, replicate).catch(async (err) => {
        throw new Error(`${(err as Error).message}\n${(await replicate).stderr}`);
      });
      await postNotes(base, 30, `${template} replicated`);
      live = await listNotes(base);
      expect(live).toHaveLength(30);
    } finally {
      replicate.kill('SIGTERM'); // forwarded to the app; then the final sync
    }
    const run = await replicate;
    expect(run.exitCode, run.stderr).toBe(0); // the app's own exit code
    // replicate logs to stdout (as Litestream does); the app's own output is there too.
    expect(`${run.stdout}`).toContain('final sync done');
    expect(readDb(dbPath).journal).toBe('wal');

    const restored = join(work, 'restored.db');
    const restore = await runCli(['restore', '-o', restored, replica], { cwd: work });
    expect(restore.exitCode, restore.stderr).toBe(0);
    const back = readDb(restored);
    expect(back.integrity).toBe('ok');
    expect([...back.texts].sort()).toEqual([...live].sort());
    expect(back.texts).toEqual(readDb(dbPath).texts);
  });
});
