/**
 * Building blocks shared by the detectors: facts with their source, the documented defaults,
 * and validation of the values flags override facts with.
 */
import path from 'node:path';
import { UserError } from '../../runtime/errors.js';
import { DEFAULT_DOTNET_VERSION, DEFAULT_NODE_VERSION } from './defaults.js';
import { cleanText } from './text.js';
import { type Fact, type Overrides, type PackageManager, VARIANTS, type Variant } from './types.js';
import { dbPathProblem } from './validate-facts.js';

/** The documented defaults used when a fact cannot be found. */
export const DEFAULTS = {
  nodePort: 3000,
  dotnetPort: 8080,
  nodeDbPath: 'data/app.db',
  dotnetDbPath: 'App_Data/db.sqlite',
  nodeVersion: DEFAULT_NODE_VERSION,
  dotnetVersion: DEFAULT_DOTNET_VERSION,
  packageManager: 'npm' as PackageManager,
};

export const detected = <T>(value: T, from: string): Fact<T> => ({ value, source: 'detected', from });
export const defaulted = <T>(value: T, from: string): Fact<T> => ({ value, source: 'default', from });
export const flagged = <T>(value: T, flag: string): Fact<T> => ({ value, source: 'flag', from: flag });

export function parseVariant(v: string | undefined): Variant | undefined {
  if (v === undefined) return undefined;
  if (!(VARIANTS as readonly string[]).includes(v)) {
    throw new UserError(`Unknown variant '${v}'`, { hint: `Use one of: ${VARIANTS.join(', ')}.` });
  }
  return v as Variant;
}

export function checkVersion(v: string, flag: string, re: RegExp): string {
  if (!re.test(v))
    throw new UserError(`${flag} '${v}' is not a version like ${flag === '--node-version' ? '20' : '8.0'}`);
  return v;
}

export function portOverride(o: Overrides): Fact<number> | undefined {
  if (o.port === undefined) return undefined;
  if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) {
    throw new UserError(`--port ${o.port} is not a TCP port (1-65535)`);
  }
  return flagged(o.port, '--port');
}

/** The same rule as a detected db path (validate-facts.ts): plain path characters and spaces. */
export function dbPathOverride(o: Overrides): Fact<string> | undefined {
  if (o.dbPath === undefined) return undefined;
  const problem = dbPathProblem(o.dbPath);
  if (problem) {
    throw new UserError(`--db-path '${cleanText(o.dbPath)}' is not a plain file path: ${problem}`, {
      hint: 'Use letters, digits, spaces and / . _ - only, no "..", e.g. App_Data/db.sqlite or /data/app.db.',
    });
  }
  return flagged(normalizeDbPath(o.dbPath), '--db-path');
}

export function normalizeDbPath(p: string): string {
  return p.startsWith('/') ? path.posix.normalize(p) : path.posix.normalize(p).replace(/^\.\//, '');
}

export const SQLITE_FILE = /\.(sqlite3?|db)$/i;
