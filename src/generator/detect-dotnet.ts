/**
 * .NET detection: the web project to publish (csproj), Blazor / jamstack flavour, port and
 * the SQLite path from connection strings.
 */
import path from 'node:path';
import { UserError } from '../../runtime/errors.js';
import {
  checkVersion,
  DEFAULTS,
  dbPathOverride,
  defaulted,
  detected,
  flagged,
  normalizeDbPath,
  portOverride,
  SQLITE_FILE,
} from './detect-facts.js';
import { detectNodeVariant, type PackageJson } from './detect-node.js';
import { readIfExists } from './fs-util.js';
import type { Fact, Overrides, Variant } from './types.js';

export interface Csproj {
  file: string;
  name: string;
  sdk: string;
  targetFramework?: string;
  assemblyName?: string;
  packages: string[];
}

export async function readCsprojs(root: string, files: string[]): Promise<Csproj[]> {
  const out: Csproj[] = [];
  for (const file of files.filter((f) => f.endsWith('.csproj'))) {
    const full = path.join(root, file);
    const text = (await readIfExists(full)) ?? '';
    const sdk = /<Project\b[^>]*\bSdk\s*=\s*"([^"]+)"/.exec(text)?.[1];
    if (!/<Project\b[\s\S]*<\/Project>/.test(text)) {
      throw new UserError(`${full} is not a valid project file: no <Project> ... </Project> element`, {
        hint: 'Fix the .csproj (dotnet build needs it too), then run again.',
      });
    }
    out.push({
      file,
      name: path.posix.basename(file, '.csproj'),
      sdk: sdk ?? '',
      targetFramework: /<TargetFrameworks?>\s*([^<;\s]+)/.exec(text)?.[1],
      assemblyName: /<AssemblyName>\s*([^<\s]+)\s*<\/AssemblyName>/.exec(text)?.[1],
      packages: [...text.matchAll(/<PackageReference\s+Include\s*=\s*"([^"]+)"/g)].map((m) => m[1]),
    });
  }
  return out;
}

/** The ASP.NET project to publish: Sdk.Web, not a test or client project; the shallowest wins. */
export function pickWebProject(csprojs: Csproj[]): Csproj | undefined {
  const web = csprojs.filter((p) => p.sdk === 'Microsoft.NET.Sdk.Web' && !/\.(Tests?|Client)$/.test(p.name));
  web.sort((a, b) => a.file.split('/').length - b.file.split('/').length || a.file.localeCompare(b.file));
  return web[0];
}

export async function detectDotnetVariant(
  root: string,
  web: Csproj,
  csprojs: Csproj[],
  files: string[],
): Promise<{ variant: Fact<Variant>; uiDir?: string }> {
  const wasm = csprojs.find(
    (p) =>
      p.sdk === 'Microsoft.NET.Sdk.BlazorWebAssembly' ||
      p.packages.includes('Microsoft.AspNetCore.Components.WebAssembly'),
  );
  if (wasm) return { variant: detected('blazor-wasm', wasm.file) };
  const projectDir = path.posix.dirname(web.file);
  const inProject = (f: string) => projectDir === '.' || f.startsWith(`${projectDir}/`);
  const razor = files.find((f) => f.endsWith('.razor') && inProject(f));
  if (razor) {
    const tw = files.find((f) => /(^|\/)tailwind\.config\.(js|cjs|mjs|ts)$/.test(f));
    if (tw) return { variant: detected('blazor-tailwind', `${razor} + ${tw}`) };
    return { variant: detected('blazor-server', razor) };
  }
  // ServiceStack jamstack layout: a .NET API plus a JS UI in its own folder.
  for (const ui of files.filter((f) => /(^|\/)package\.json$/.test(f) && !inProject(f))) {
    const text = (await readIfExists(path.join(root, ui))) ?? '{}';
    let pkg: PackageJson;
    try {
      pkg = JSON.parse(text) as PackageJson;
    } catch (err) {
      throw new UserError(`${path.join(root, ui)} is not valid JSON: ${(err as Error).message}`);
    }
    const v = detectNodeVariant(pkg).value;
    if (v !== 'node') return { variant: detected(v, `${web.file} + ${ui}`), uiDir: path.posix.dirname(ui) };
  }
  return { variant: detected('web', web.file) };
}

export function detectDotnetVersion(web: Csproj | undefined, o: Overrides): Fact<string> {
  if (o.dotnetVersion !== undefined) {
    return flagged(checkVersion(o.dotnetVersion, '--dotnet-version', /^\d+\.\d+$/), '--dotnet-version');
  }
  const v = /^net(\d+\.\d+)$/.exec(web?.targetFramework ?? '')?.[1];
  if (v && web) return detected(v, `${web.file} TargetFramework`);
  return defaulted(DEFAULTS.dotnetVersion, 'current LTS');
}

export async function detectDotnetPort(
  root: string,
  projectDir: string,
  o: Overrides,
): Promise<Fact<number>> {
  const flag = portOverride(o);
  if (flag) return flag;
  for (const name of ['appsettings.Production.json', 'appsettings.json']) {
    const file = path.posix.join(projectDir, name);
    const text = (await readIfExists(path.join(root, file))) ?? '';
    const m = /"(?:Urls|Url)"\s*:\s*"https?:\/\/[^":]+:(\d+)/.exec(text);
    if (m) return detected(Number(m[1]), file);
  }
  return defaulted(DEFAULTS.dotnetPort, 'ASP.NET container default (ASPNETCORE_HTTP_PORTS)');
}

export async function detectDotnetDbPath(
  root: string,
  projectDir: string,
  files: string[],
  o: Overrides,
): Promise<Fact<string>> {
  const flag = dbPathOverride(o);
  if (flag) return flag;
  const inProject = (f: string) => projectDir === '.' || f.startsWith(`${projectDir}/`);
  const rel = (f: string) => (projectDir === '.' ? f : f.slice(projectDir.length + 1));
  const fromConnectionString = (text: string) =>
    /(?:Data Source|DataSource|Filename)\s*=\s*([^;"]+\.(?:sqlite3?|db))\b/i.exec(text)?.[1]?.trim();
  for (const name of ['appsettings.Production.json', 'appsettings.json']) {
    const file = path.posix.join(projectDir, name);
    const found = fromConnectionString((await readIfExists(path.join(root, file))) ?? '');
    if (found) return detected(normalizeDbPath(found), `${file} ConnectionStrings`);
  }
  // ServiceStack's Configure.Db.cs: GetConnectionString("DefaultConnection") ?? "DataSource=App_Data/app.db;..."
  for (const file of files.filter((f) => f.endsWith('.cs') && inProject(f))) {
    const found = fromConnectionString((await readIfExists(path.join(root, file))) ?? '');
    if (found) return detected(normalizeDbPath(found), file);
  }
  const common = files.find((f) => inProject(f) && /(^|\/)App_Data\/[^/]+$/.test(f) && SQLITE_FILE.test(f));
  if (common) return detected(rel(common), 'existing file');
  return defaulted(DEFAULTS.dotnetDbPath, 'no connection string or App_Data/*.sqlite found');
}
