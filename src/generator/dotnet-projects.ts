/**
 * The .NET projects of a repo: their csproj facts, what each references, and which web
 * project to publish — the one whose code (or a project it references) opens SQLite;
 * `--app DIR` picks one when several do.
 */
import path from 'node:path';
import { UserError } from '../../runtime/errors.js';
import { listFiles, readIfExists } from './fs-util.js';

export interface Csproj {
  file: string;
  name: string;
  sdk: string;
  text: string;
  targetFramework?: string;
  assemblyName?: string;
  packages: string[];
  /** Referenced csproj files, relative to the repo root (posix). */
  references: string[];
}

/** Packages that open SQLite (ADO.NET, EF Core, ServiceStack OrmLite, System.Data.SQLite). */
export const SQLITE_PACKAGE =
  /^(Microsoft\.Data\.Sqlite(\.Core)?|Microsoft\.EntityFrameworkCore\.Sqlite(\.Core)?|ServiceStack\.OrmLite\.Sqlite(\.\w+)?|System\.Data\.SQLite(\.Core)?|sqlite-net-pcl)$/i;

/** Calls that open a SQLite db in C#. */
export const SQLITE_OPENER =
  /\bUseSqlite\s*\(|\bAddSqlite\s*<|\bnew\s+SqliteConnection\s*\(|\bSqliteDialect\.Provider\b|\bnew\s+SQLiteConnection\s*\(/;

export async function readCsprojs(root: string, files: string[]): Promise<Csproj[]> {
  const out: Csproj[] = [];
  for (const file of files.filter((f) => f.endsWith('.csproj'))) {
    const full = path.join(root, file);
    const text = (await readIfExists(full)) ?? '';
    if (!/<Project\b[\s\S]*<\/Project>/.test(text)) {
      throw new UserError(`${full} is not a valid project file: no <Project> ... </Project> element`, {
        hint: 'Fix the .csproj (dotnet build needs it too), then run again.',
      });
    }
    const dir = path.posix.dirname(file);
    out.push({
      file,
      name: path.posix.basename(file, '.csproj'),
      sdk: /<Project\b[^>]*\bSdk\s*=\s*"([^"]+)"/.exec(text)?.[1] ?? '',
      text,
      targetFramework: /<TargetFrameworks?>\s*([^<;\s]+)/.exec(text)?.[1],
      assemblyName: /<AssemblyName>\s*([^<\s]+)\s*<\/AssemblyName>/.exec(text)?.[1],
      packages: [...text.matchAll(/<PackageReference\s+Include\s*=\s*"([^"]+)"/g)].map((m) => m[1]),
      references: [...text.matchAll(/<ProjectReference\s+Include\s*=\s*"([^"]+)"/g)].map((m) =>
        path.posix.normalize(path.posix.join(dir, m[1].replace(/\\/g, '/'))),
      ),
    });
  }
  return out;
}

/** The project and every project it references, transitively (missing ones are skipped). */
export function projectClosure(start: Csproj, all: Csproj[]): Csproj[] {
  const byFile = new Map(all.map((p) => [p.file, p]));
  const seen = new Map<string, Csproj>([[start.file, start]]);
  const queue = [start];
  while (queue.length > 0) {
    const p = queue.shift() as Csproj;
    for (const ref of p.references) {
      const target = byFile.get(ref);
      if (target && !seen.has(ref)) {
        seen.set(ref, target);
        queue.push(target);
      }
    }
  }
  return [...seen.values()];
}

/** C# files of a project (its folder, a few levels deep, without bin/obj). */
export async function projectSources(root: string, project: Csproj): Promise<string[]> {
  const dir = path.posix.dirname(project.file);
  const files = await listFiles(dir === '.' ? root : path.join(root, dir), 4);
  return files.filter((f) => f.endsWith('.cs')).map((f) => (dir === '.' ? f : `${dir}/${f}`));
}

/** Whether the project or anything it references opens SQLite (packages or code). */
export async function usesSqlite(root: string, web: Csproj, all: Csproj[]): Promise<string | undefined> {
  for (const p of projectClosure(web, all)) {
    const pkg = p.packages.find((name) => SQLITE_PACKAGE.test(name));
    if (pkg) return `${p.file} (${pkg})`;
  }
  for (const p of projectClosure(web, all)) {
    for (const f of await projectSources(root, p)) {
      if (SQLITE_OPENER.test((await readIfExists(path.join(root, f))) ?? '')) return f;
    }
  }
  return undefined;
}

const isWebProject = (p: Csproj) => p.sdk === 'Microsoft.NET.Sdk.Web' && !/\.(Tests?|Client)$/.test(p.name);

/**
 * The ASP.NET project to publish. `--app DIR` (the project's folder or csproj) picks one;
 * otherwise the only web project, or the only one that opens SQLite; several that do is an
 * error naming them.
 */
export async function pickWebProject(
  root: string,
  csprojs: Csproj[],
  app: string | undefined,
): Promise<Csproj | undefined> {
  const web = csprojs.filter(isWebProject);
  web.sort((a, b) => a.file.split('/').length - b.file.split('/').length || a.file.localeCompare(b.file));
  if (app !== undefined) {
    const wanted = path.posix.normalize(app.replace(/\\/g, '/').replace(/\/+$/, '')) || '.';
    const found =
      csprojs.find((p) => p.file === wanted) ?? csprojs.find((p) => path.posix.dirname(p.file) === wanted);
    if (!found) {
      throw new UserError(`--app ${app}: no .csproj in that folder`, {
        hint: `Web projects here: ${web.map((p) => path.posix.dirname(p.file)).join(', ') || 'none'}.`,
      });
    }
    return found;
  }
  if (web.length <= 1) return web[0];
  const withDb: Csproj[] = [];
  for (const p of web) if (await usesSqlite(root, p, csprojs)) withDb.push(p);
  if (withDb.length === 1) return withDb[0];
  if (withDb.length > 1) {
    throw new UserError(
      `Several web projects open SQLite: ${withDb.map((p) => p.file).join(', ')}; cannot tell which one to deploy`,
      { hint: `Pass --app with its folder, e.g. --app ${path.posix.dirname(withDb[0].file)}.` },
    );
  }
  return web[0];
}
