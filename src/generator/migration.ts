/**
 * The project's own migration, run by a one-shot compose service (`migrate`) after the
 * sidecar's restore and before the app: .NET apps that take ServiceStack's `--AppTasks=migrate`,
 * Prisma's `migrate deploy`, or a `migrate` script in package.json. None found: no service.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { listFiles } from './fs-util.js';
import type { ProjectFacts } from './types.js';

export interface Migration {
  /** The compose `command`: arguments after the image's ENTRYPOINT (.NET), or its whole CMD (Node). */
  command: string[];
  /** What it runs, for the report. */
  what: string;
  /** Where it was found (file). */
  from: string;
}

/** ServiceStack apps read `AppTasks` (`--AppTasks=migrate`) in Program.cs or a Configure.*.cs. */
export async function detectDotnetMigration(
  root: string,
  projectDir: string,
): Promise<Migration | undefined> {
  const dir = path.join(root, projectDir);
  const files = (await listFiles(dir, 2))
    .filter((f) => /(^|\/)(Program|Configure\.[\w.]+)\.cs$/.test(f))
    .sort();
  for (const f of files) {
    const text = await readFile(path.join(dir, f), 'utf8').catch(() => '');
    if (/\bAppTasks\b/.test(text)) {
      return {
        command: ['--AppTasks=migrate'],
        what: '`--AppTasks=migrate` (ServiceStack AppTasks)',
        from: path.posix.join(projectDir, f),
      };
    }
  }
  return undefined;
}

/**
 * Node: `prisma migrate deploy` when the app uses Prisma (a `migrate` script of a Prisma app is
 * often `prisma migrate dev`, which must not run in production), else `npm run migrate`.
 */
export function nodeMigration(facts: ProjectFacts, schemaFromApp: string | undefined): Migration | undefined {
  const appPkg = facts.nodeBuild?.appDir ? `${facts.nodeBuild.appDir}/package.json` : 'package.json';
  if (schemaFromApp) {
    return {
      command: ['npx', '--no-install', 'prisma', 'migrate', 'deploy', '--schema', schemaFromApp],
      what: '`prisma migrate deploy`',
      from: facts.nodeBuild?.prismaSchema ?? schemaFromApp,
    };
  }
  if (facts.migrateScript) {
    // npm is in every Node image; Yarn PnP has no node_modules for it to run the script with.
    if (facts.nodeBuild?.yarnPnp) return undefined;
    return { command: ['npm', 'run', 'migrate'], what: 'the `migrate` script', from: appPkg };
  }
  return undefined;
}
