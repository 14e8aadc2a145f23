/**
 * .NET detection: Blazor / jamstack flavour, port, and which build tools the publish needs.
 * The projects (dotnet-projects), the db (dotnet-db) and the version (dotnet-version) have
 * their own modules.
 */
import path from 'node:path';
import { UserError } from '../../runtime/errors.js';
import { DEFAULTS, defaulted, detected, portOverride } from './detect-facts.js';
import { detectNodeVariant, type PackageJson } from './detect-node.js';
import { type Csproj, projectClosure } from './dotnet-projects.js';
import { readIfExists } from './fs-util.js';
import type { Fact, Overrides, Variant } from './types.js';

export { detectDotnetDb } from './dotnet-db.js';
export { type Csproj, pickWebProject, readCsprojs } from './dotnet-projects.js';
export { detectDotnetVersion, dotnetSupportNote } from './dotnet-version.js';

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
    if (m) return { ...detected(Number(m[1]), file), envDefault: 'ASPNETCORE_URLS' };
  }
  return defaulted(DEFAULTS.dotnetPort, 'ASP.NET container default (ASPNETCORE_HTTP_PORTS)');
}

/** What the publish runs besides dotnet: a csproj `<Exec>` of npm, a UI script of dotnet. */
export interface DotnetBuildTools {
  /** The csproj (built with the web project) whose `<Exec>` runs npm / node / pnpm / yarn. */
  csprojRunsNode?: string;
  /** The UI's package.json runs dotnet in a script npm runs on install or build. */
  uiRunsDotnet?: string;
}

const NODE_TOOL = /\b(npm|npx|pnpm|yarn|node)\b/;

export async function detectDotnetBuildTools(
  root: string,
  web: Csproj,
  csprojs: Csproj[],
  uiDir: string | undefined,
): Promise<DotnetBuildTools> {
  const out: DotnetBuildTools = {};
  for (const p of projectClosure(web, csprojs)) {
    for (const m of p.text.matchAll(/<Exec\b[^>]*\bCommand\s*=\s*"([^"]*)"/g)) {
      if (NODE_TOOL.test(m[1])) {
        out.csprojRunsNode = p.file;
        break;
      }
    }
    if (out.csprojRunsNode) break;
  }
  if (uiDir) {
    const file = path.posix.join(uiDir, 'package.json');
    const pkg = JSON.parse((await readIfExists(path.join(root, file))) ?? '{}') as PackageJson;
    for (const script of ['preinstall', 'install', 'postinstall', 'prebuild', 'build', 'postbuild']) {
      const cmd = pkg.scripts?.[script];
      if (cmd && /\bdotnet\b/.test(cmd)) {
        out.uiRunsDotnet = `${file} (${script})`;
        break;
      }
    }
  }
  return out;
}
