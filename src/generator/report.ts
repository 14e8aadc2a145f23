/**
 * Human-readable output of a plan, an apply result and a removal, plus the `--json` shapes.
 * Kept out of the commands so `ls-mix new` can print the same way.
 */
import { createTwoFilesPatch } from 'diff';
import { dotnetConnectionEnv } from './dotnet-connection.js';
import type { RemoveResult } from './remove.js';
import { LITESTREAM_IMAGE } from './render.js';
import { keptLines, type ServiceStackMix } from './servicestack-mix.js';
import { ghSecretLines } from './storage.js';
import { cleanText } from './text.js';
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

/** Facts only ls-mix's own app Dockerfile uses: moot when the user's Dockerfile is kept. */
const APP_IMAGE_FACTS: ReadonlySet<keyof ProjectFacts> = new Set([
  'nodeVersion',
  'packageManager',
  'dotnetVersion',
]);

/**
 * The facts that matter for this app (no .NET version for a Node app, no Node for plain .NET;
 * none of the app image's when the user's own Dockerfile builds it).
 */
export function relevantFacts(facts: ProjectFacts, userDockerfile = false): FactRow[] {
  const usesNode = facts.runtime === 'node' || facts.uiDir !== undefined;
  return FACT_ROWS.filter(([, key]) => {
    if (userDockerfile && APP_IMAGE_FACTS.has(key)) return false;
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

export function formatFacts(
  plan: Pick<Plan, 'facts' | 'branch' | 'containerDb'> &
    Partial<Pick<Plan, 'proxy' | 'servicestack' | 'sidecar' | 'userDockerfile'>>,
): string[] {
  const row = (label: string, value: string, why: string) =>
    `  ${label.padEnd(16)} ${cleanText(value).padEnd(22)} (${cleanText(why)})`;
  const lines = relevantFacts(plan.facts, plan.userDockerfile).map(([label, key]) => {
    const f = plan.facts[key] as Fact<unknown>;
    return row(label, String(f.value), describeFact(f));
  });
  lines.push(row('release branch', plan.branch.value, describeFact(plan.branch)));
  if (plan.proxy) {
    const { network, hostPort } = plan.proxy;
    const why =
      network.source === 'default'
        ? `${describeFact(network)}; --no-proxy turns it off`
        : describeFact(network);
    lines.push(row('proxy network', network.value ?? 'none', why));
    lines.push(
      row(
        'host port',
        hostPort ?? 'none',
        hostPort ? 'APP_PORT in .env overrides it' : 'nginx-proxy reaches the app; --host-port publishes one',
      ),
    );
  }
  const db = plan.containerDb;
  // A .NET app gets its db through a connection string set in compose.
  const env = db.envVar ? { name: db.envVar, value: db.envValue } : dotnetConnectionEnv(plan.facts, db.path);
  lines.push(
    cleanText(
      `  ${'db in containers'.padEnd(16)} ${db.path}${env ? ` (app gets ${env.name}=${env.value})` : ''}`,
    ),
  );
  if (plan.sidecar === 'litestream')
    lines.push(`  ${'sidecar'.padEnd(16)} ${LITESTREAM_IMAGE} (from --sidecar)`);
  if (plan.servicestack) {
    lines.push('', `  Kept from the ServiceStack mix (${cleanText(plan.servicestack.file)}):`);
    for (const l of keptLines(plan.servicestack)) lines.push(cleanText(`    ${l}`));
  }
  return lines;
}

/** The workflow file of a plan (at the project's or the git root's .github/workflows/). */
export function isWorkflow(p: string): boolean {
  return /(^|\/)\.github\/workflows\/[^/]+$/.test(p);
}

export function formatFiles(files: { path: string; status: string; reason?: string }[]): string[] {
  return files.map((f) =>
    cleanText(`  ${f.status.padEnd(10)} ${f.path}${f.reason ? `  (${f.reason})` : ''}`),
  );
}

export function fileDiff(f: PlannedFile): string {
  if (f.bytes)
    return `Binary file b/${f.path} ${f.existing === undefined ? 'is new' : 'differs'}: ${f.content}`;
  return cleanDiff(
    createTwoFilesPatch(
      f.existing === undefined ? '/dev/null' : `a/${f.path}`,
      `b/${f.path}`,
      f.existing ?? '',
      f.content,
      '',
      '',
    ),
  );
}

/** Diff text shows the user's file: its control characters are shown as `^[` and the like, not run. */
function cleanDiff(text: string): string {
  return text.replace(
    /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g,
    (c) => `^${String.fromCharCode((c.charCodeAt(0) + 64) & 0x7f)}`,
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

/** The release workflow is written (or already there) by this run: its secrets are worth setting. */
export function workflowWritten(files: { path: string; status: string }[]): boolean {
  return files.some((f) => isWorkflow(f.path) && f.status !== 'skip' && f.status !== 'conflict');
}

/** `--json` result of `add`: facts split into detected vs defaulted, files, secrets, notes. */
export function planJson(plan: Plan, result: ApplyResult, error?: { message: string; hint?: string }) {
  const secrets = workflowWritten(result.files) ? plan.secrets : [];
  const facts = Object.fromEntries(
    relevantFacts(plan.facts, plan.userDockerfile).map(([, key]) => {
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
    branch: { value: plan.branch.value, source: plan.branch.source, from: plan.branch.from },
    files: result.files,
    written: result.written,
    deleted: result.deleted,
    backups: result.backups,
    secrets: secrets.map((s) => s.name),
    ghSecretSet: ghSecretLines(secrets),
    notes: plan.notes,
    sidecar: plan.sidecar,
    ...(plan.servicestack ? { servicestack: servicestackJson(plan.servicestack) } : {}),
    ...(error ? { ok: false, error: error.message, hint: error.hint } : { ok: true }),
  };
}

export function formatRemove(r: RemoveResult): string[] {
  return r.files.map((f) =>
    cleanText(`  ${f.status.padEnd(8)} ${f.path}${f.reason ? `  (${f.reason})` : ''}`),
  );
}

/** What `--json` says was kept from a ServiceStack-mix deployment. */
function servicestackJson(m: ServiceStackMix) {
  return {
    file: m.file,
    service: m.service,
    storage: m.storage,
    replicaPath: m.replicaPath,
    volume: m.volume,
    volumeFrom: m.volumeFrom,
    dbInVolume: m.dbInVolume,
    appDbPath: m.appDbPath,
    env: m.env,
    kept: keptLines(m),
  };
}
