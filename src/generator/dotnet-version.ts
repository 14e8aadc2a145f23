/**
 * The .NET version the images are built with: the web project's TargetFramework (from its
 * csproj, else the nearest Directory.Build.props, resolving a `$(Property)` there), else the
 * SDK pinned by global.json, else the current LTS. Lines past Microsoft's end of support keep
 * their own images, with a note.
 */
import path from 'node:path';
import { DEFAULT_DOTNET_VERSION, DOTNET_END_OF_SUPPORT } from './defaults.js';
import { checkVersion, defaulted, detected, flagged } from './detect-facts.js';
import { readIfExists } from './fs-util.js';
import type { Fact, Overrides } from './types.js';

/** `net8.0` -> `8.0`; `net10.0-windows` -> `10.0`; `netcoreapp3.1` -> `3.1`. */
export function frameworkVersion(tfm: string): string | undefined {
  return /^net(?:coreapp)?(\d+\.\d+)(?:-[\w.]+)?$/i.exec(tfm.trim())?.[1];
}

/** Reads `<TargetFramework>` / `<TargetFrameworks>` (the highest listed) from MSBuild XML. */
export function targetFrameworkIn(xml: string, props: Record<string, string> = {}): string | undefined {
  const raw = /<TargetFrameworks?>\s*([^<]+?)\s*<\/TargetFrameworks?>/.exec(xml)?.[1];
  if (!raw) return undefined;
  const expanded = raw.replace(/\$\((\w+)\)/g, (_, name: string) => props[name] ?? '');
  const versions = expanded
    .split(';')
    .map((t) => frameworkVersion(t))
    .filter((v): v is string => v !== undefined)
    .sort((a, b) => Number(b.split('.')[0]) - Number(a.split('.')[0]) || b.localeCompare(a));
  return versions[0] ? `net${versions[0]}` : undefined;
}

/** Simple MSBuild properties (`<Name>value</Name>` inside PropertyGroups), for `$(Name)`. */
export function msbuildProperties(xml: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const group of xml.matchAll(/<PropertyGroup\b[^>]*>([\s\S]*?)<\/PropertyGroup>/g)) {
    for (const m of group[1].matchAll(/<(\w+)>\s*([^<]*?)\s*<\/\1>/g)) out[m[1]] = m[2];
  }
  return out;
}

/** Directory.Build.props files from the project's folder up to the repo root, nearest first. */
async function buildPropsChain(root: string, projectDir: string): Promise<{ file: string; text: string }[]> {
  const out: { file: string; text: string }[] = [];
  let dir = projectDir;
  for (;;) {
    const file = dir === '.' ? 'Directory.Build.props' : `${dir}/Directory.Build.props`;
    const text = await readIfExists(path.join(root, file));
    if (text !== undefined) out.push({ file, text });
    if (dir === '.') return out;
    dir = path.posix.dirname(dir);
  }
}

export async function detectDotnetVersion(
  root: string,
  csproj: { file: string; text: string } | undefined,
  o: Overrides,
): Promise<Fact<string>> {
  if (o.dotnetVersion !== undefined) {
    return flagged(checkVersion(o.dotnetVersion, '--dotnet-version', /^\d+\.\d+$/), '--dotnet-version');
  }
  if (csproj) {
    const props = await buildPropsChain(root, path.posix.dirname(csproj.file));
    // Properties of the outer files first, so the nearer ones (and the csproj) win.
    const known: Record<string, string> = {};
    for (const p of [...props].reverse()) Object.assign(known, msbuildProperties(p.text));
    Object.assign(known, msbuildProperties(csproj.text));
    const own = targetFrameworkIn(csproj.text, known);
    if (own) return detected(frameworkVersion(own) ?? '', `${csproj.file} TargetFramework`);
    for (const p of props) {
      const tfm = targetFrameworkIn(p.text, known);
      if (tfm) return detected(frameworkVersion(tfm) ?? '', `${p.file} TargetFramework`);
    }
  }
  const globalJson = await readIfExists(path.join(root, 'global.json'));
  const sdk = globalJson ? /"sdk"\s*:\s*\{[^}]*"version"\s*:\s*"(\d+)\.(\d+)\.\d+/.exec(globalJson) : null;
  if (sdk) return detected(`${sdk[1]}.${sdk[2]}`, 'global.json sdk.version');
  return defaulted(DEFAULT_DOTNET_VERSION, 'current LTS');
}

/** A note when the .NET line is past Microsoft's end of support (undefined while supported). */
export function dotnetSupportNote(version: string, today = new Date()): string | undefined {
  const major = Number(version.split('.')[0]);
  const end = DOTNET_END_OF_SUPPORT[version];
  const outOfSupport = end ? new Date(`${end}T23:59:59Z`) < today : major < 8;
  if (!outOfSupport) return undefined;
  return `.NET ${version} is out of support${end ? ` since ${end}` : ''}: the images use ${version} as the project asks; move the project to .NET ${DEFAULT_DOTNET_VERSION} (TargetFramework net${DEFAULT_DOTNET_VERSION}) for security fixes.`;
}
