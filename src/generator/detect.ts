/**
 * Facts about the target repo: project name, variant, port, SQLite db path, package manager,
 * Node/.NET version. Every fact records where it came from (file, flag, or a documented
 * default) so `--dry-run` and `--json` can show it; every fact can be overridden.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../runtime/errors.js';
import {
  type Csproj,
  detectDotnetBuildTools,
  detectDotnetDb,
  detectDotnetPort,
  detectDotnetVariant,
  detectDotnetVersion,
  dotnetSupportNote,
  pickWebProject,
  readCsprojs,
} from './detect-dotnet.js';
import { defaulted, detected, flagged, parseVariant } from './detect-facts.js';
import {
  detectNodeVariant,
  detectNodeVersion,
  detectPackageManager,
  type PackageJson,
  readPackageJson,
} from './detect-node.js';
import { detectNodeApp, subfolderApps } from './detect-node-app.js';
import { listFiles } from './fs-util.js';
import { detectDotnetMigration } from './migration.js';
import { splitWords } from './names.js';
import {
  type Fact,
  type Overrides,
  type ProjectFacts,
  type Runtime,
  VARIANTS,
  type Variant,
} from './types.js';

export { DEFAULTS } from './detect-facts.js';

export async function detectProject(dir: string, overrides: Overrides = {}): Promise<ProjectFacts> {
  const root = path.resolve(dir);
  const st = await stat(root).catch(() => undefined);
  if (!st) throw new UserError(`${root} does not exist`, { hint: 'Pass --dir with the project folder.' });
  if (!st.isDirectory())
    throw new UserError(`${root} is not a directory`, { hint: 'Pass --dir with the project folder.' });

  const files = await listFiles(root, 3);
  const pkg = await readPackageJson(root);
  const csprojs = await readCsprojs(root, files);
  // --app names a .NET project folder in a solution, or a workspace of a Node monorepo.
  const web = await pickWebProject(root, csprojs, csprojs.length > 0 ? overrides.app : undefined);

  const variantOverride = parseVariant(overrides.variant);
  let variant: Fact<Variant>;
  let uiDir: string | undefined;
  if (variantOverride) variant = flagged(variantOverride, '--variant');
  else if (web) ({ variant, uiDir } = await detectDotnetVariant(root, web, csprojs, files));
  else if (pkg) variant = detectNodeVariant(pkg);
  else {
    throw new UserError(
      `No package.json or *.csproj found in ${root}: cannot tell what kind of app this is`,
      {
        hint: await noAppHint(root, files),
      },
    );
  }
  const runtime: Runtime = isDotnetVariant(variant.value, web) ? 'dotnet' : 'node';

  const facts: ProjectFacts = {
    dir: root,
    runtime,
    variant,
    name: detectName(root, overrides, web, pkg),
    port: defaulted(0, ''),
    dbPath: defaulted('', ''),
    // A jamstack UI beside a .NET API has its lockfile in the UI folder.
    packageManager: await detectPackageManager(uiDir ? path.join(root, uiDir) : root, overrides),
    nodeVersion: await detectNodeVersion(root, pkg, overrides),
    dotnetVersion: await detectDotnetVersion(root, web, overrides),
  };

  if (runtime === 'dotnet') {
    facts.uiDir = uiDir;
    if (uiDir) facts.hasLockfile = facts.packageManager.source === 'detected';
    if (web) {
      facts.csproj = web.file;
      facts.assemblyName = web.assemblyName ?? web.name;
    } else {
      facts.csproj = `${facts.name.value}/${facts.name.value}.csproj`;
      facts.assemblyName = facts.name.value;
    }
    const projectDir = path.posix.dirname(facts.csproj);
    facts.port = await detectDotnetPort(root, projectDir, overrides);
    const db = await detectDotnetDb(root, web, csprojs, overrides);
    facts.dbPath = db.fact;
    facts.dbConnection = db.connection;
    if (web) {
      const tools = await detectDotnetBuildTools(root, web, csprojs, uiDir);
      facts.dotnetBuildRunsNode = tools.csprojRunsNode;
      facts.uiRunsDotnet = tools.uiRunsDotnet;
    }
    const support = dotnetSupportNote(facts.dotnetVersion.value);
    if (support) facts.detectNotes = [support];
    facts.migration = await detectDotnetMigration(root, projectDir);
  } else {
    await detectNodeApp(facts, pkg, overrides);
  }
  return facts;
}

function isDotnetVariant(v: Variant, web: Csproj | undefined): boolean {
  if (v === 'web' || v.startsWith('blazor')) return true;
  // A jamstack UI in front of a .NET API (the ServiceStack jamstack layout).
  return (v === 'vue-ssg' || v === 'vue-vite' || v === 'nextjs') && web !== undefined;
}

function detectName(root: string, o: Overrides, web: Csproj | undefined, pkg: PackageJson | undefined) {
  if (o.name !== undefined) {
    if (splitWords(o.name).length === 0) {
      throw new UserError(`--name '${o.name}' has no letters or digits`, { hint: 'Pass a name like MyApp.' });
    }
    return flagged(o.name, '--name');
  }
  if (web) return detected(web.name, web.file);
  if (pkg?.name && splitWords(pkg.name).length > 0)
    return detected(pkg.name.replace(/^@[^/]+\//, ''), 'package.json');
  const folder = path.basename(root);
  return splitWords(folder).length > 0
    ? detected(folder, 'folder name')
    : defaulted('MyApp', 'no name found');
}

async function noAppHint(root: string, files: string[]): Promise<string> {
  const apps = subfolderApps(files);
  if (apps.length > 0)
    return `The app may be in a subfolder: pass --dir ${path.join(root, apps[0])}${apps.length > 1 ? ` (or one of ${apps.slice(1).join(', ')})` : ''}.`;
  return `Run it in your app's folder (or pass --dir), or pass --variant (one of ${VARIANTS.join(', ')}).`;
}
