/**
 * Replica helpers for tests: restore a file replica with the project's own restore, list its
 * objects, check each object with Debian's `lz4` CLI.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createFileReplicaClient } from '../../runtime/replica/file.js';
import { restoreDatabase } from '../../runtime/restore.js';

export const SNAPSHOT_RE = /^generations\/[0-9a-f]{16}\/snapshots\/[0-9a-f]{8}\.snapshot\.lz4$/;
export const SEGMENT_RE = /^generations\/[0-9a-f]{16}\/wal\/[0-9a-f]{8}_[0-9a-f]{8}\.wal\.lz4$/;

export async function restoreFileReplica(
  replicaDir: string,
  outputPath: string,
  target: { generation?: string; index?: number; timestamp?: Date } = {},
) {
  const client = createFileReplicaClient({ path: replicaDir, name: 'file' });
  try {
    return await restoreDatabase({ replicas: [{ name: 'file', client }], outputPath, ...target });
  } finally {
    await client.close();
  }
}

/** Every object key under a file replica (posix, relative), sorted; none when it is missing. */
export function listObjects(replicaDir: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return; // not created yet
    }
    for (const name of names) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(replicaDir, p).split('\\').join('/'));
    }
  };
  walk(replicaDir);
  return out.sort();
}

/** Decompress an object with the `lz4` CLI (an independent LZ4 implementation). */
export function lz4Cli(path: string): Buffer {
  return execFileSync('lz4', ['-d', '-c', path], { maxBuffer: 1 << 30 });
}

export interface SegmentName {
  generation: string;
  index: number;
  offset: number;
  key: string;
}

export function parseSegmentKey(key: string): SegmentName | undefined {
  const m = /^generations\/([0-9a-f]{16})\/wal\/([0-9a-f]{8})_([0-9a-f]{8})\.wal\.lz4$/.exec(key);
  return m
    ? { generation: m[1], index: Number.parseInt(m[2], 16), offset: Number.parseInt(m[3], 16), key }
    : undefined;
}

/**
 * `client` with some methods replaced, every other member the real one (bound to it): timing and
 * fault injection layered over a real replica. Overrides call the real methods on `client`.
 */
export function overrideClient<T extends object>(client: T, overrides: Partial<T>): T {
  return new Proxy(client, {
    get(target, key) {
      if (Object.hasOwn(overrides, key)) return overrides[key as keyof T];
      const value = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
