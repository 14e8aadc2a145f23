/**
 * Compose file validators: the compose-spec JSON schema shipped in dclint (its `$schema`
 * field dropped, so ajv does not try to fetch the draft-07 meta schema by URL) and the real
 * `docker-compose config -q` (Debian package docker-compose 1.29).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ValidateFunction } from 'ajv';

// ajv and ajv-formats are CommonJS with a `default` export: load them the CommonJS way.
const require = createRequire(import.meta.url);
const { Ajv } = require('ajv') as typeof import('ajv');
const addFormats = require('ajv-formats') as typeof import('ajv-formats').default;
let validate: ValidateFunction | undefined;

function composeValidator(): ValidateFunction {
  if (validate) return validate;
  // dclint's exports map hides schemas/: read the file itself.
  const file = new URL('../../node_modules/dclint/schemas/compose.schema.json', import.meta.url);
  const schema = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  delete schema.$schema;
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  const compiled = ajv.compile(schema);
  validate = compiled;
  return compiled;
}

/** Schema errors as `path: message` lines (empty when valid). */
export function composeSchemaErrors(doc: unknown): string[] {
  const v = composeValidator();
  if (v(doc)) return [];
  return (v.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message} ${JSON.stringify(e.params)}`);
}

export const DOCKER_COMPOSE = process.env.DOCKER_COMPOSE_BIN ?? 'docker-compose';

/**
 * Runs `docker-compose config -q` on the file with the given env (as a .env file next to
 * it). Resolves with stderr ('' when valid). A missing binary throws: the suite must fail,
 * not skip (install it with `apt-get install -y docker-compose`).
 */
export async function dockerComposeConfig(composeText: string, env: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ls-mix-compose-'));
  try {
    const file = path.join(dir, 'docker-compose.yml');
    await writeFile(file, composeText);
    await writeFile(
      path.join(dir, '.env'),
      Object.entries(env)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n'),
    );
    try {
      await promisify(execFile)(DOCKER_COMPOSE, ['-f', file, '--project-directory', dir, 'config', '-q'], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        timeout: 30_000,
      });
      return '';
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === 'ENOENT') {
        throw new Error(`${DOCKER_COMPOSE} not found: install it with \`apt-get install -y docker-compose\``);
      }
      return e.stderr || e.message;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
