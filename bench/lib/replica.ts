/** Looking at a file replica from outside: its objects and the WAL bytes they hold. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { lz4FrameDecompress } from '../../runtime/format/lz4.js';

export interface ObjectFile {
  key: string;
  path: string;
  size: number;
}

export function listFiles(dir: string, sub = ''): ObjectFile[] {
  const out: ObjectFile[] = [];
  let names: string[];
  try {
    names = readdirSync(join(dir, sub));
  } catch {
    return out;
  }
  for (const n of names) {
    const key = sub ? `${sub}/${n}` : n;
    const p = join(dir, key);
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) out.push(...listFiles(dir, key));
    else if (!n.includes('.tmp')) out.push({ key, path: p, size: st.size });
  }
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

export const isSegment = (key: string) => /\/wal\/[0-9a-f]{8}_[0-9a-f]{8}\.wal\.lz4$/.test(key);
export const isSnapshot = (key: string) => /\/snapshots\/[0-9a-f]{8}\.snapshot\.lz4$/.test(key);

/** Objects of 0 bytes (not even an LZ4 header): a replicator bug worth reporting. */
export function emptyObjects(dir: string): string[] {
  return listFiles(dir)
    .filter((f) => f.size === 0)
    .map((f) => f.key);
}

/** Decompressed bytes of these objects, one at a time (bounded memory). */
export async function decodedBytes(files: ObjectFile[]): Promise<number> {
  let n = 0;
  for (const f of files) if (f.size > 0) n += (await lz4FrameDecompress(readFileSync(f.path))).length;
  return n;
}

/** Decompressed bytes of every WAL segment of a file replica (empty objects skipped). */
export async function walBytesShipped(dir: string): Promise<number> {
  let n = 0;
  for (const f of listFiles(dir)) {
    if (!isSegment(f.key) || f.size === 0) continue;
    try {
      n += (await lz4FrameDecompress(readFileSync(f.path))).length;
    } catch (err) {
      throw new Error(`${f.key} (${f.size} bytes): ${(err as Error).message}`);
    }
  }
  return n;
}
