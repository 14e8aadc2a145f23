/** Shared by the restore tests: Litestream v0.3.13 fixture cases on a writable temp copy. */
import { cpSync, mkdtempSync, readFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parse } from 'yaml';
import type { AgeConfig } from '../../../runtime/config/types.js';

export const FIXTURES = join(import.meta.dirname, '../../fixtures/litestream-v0.3.13');

export interface FixtureRestore {
  args: string[];
  expect: string;
  config?: string;
}

export interface FixtureCase {
  about: string;
  restores: FixtureRestore[];
  mtimes: Record<string, string>;
}

export const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as {
  cases: Record<string, FixtureCase>;
};

/** "2026-11-22T01:59:05.565500909Z" -> seconds as a float (keeps sub-millisecond digits). */
function isoToSeconds(iso: string): number {
  const m = /^(.*?)(?:\.(\d+))?Z$/.exec(iso)!;
  return Math.floor(Date.parse(`${m[1]}Z`) / 1000) + Number(`0.${m[2] ?? '0'}`);
}

/**
 * Copy a case (replica + config) into a fresh temp folder and set every object's mtime from
 * the manifest (git does not keep them). Returns the copy's folder.
 */
export function prepareCase(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ls-mix-restore-${name}-`));
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  for (const [key, iso] of Object.entries(manifest.cases[name].mtimes)) {
    const t = isoToSeconds(iso);
    utimesSync(join(dir, 'replica', key), t, t);
  }
  return dir;
}

/** Parse `-index N`, `-timestamp T`, `-generation G` from a manifest's args. */
export function restoreTarget(args: string[]): { index?: number; timestamp?: Date; generation?: string } {
  const out: { index?: number; timestamp?: Date; generation?: string } = {};
  for (let i = 0; i < args.length; i += 2) {
    if (args[i] === '-index')
      out.index = Number.parseInt(args[i + 1], 16); // hexadecimal, as Litestream
    else if (args[i] === '-timestamp') out.timestamp = new Date(args[i + 1]);
    else if (args[i] === '-generation') out.generation = args[i + 1];
    else throw new Error(`unexpected fixture arg ${args[i]}`);
  }
  return out;
}

export function ageOf(caseDir: string): AgeConfig {
  const cfg = parse(readFileSync(join(caseDir, 'config.yml'), 'utf8')) as {
    dbs: { replicas: { age: AgeConfig }[] }[];
  };
  return cfg.dbs[0].replicas[0].age;
}

/** Every table's rows, ordered, as JSON: what "restores exactly" compares. */
/**
 * Opening a WAL-mode db, even read-only, creates -wal/-shm beside it: read expected dbs from a
 * temp copy so the committed fixtures are never touched.
 */
function openCopy(dbPath: string): Database.Database {
  const copy = join(mkdtempSync(join(tmpdir(), 'ls-mix-read-')), 'copy.db');
  cpSync(dbPath, copy);
  return new Database(copy, { readonly: true, fileMustExist: true });
}

export function tableContents(dbPath: string): { json: string; rows: number } {
  const db = openCopy(dbPath);
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
      name: string;
    }[];
    let rows = 0;
    const content = tables.map((t) => {
      const r = db.prepare(`SELECT * FROM "${t.name}" ORDER BY rowid`).all();
      rows += r.length;
      return [t.name, r];
    });
    return { json: JSON.stringify(content), rows };
  } finally {
    db.close();
  }
}

export function integrity(dbPath: string): string {
  const db = openCopy(dbPath);
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
}
