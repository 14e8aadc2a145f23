/**
 * Human-readable output of a plan, an apply result and a removal, plus the `--json` shapes.
 * Kept out of the commands so `ls-mix new` can print the same way.
 */
import { createTwoFilesPatch } from 'diff';
import { dotnetConnectionEnv } from './dotnet-connection.js';
import { nameForms } from './names.js';
import type { RemoveResult } from './remove.js';
import { dbLayout } from './render.js';
import { ghSecretLines } from './storage.js';
import type { ApplyResult, Fact, Plan, PlannedFile, ProjectFacts } from './types.js';

type FactRow = [label: string, key: keyof ProjectFacts];
const FACT_ROWS: FactRow[] = [
  ['name', 'name'],
  ['variant', 'variant'],
  ['port', 'port'],
  ['db path', 'dbPath'],
  ['package manager', 'packageManager'],
  ['node version', 'nodeVersion'],
  ['.NET version', 'dotnetVersion'],
];

/** The facts that matter for this app (no .NET version for a Node app, no Node for plain .NET). */
export function relevantFacts(facts: ProjectFacts): FactRow[] {
  const usesNode = facts.runtime === 'node' || facts.uiDir !== undefined;
  return FACT_ROWS.filter(([, key]) => {
    if (key === 'dotnetVersion') return facts.runtime === 'dotnet';
    if (key === 'nodeVersion' || key === 'packageManager') return usesNode;
    return true;
  });
}

function describeFact(f: Fact<unknown>): string {
  if (f.source === 'detected') return `detected in ${f.from}`;
  if (f.source === 'flag') return `from ${f.from}`;
  return `default: ${f.from}`;
}

export function formatFacts(facts: ProjectFacts): string[] {
  const lines = relevantFacts(facts).map(([label, key]) => {
    const f = facts[key] as Fact<unknown>;
    return `  ${label.padEnd(16)} ${String(f.value).padEnd(22)} (${describeFact(f)})`;
  });
  try {
    const db = dbLayout(facts, nameForms(facts.name.value));
    const env = db.envVar
      ? { name: db.envVar, value: db.envValue }
      : dotnetConnectionEnv(facts, db.containerPath);
    lines.push(
      `  ${'db in containers'.padEnd(16)} ${db.containerPath}${env ? ` (app gets ${env.name}=${env.value})` : ''}`,
    );
  } catch {
    // dbLayout's error is raised (and explained) by the plan itself.
  }
  return lines;
}

export function formatFiles(files: { path: string; status: string; reason?: string }[]): string[] {
  return files.map((f) => `  ${f.status.padEnd(10)} ${f.path}${f.reason ? `  (${f.reason})` : ''}`);
}

export function fileDiff(f: PlannedFile): string {
  return createTwoFilesPatch(
    f.existing === undefined ? '/dev/null' : `a/${f.path}`,
    `b/${f.path}`,
    f.existing ?? '',
    f.content,
    '',
    '',
  );
}

export function formatSecrets(plan: Plan): string[] {
  const width = Math.max(...plan.secrets.map((s) => s.name.length));
  return [
    'Set these GitHub secrets for the release workflow:',
    ...plan.secrets.map((s) => `  ${s.name.padEnd(width)}  ${s.description}`),
    '',
    'with the GitHub CLI (each asks for the value):',
    ...ghSecretLines(plan.secrets).map((l) => `  ${l}`),
  ];
}

/** `--json` result of `add`: facts split into detected vs defaulted, files, secrets, notes. */
export function planJson(plan: Plan, result: ApplyResult) {
  const facts = Object.fromEntries(
    relevantFacts(plan.facts).map(([, key]) => {
      const f = plan.facts[key] as Fact<unknown>;
      return [key, { value: f.value, source: f.source, from: f.from }];
    }),
  );
  const bySource = (s: string) =>
    Object.entries(facts)
      .filter(([, f]) => f.source === s)
      .map(([k]) => k);
  return {
    dir: plan.dir,
    dryRun: result.dryRun,
    mixes: plan.mixes,
    replaces: plan.replaces,
    storage: plan.storage,
    facts,
    detected: bySource('detected'),
    defaulted: bySource('default'),
    fromFlags: bySource('flag'),
    files: result.files,
    written: result.written,
    secrets: plan.secrets.map((s) => s.name),
    ghSecretSet: ghSecretLines(plan.secrets),
    notes: plan.notes,
  };
}

export function formatRemove(r: RemoveResult): string[] {
  return r.files.map((f) => `  ${f.status.padEnd(8)} ${f.path}${f.reason ? `  (${f.reason})` : ''}`);
}
