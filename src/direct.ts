/**
 * The direct entry of the long-running runtime commands: `replicate` and `restore` with plain
 * flags are parsed here (node:util parseArgs) and run without loading @oclif/core, which costs
 * ~14 MiB of RSS for as long as a sidecar runs (see docs/bench.md). Anything this parser is not
 * sure to read exactly as oclif does (--help, --json, unknown or repeated flags, short flags
 * with glued values, `--`, a value out of range, a missing argument) returns undefined and goes
 * through oclif as before, so every error message and every edge case stays oclif's.
 * test/cli/direct.test.ts checks that both parsers read the same argv the same way.
 */
import { parseArgs } from 'node:util';
import type { ReplicateFlags } from './run/replicate.js';
import type { RestoreFlags } from './run/restore.js';

interface FlagRule {
  type: 'string' | 'boolean';
  short?: string;
  /** Allowed values of a string flag. */
  options?: readonly string[];
  /** A whole number in [min, max] (oclif's Flags.integer). */
  integer?: readonly [number, number];
  default?: string | boolean | number;
}

type Rules = Record<string, FlagRule>;

const configRules: Rules = {
  config: { type: 'string' },
  'no-expand-env': { type: 'boolean', default: false },
};

const baseRules: Rules = { verbose: { type: 'boolean', default: false } };

/** The flags of each command as its oclif class declares them (the test compares the two). */
export const directCommands = {
  restore: {
    minArgs: 1,
    maxArgs: 1,
    rules: {
      ...baseRules,
      ...configRules,
      replica: { type: 'string' },
      output: { type: 'string', short: 'o' },
      generation: { type: 'string' },
      index: { type: 'string' },
      timestamp: { type: 'string' },
      parallelism: { type: 'string', integer: [1, 64], default: 8 },
      integrity: { type: 'string', options: ['quick', 'full', 'none'], default: 'quick' },
      'if-db-not-exists': { type: 'boolean' },
      'if-replica-exists': { type: 'boolean' },
    } satisfies Rules,
  },
  replicate: {
    minArgs: 0,
    maxArgs: Number.POSITIVE_INFINITY,
    rules: {
      ...baseRules,
      ...configRules,
      exec: { type: 'string' },
      'shutdown-sync-timeout': { type: 'string' },
      resync: { type: 'boolean' },
    } satisfies Rules,
  },
} as const;

export type DirectCommand = keyof typeof directCommands;

export interface DirectParse {
  command: DirectCommand;
  flags: Record<string, string | boolean | number | undefined>;
  args: string[];
}

/**
 * `argv` after the command word, already through normalizeArgv. Undefined: let oclif parse it.
 */
export function parseDirect(command: string, argv: readonly string[]): DirectParse | undefined {
  if (!Object.hasOwn(directCommands, command)) return undefined;
  const spec = directCommands[command as DirectCommand];
  const rules: Rules = spec.rules;
  let parsed: {
    values: Record<string, unknown>;
    positionals: string[];
    tokens: NonNullable<ReturnType<typeof parseArgs>['tokens']>;
  };
  try {
    parsed = parseArgs({
      args: [...argv],
      options: Object.fromEntries(
        Object.entries(rules).map(([name, r]) => [
          name,
          { type: r.type, ...(r.short ? { short: r.short } : {}) },
        ]),
      ),
      strict: true,
      allowPositionals: true,
      tokens: true,
    }) as typeof parsed;
  } catch {
    return undefined; // unknown flag, missing value, a value that looks like a flag: oclif says it
  }
  const seen = new Set<string>();
  for (const token of parsed.tokens) {
    if (token.kind === 'option-terminator') return undefined;
    if (token.kind !== 'option') continue;
    if (seen.has(token.name)) return undefined; // repeated: oclif decides
    seen.add(token.name);
    // `-ofile` / `-o=file`: oclif and parseArgs may differ on the glued form.
    if (token.rawName.length === 2 && token.inlineValue) return undefined;
    if (token.value === '') return undefined;
  }
  const flags: DirectParse['flags'] = {};
  for (const [name, rule] of Object.entries(rules)) {
    const raw = parsed.values[name] as string | boolean | undefined;
    if (raw === undefined) {
      flags[name] = rule.default;
      continue;
    }
    if (typeof raw === 'string' && rule.options && !rule.options.includes(raw)) return undefined;
    if (typeof raw === 'string' && rule.integer) {
      if (!/^\d{1,9}$/.test(raw)) return undefined;
      const n = Number(raw);
      if (n < rule.integer[0] || n > rule.integer[1]) return undefined;
      flags[name] = n;
      continue;
    }
    flags[name] = raw;
  }
  const args = parsed.positionals;
  if (args.length < spec.minArgs || args.length > spec.maxArgs) return undefined;
  return { command: command as DirectCommand, flags, args };
}

/**
 * Run `replicate` or `restore` directly when parseDirect reads argv; false when oclif must.
 * `argv` is process.argv after normalizeArgv.
 */
export async function runDirect(argv: readonly string[]): Promise<boolean> {
  const parsed = parseDirect(argv[2] ?? '', argv.slice(3));
  if (!parsed) return false;
  const verbose = parsed.flags.verbose === true;
  const { reportError } = await import('./run/errors.js');
  try {
    if (parsed.command === 'replicate') {
      const { replicateCommand } = await import('./run/replicate.js');
      await replicateCommand(parsed.args, parsed.flags as unknown as ReplicateFlags, verbose);
    } else {
      const { runRestore } = await import('./run/restore.js');
      await runRestore(parsed.args[0], parsed.flags as unknown as RestoreFlags, {
        log: (line) => process.stdout.write(`${line}\n`),
        logToStderr: (line) => process.stderr.write(`${line}\n`),
        json: false,
        verbose,
      });
    }
  } catch (err) {
    process.exitCode = reportError(err, { verbose });
  }
  return true;
}
