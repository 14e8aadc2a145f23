/**
 * What a replica holds, in the shape of Litestream v0.3.13's `generations`, `snapshots`,
 * `wal` and `databases` commands. JSON rows (--json) share one naming scheme: camelCase, times
 * as `...At` (RFC 3339), durations as `...Ms`, indexes and offsets as numbers; the text tables
 * print indexes and offsets in hexadecimal (%08x) as Litestream does.
 */
import type { Config } from '../config/types.js';
import { type RestoreReplica, replicaError, summarizeGeneration } from './plan.js';

/** Run one replica's part of a listing; an error names it and hints -replica for the others. */
async function fromReplica<T>(r: RestoreReplica, all: RestoreReplica[], list: () => Promise<T>): Promise<T> {
  try {
    return await list();
  } catch (err) {
    throw replicaError(
      r.name,
      err,
      all.map((x) => x.name),
      'cannot list',
    );
  }
}

export interface GenerationRow {
  replica: string;
  generation: string;
  /** Time since the newest object, in ms (Litestream's "lag"). */
  lagMs: number;
  /** Time of its oldest object. */
  createdAt: Date;
  /** Time of its newest object. */
  updatedAt: Date;
}

export interface SnapshotRow {
  replica: string;
  generation: string;
  index: number;
  size: number;
  createdAt: Date;
}

export interface WalRow {
  replica: string;
  generation: string;
  index: number;
  offset: number;
  size: number;
  createdAt: Date;
}

export interface DatabaseRow {
  path: string;
  replicas: string[];
}

export async function listGenerations(
  replicas: RestoreReplica[],
  now = new Date(),
): Promise<GenerationRow[]> {
  const rows: GenerationRow[] = [];
  for (const r of replicas) {
    for (const generation of await fromReplica(r, replicas, () => r.client.generations())) {
      const s = await fromReplica(r, replicas, () => summarizeGeneration(r.name, r.client, generation));
      if (!s) continue;
      rows.push({
        replica: r.name,
        generation,
        lagMs: Math.max(0, now.getTime() - s.updatedAt.getTime()),
        createdAt: s.createdAt,
        updatedAt: s.updatedAt,
      });
    }
  }
  return rows;
}

async function generationsOf(r: RestoreReplica, generation?: string): Promise<string[]> {
  const all = await r.client.generations();
  return generation ? all.filter((g) => g === generation) : all;
}

export async function listSnapshots(replicas: RestoreReplica[], generation?: string): Promise<SnapshotRow[]> {
  const rows: SnapshotRow[] = [];
  for (const r of replicas) {
    for (const g of await fromReplica(r, replicas, () => generationsOf(r, generation))) {
      for (const s of await fromReplica(r, replicas, () => r.client.snapshots(g))) {
        rows.push({ replica: r.name, generation: g, index: s.index, size: s.size, createdAt: s.createdAt });
      }
    }
  }
  return rows;
}

export async function listWalSegments(replicas: RestoreReplica[], generation?: string): Promise<WalRow[]> {
  const rows: WalRow[] = [];
  for (const r of replicas) {
    for (const g of await fromReplica(r, replicas, () => generationsOf(r, generation))) {
      for (const s of await fromReplica(r, replicas, () => r.client.walSegments(g))) {
        rows.push({
          replica: r.name,
          generation: g,
          index: s.index,
          offset: s.offset,
          size: s.size,
          createdAt: s.createdAt,
        });
      }
    }
  }
  return rows;
}

export function listDatabases(config: Config): DatabaseRow[] {
  return config.dbs.map((db) => ({ path: db.path, replicas: db.replicas.map((r) => r.name) }));
}

/** Go's Duration.Truncate(time.Second).String() for a lag: 4s, 1m30s, 26h3m0s. */
export function formatLag(ms: number): string {
  let s = Math.floor(ms / 1000);
  if (s === 0) return '0s';
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** A WAL index or offset as Litestream prints it (and `-index` reads it): %08x. */
export function formatIndex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** `-index` as Litestream reads it: hexadecimal ("a" = 10, "10" = 16). */
export function parseIndex(text: string): number | undefined {
  const t = text.trim().replace(/^0x/i, '');
  return /^[0-9a-f]{1,8}$/i.test(t) ? Number.parseInt(t, 16) : undefined;
}

/** RFC 3339 in UTC without fractions, as Litestream prints times. */
export function formatObjectTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
