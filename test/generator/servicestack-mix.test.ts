// biome-ignore-all lint/suspicious/noTemplateCurlyInString: compose and litestream.yml `${VAR}` text, not JS templates
/**
 * Moving from ServiceStack's `x mix litestream-*`: two projects shaped like what its mixes
 * leave behind (written for these tests, after the public mix templates): the older
 * `.deploy/docker-compose-template.yml` with `${APP_NAME}` services (AWS), and the blazor
 * layout's `.deploy/docker-compose.yml` with `app` / `app-litestream` (Azure, with secret names
 * of the user's own). `add` keeps the replica path, the volume and the secret names, so the
 * first deploy restores the existing backup; what it cannot read stops it, naming the flag.
 * Goldens: test/golden/servicestack/<fixture>/ (UPDATE_GOLDEN=1 regenerates them).
 * Also `--sidecar litestream` (the Go Litestream image, no sidecar image build).
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { applyPlan, planMixes } from '../../src/generator/index.js';
import { composeSchemaErrors, dockerComposeConfig } from '../validators/compose.js';
import { envRefs, literalSecrets, loadWithRuntime } from '../validators/litestream-config.js';
import { actionlintErrors, actionValidatorErrors } from '../validators/workflow.js';
import { cleanupTemps, copyFixture, GOLDEN_DIR, GOLDEN_TARBALL, REPO, readTree } from './helpers.js';

const UPDATE = process.env.UPDATE_GOLDEN === '1';
const git = (cwd: string, args: string[]) => promisify(execFile)('git', args, { cwd });

afterAll(cleanupTemps);

const ENV = {
  IMAGE_REPO: 'ghcr.io/acme/app',
  APP_VERSION: 'abc123',
  HOST_DOMAIN: 'app.example.com',
  LETSENCRYPT_EMAIL: 'ops@example.com',
  AWS_S3_BUCKET: 'b',
  AWS_ACCESS_KEY_ID: 'k',
  AWS_SECRET_ACCESS_KEY: 's',
  AWS_ENDPOINT_URL_S3: '',
  AWS_REGION: '',
  AZURE_STORAGEACCOUNT: 'a',
  BACKUP_CONTAINER: 'c',
  BACKUP_ACCOUNT_KEY: 'k',
};

interface Case {
  fixture: string;
  mix: string;
  sidecar?: string;
  force?: boolean;
}
const AWS: Case = { fixture: 'servicestack-mix-aws', mix: 'litestream-aws' };
const AZURE: Case = {
  fixture: 'servicestack-mix-blazor-azure',
  mix: 'blazor-litestream-azure',
  sidecar: 'litestream',
  force: true,
};

/** A copy of the fixture as a clone of github.com/acme/acme-web (ServiceStack's APP_NAME is the repo name). */
async function run(c: Case) {
  const root = await copyFixture(c.fixture);
  await git(root, ['init', '--quiet', '--initial-branch=main']);
  await git(root, ['remote', 'add', 'origin', 'https://github.com/acme/acme-web.git']);
  const before = await readTree(root);
  const plan = await planMixes({
    sidecarTarball: GOLDEN_TARBALL,
    dir: root,
    mixes: [c.mix],
    force: c.force,
    overrides: { sidecar: c.sidecar },
  });
  const result = await applyPlan(plan, { force: c.force });
  const after = await readTree(root);
  const changed = new Map([...after].filter(([p, text]) => !p.startsWith('.git/') && before.get(p) !== text));
  return { root, before, after, changed, plan, result };
}

describe.each([AWS, AZURE])('$fixture ($mix)', { timeout: 120_000 }, (c) => {
  it('writes exactly the golden files, and they pass the validators', async () => {
    const { changed } = await run(c);
    const goldenDir = path.join(GOLDEN_DIR, 'servicestack', c.fixture);
    if (UPDATE) {
      await rm(goldenDir, { recursive: true, force: true });
      for (const [p, text] of changed) {
        await mkdir(path.dirname(path.join(goldenDir, p)), { recursive: true });
        await writeFile(path.join(goldenDir, p), text);
      }
    }
    const golden = await readTree(goldenDir).catch(() => new Map<string, string>());
    expect([...changed.keys()].sort(), `UPDATE_GOLDEN=1 regenerates ${goldenDir}`).toEqual(
      [...golden.keys()].sort(),
    );
    for (const [p, text] of changed) expect(text, `${c.fixture}/${p}`).toBe(golden.get(p));
    for (const [p, text] of changed) {
      if (p === '.deploy/docker-compose.yml') {
        expect(composeSchemaErrors(parse(text)), p).toEqual([]);
        expect(await dockerComposeConfig(text, ENV), p).toBe('');
      } else if (/\.github\/workflows\/.*\.yml$/.test(p)) {
        expect(actionValidatorErrors(text), p).toEqual([]);
        expect(await actionlintErrors(text), p).toEqual([]);
      } else if (p === 'litestream.yml') {
        expect(loadWithRuntime(text).dbs).toHaveLength(1);
        expect(literalSecrets(text)).toEqual([]);
      }
    }
  });
});

describe('what is kept from a ServiceStack mix', { timeout: 120_000 }, () => {
  it('template layout (AWS): replica path, the volume ${APP_NAME}-mydb (APP_NAME = the repo name) and the db file in it', async () => {
    const { after, plan } = await run(AWS);
    expect(plan.servicestack).toMatchObject({
      file: '.deploy/docker-compose-template.yml',
      service: '${APP_NAME}-litestream',
      storage: 'aws',
      replicaPath: 'Acme.sqlite',
      volume: 'acme-web-mydb',
      dbInVolume: 'Acme.sqlite',
      appDbPath: '/app/App_Data/Acme.sqlite',
      env: {
        AWS_S3_BUCKET: 'AWS_S3_BUCKET',
        AWS_ACCESS_KEY_ID: 'AWS_ACCESS_KEY_ID',
        AWS_SECRET_ACCESS_KEY: 'AWS_SECRET_ACCESS_KEY',
      },
    });
    expect(plan.servicestack?.volumeFrom).toContain('${APP_NAME} = acme-web from the git remote origin');
    const cfg = loadWithRuntime(after.get('litestream.yml')!);
    expect(cfg.dbs[0].path).toBe('/app/App_Data/Acme.sqlite');
    expect(cfg.dbs[0].replicas[0].path).toBe('Acme.sqlite');
    const compose = parse(after.get('.deploy/docker-compose.yml')!);
    expect(Object.keys(compose.volumes)).toEqual(['acme-web-mydb']);
    expect(compose.services.app.volumes).toEqual(['acme-web-mydb:/app/App_Data']);
    expect(compose.services.litestream.volumes).toEqual(['acme-web-mydb:/app/App_Data']);
    // Their template stays (it is not the file ls-mix deploys); the user is told to retire it and stop the old stack.
    expect(after.get('.deploy/docker-compose-template.yml')).toBeDefined();
    expect(plan.notes.join('\n')).toContain('stop the ServiceStack mix');
    expect(plan.notes.join('\n')).toContain(
      '.deploy/docker-compose-template.yml and its release workflow are no longer used',
    );
    // Remembered: a re-run keeps everything as written.
    expect(JSON.parse(after.get('.ls-mix.json')!).facts).toEqual({
      replicaPath: 'Acme.sqlite',
      volume: 'acme-web-mydb',
    });
    const again = await planMixes({
      sidecarTarball: GOLDEN_TARBALL,
      dir: plan.dir,
      mixes: ['litestream-aws'],
    });
    expect(again.files.every((f) => f.status === 'identical')).toBe(true);
  });

  it('blazor layout (Azure) with --sidecar litestream: their compose file is replaced only with --force, secret names kept everywhere', async () => {
    const root = await copyFixture(AZURE.fixture);
    const theirs = await readFile(path.join(root, '.deploy/docker-compose.yml'), 'utf8');
    const dry = await planMixes({
      sidecarTarball: GOLDEN_TARBALL,
      dir: root,
      mixes: [AZURE.mix],
      overrides: { sidecar: 'litestream' },
    });
    expect(dry.files.find((f) => f.path === '.deploy/docker-compose.yml')).toMatchObject({
      status: 'conflict',
    });
    await expect(applyPlan(dry)).rejects.toThrow(/exists and differs/);

    const { after, plan, result } = await run(AZURE);
    expect(plan.servicestack).toMatchObject({
      service: 'app-litestream',
      replicaPath: 'BlazorDiary.sqlite',
      volume: 'app-mydb',
      dbInVolume: 'diary.sqlite',
      appDbPath: '/app/Data/diary.sqlite',
      env: {
        AZURE_STORAGEACCOUNT: 'AZURE_STORAGEACCOUNT',
        AZURE_CONTAINER: 'BACKUP_CONTAINER',
        AZURE_ACCOUNT_KEY: 'BACKUP_ACCOUNT_KEY',
      },
    });
    expect(result.backups).toContain('.ls-mix/backup/.deploy/docker-compose.yml');
    expect(after.get('.ls-mix/backup/.deploy/docker-compose.yml')).toBe(theirs);
    const yml = after.get('litestream.yml')!;
    expect(envRefs(yml)).toEqual(['AZURE_STORAGEACCOUNT', 'BACKUP_ACCOUNT_KEY', 'BACKUP_CONTAINER']);
    expect(yml).not.toMatch(/^addr:/m); // no ls-mix-only keys for the Go image
    expect(loadWithRuntime(yml).dbs[0].replicas[0].path).toBe('BlazorDiary.sqlite');
    const env = after.get('.deploy/.env.example')!;
    expect(env).toMatch(/^BACKUP_CONTAINER=/m);
    expect(env).toMatch(/^BACKUP_ACCOUNT_KEY=/m);
    expect(env).not.toMatch(/^AZURE_CONTAINER=/m);
    expect(plan.secrets.map((s) => s.name)).toEqual(
      expect.arrayContaining(['AZURE_STORAGEACCOUNT', 'BACKUP_CONTAINER', 'BACKUP_ACCOUNT_KEY']),
    );

    // The Go Litestream sidecar: pinned image, litestream.yml mounted, restore then replicate.
    expect(after.has('.deploy/litestream.Dockerfile')).toBe(false);
    const compose = parse(after.get('.deploy/docker-compose.yml')!);
    const sc = compose.services.litestream;
    expect(sc.image).toBe('litestream/litestream:0.3.13');
    expect(sc.volumes).toEqual(['app-mydb:/app/Data', './litestream.yml:/etc/litestream.yml:ro']);
    expect(sc.entrypoint[2]).toMatch(
      /litestream restore -if-db-not-exists -if-replica-exists -config \/etc\/litestream.yml "\$\$1"[\s\S]*exec litestream replicate -config \/etc\/litestream.yml/,
    );
    expect(sc.entrypoint.slice(3)).toEqual(['litestream-sidecar', '/app/Data/diary.sqlite', '1654']);
    expect(Object.keys(sc.environment)).toEqual([
      'AZURE_STORAGEACCOUNT',
      'BACKUP_CONTAINER',
      'BACKUP_ACCOUNT_KEY',
    ]);
    expect(compose.services.app.depends_on.litestream).toEqual({ condition: 'service_healthy' });

    // The release workflow builds the app image only, and ships litestream.yml with the compose file.
    const wf = parse(after.get('.github/workflows/release.yml')!);
    const build = JSON.stringify(wf.jobs.build.steps);
    expect(build).not.toContain('litestream.Dockerfile');
    expect(build).not.toContain('-litestream');
    const scp = wf.jobs.deploy.steps.find((s: { uses?: string }) =>
      s.uses?.startsWith('appleboy/scp-action'),
    );
    expect(scp.with.source).toBe(
      '.deploy/docker-compose.yml,.deploy/litestream.yml,.deploy/nginx-proxy-compose.yml,.deploy/nginx-proxy-up.sh',
    );
    const ssh = wf.jobs.deploy.steps.find((s: { uses?: string }) =>
      s.uses?.startsWith('appleboy/ssh-action'),
    );
    expect(ssh.with.envs.split(',')).toEqual(
      expect.arrayContaining(['BACKUP_CONTAINER', 'BACKUP_ACCOUNT_KEY']),
    );

    // Remembered, so a re-run (their compose file is ours now) keeps every kept value.
    expect(JSON.parse(after.get('.ls-mix.json')!).facts).toEqual({
      replicaPath: 'BlazorDiary.sqlite',
      sidecar: 'litestream',
      storageEnv: 'AZURE_CONTAINER=BACKUP_CONTAINER,AZURE_ACCOUNT_KEY=BACKUP_ACCOUNT_KEY',
      volume: 'app-mydb',
    });
    const again = await planMixes({ sidecarTarball: GOLDEN_TARBALL, dir: plan.dir, mixes: [AZURE.mix] });
    expect(again.servicestack).toBeUndefined();
    expect(again.files.every((f) => f.status === 'identical')).toBe(true);
  });

  it('says what was kept in the add report and in --json (the built CLI)', async () => {
    const root = await copyFixture(AWS.fixture);
    const cli = (args: string[]) =>
      execa('node', [path.join(REPO, 'bin/run.js'), 'add', 'litestream-aws', '--dir', root, ...args], {
        stdin: 'ignore',
        env: { CI: 'true' },
        reject: false,
      });
    const text = await cli(['--dry-run']);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toContain('Kept from the ServiceStack mix (.deploy/docker-compose-template.yml):');
    expect(text.stdout).toContain(
      '    replica path Acme.sqlite (from .deploy/docker-compose-template.yml, service ${APP_NAME}-litestream)',
    );
    const json = JSON.parse((await cli(['--dry-run', '--json'])).stdout);
    expect(json.servicestack).toMatchObject({
      replicaPath: 'Acme.sqlite',
      dbInVolume: 'Acme.sqlite',
      storage: 'aws',
    });
    expect(json.servicestack.kept[0]).toContain('replica path Acme.sqlite');
    expect(json.sidecar).toBe('ls-mix');
  });
});

describe('--sidecar litestream on a project with no ServiceStack mix', { timeout: 120_000 }, () => {
  it('SFTP: no host-key key or secret (Litestream 0.3 has none), validators pass, default stays ls-mix', async () => {
    const root = await copyFixture('express');
    const plan = await planMixes({
      sidecarTarball: GOLDEN_TARBALL,
      dir: root,
      mixes: ['litestream-sftp'],
      overrides: { sidecar: 'litestream' },
    });
    await applyPlan(plan);
    const files = await readTree(root);
    const yml = files.get('litestream.yml')!;
    expect(yml).not.toContain('host-key');
    expect(loadWithRuntime(yml).dbs[0].replicas[0].path).toBe('notes-api/notes.db');
    expect(plan.secrets.map((s) => s.name)).not.toContain('SFTP_HOST_KEY');
    const compose = files.get('.deploy/docker-compose.yml')!;
    expect(composeSchemaErrors(parse(compose))).toEqual([]);
    expect(
      await dockerComposeConfig(compose, {
        ...ENV,
        SFTP_HOST: 'h',
        SFTP_PORT: '22',
        SFTP_USERNAME: 'u',
        SFTP_PASSWORD: 'p',
      }),
    ).toBe('');
    expect(parse(compose).services.litestream.entrypoint.slice(-2)).toEqual(['/data/notes.db', '1000']);
    const wf = files.get('.github/workflows/release.yml')!;
    expect(actionValidatorErrors(wf)).toEqual([]);
    expect(await actionlintErrors(wf)).toEqual([]);
    expect(files.has('.deploy/litestream.Dockerfile')).toBe(false);
    await expect(
      planMixes({
        sidecarTarball: GOLDEN_TARBALL,
        dir: root,
        mixes: ['litestream-sftp'],
        overrides: { sidecar: 'go' },
      }),
    ).rejects.toThrow(/--sidecar 'go' is not a sidecar ls-mix can write/);
    // Back to the default with --sidecar ls-mix: ours again, remembered.
    const back = await planMixes({
      sidecarTarball: GOLDEN_TARBALL,
      dir: root,
      mixes: ['litestream-sftp'],
      overrides: { sidecar: 'ls-mix' },
    });
    expect(back.files.find((f) => f.path === '.deploy/litestream.Dockerfile')?.status).toBe('create');
    expect(back.files.find((f) => f.path === 'litestream.yml')?.content).toContain('host-key');
  });
});

describe('what cannot be read unambiguously stops the run, naming the file and the flag', {
  timeout: 60_000,
}, () => {
  const TEMPLATE = '.deploy/docker-compose-template.yml';
  async function withTemplate(edit: (t: string) => string) {
    const root = await copyFixture(AWS.fixture);
    const file = path.join(root, TEMPLATE);
    await writeFile(file, edit(await readFile(file, 'utf8')));
    return root;
  }

  it('a restore from another replica path than the one replicated to', async () => {
    const root = await withTemplate((t) =>
      t.replace(
        '-o /data/Acme.sqlite s3://${AWS_S3_BUCKET}/Acme.sqlite',
        '-o /data/Acme.sqlite s3://${AWS_S3_BUCKET}/old/Acme.sqlite',
      ),
    );
    const p = planMixes({ sidecarTarball: GOLDEN_TARBALL, dir: root, mixes: ['litestream-aws'] });
    await expect(p).rejects.toThrow(
      /docker-compose-template\.yml: '\$\{APP_NAME\}-litestream' restores from .*old\/Acme\.sqlite but replicates to Acme\.sqlite/,
    );
    await expect(p).rejects.toMatchObject({ hint: expect.stringContaining('--replica-path') });
  });

  it('a replica path set from a variable; --replica-path settles it', async () => {
    const root = await withTemplate((t) =>
      t.replaceAll(
        '/Acme.sqlite s3://${AWS_S3_BUCKET}/Acme.sqlite',
        '/Acme.sqlite s3://${AWS_S3_BUCKET}/${APP_NAME}.sqlite',
      ),
    );
    const p = planMixes({ sidecarTarball: GOLDEN_TARBALL, dir: root, mixes: ['litestream-aws'] });
    await expect(p).rejects.toThrow(/replica path '\$\{APP_NAME\}\.sqlite' is set from a variable/);
    await expect(p).rejects.toMatchObject({ hint: expect.stringContaining('--replica-path') });
    const plan = await planMixes({
      sidecarTarball: GOLDEN_TARBALL,
      dir: root,
      mixes: ['litestream-aws'],
      overrides: { replicaPath: 'acme-web.sqlite' },
    });
    expect(plan.servicestack?.replicaPath).toBe('acme-web.sqlite');
  });

  it('another storage than the mix asked for', async () => {
    const root = await copyFixture(AWS.fixture);
    await expect(
      planMixes({ sidecarTarball: GOLDEN_TARBALL, dir: root, mixes: ['litestream-azure'] }),
    ).rejects.toThrow(/backs up to aws, not azure: this mix would start a new, empty backup/);
  });

  it('the app opens another db than the one backed up; --db-path settles it', async () => {
    const root = await withTemplate((t) => t.replaceAll('/data/Acme.sqlite', '/data/other.sqlite'));
    const p = planMixes({ sidecarTarball: GOLDEN_TARBALL, dir: root, mixes: ['litestream-aws'] });
    await expect(p).rejects.toThrow(/backs up other\.sqlite, but the app opens App_Data\/Acme\.sqlite/);
    await expect(p).rejects.toMatchObject({ hint: expect.stringContaining('--db-path') });
    const plan = await planMixes({
      sidecarTarball: GOLDEN_TARBALL,
      dir: root,
      mixes: ['litestream-aws'],
      overrides: { dbPath: 'App_Data/Acme.sqlite' },
    });
    expect(plan.notes.join('\n')).toContain("the volume's old other.sqlite is no longer used");
  });

  it('two litestream/litestream services, or two replica URLs', async () => {
    const two = await withTemplate((t) =>
      t.replace(
        '  ${APP_NAME}-migration:',
        '  spare:\n    image: litestream/litestream:0.3.13\n  ${APP_NAME}-migration:',
      ),
    );
    await expect(
      planMixes({ sidecarTarball: GOLDEN_TARBALL, dir: two, mixes: ['litestream-aws'] }),
    ).rejects.toThrow(/2 litestream\/litestream services/);
    const urls = await withTemplate((t) =>
      t.replace(
        'replicate /data/Acme.sqlite s3://${AWS_S3_BUCKET}/Acme.sqlite',
        'replicate /data/Acme.sqlite s3://${AWS_S3_BUCKET}/Acme.sqlite s3://x/y',
      ),
    );
    await expect(
      planMixes({ sidecarTarball: GOLDEN_TARBALL, dir: urls, mixes: ['litestream-aws'] }),
    ).rejects.toThrow(/replicates to 2 replica URLs/);
  });
});
