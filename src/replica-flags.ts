/** Flags shared by restore and the replica listings (generations, snapshots, wal, databases). */
import { Args, Flags } from '@oclif/core';
import type { ReplicaTargets } from '../runtime/restore.js';
import { openTargetsFromFlags, type ReplicaTargetFlags } from './run/targets.js';

export const configFlags = {
  config: Flags.string({
    description: 'config file (default $LITESTREAM_CONFIG, else /etc/litestream.yml)',
    helpValue: 'PATH',
  }),
  'no-expand-env': Flags.boolean({
    description: 'do not expand environment variables ($VAR) in the config file',
    default: false,
  }),
};

export const replicaFlags = {
  ...configFlags,
  replica: Flags.string({ description: 'only this replica of the database (by name)', helpValue: 'NAME' }),
};

/** Concurrent object downloads of a restore (restore, and verify's scratch restores). */
export const parallelismFlag = Flags.integer({
  description:
    'concurrent WAL segment downloads, beside the snapshot (1-64); also caps the ranged GETs of a snapshot read over a slow network (at most 8; 1: one GET)',
  default: 8,
  min: 1,
  max: 64,
  helpValue: 'N',
});

export const targetArg = {
  target: Args.string({
    description: 'database path from the config, or a replica URL (file://, s3://, abs://, sftp://)',
    required: true,
  }),
};

/** Align rows under headers with two spaces between columns (Go tabwriter style). */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export type ListingFlags = ReplicaTargetFlags;

/**
 * The shared body of the listing commands: open the target's replicas, list rows, print them as
 * a table unless --json, close the replicas whatever happens.
 */
export async function listReplicaRows<Row>(opts: {
  target: string;
  flags: ListingFlags;
  list: (replicas: ReplicaTargets['replicas']) => Promise<Row[]>;
  headers: string[];
  toCells: (row: Row) => string[];
  print: ((text: string) => void) | undefined;
}): Promise<Row[]> {
  const targets = await openTargetsFromFlags(opts.target, opts.flags);
  try {
    const rows = await opts.list(targets.replicas);
    opts.print?.(formatTable(opts.headers, rows.map(opts.toCells)));
    return rows;
  } finally {
    await targets.close();
  }
}
