import { readFile } from 'node:fs/promises';
import Database from 'better-sqlite3';
import pino, { type Logger } from 'pino';
import type { ReplicaConfig } from '../../../runtime/config/types.js';
import { lz4FrameCompress } from '../../../runtime/format/lz4.js';
import type { ReplicaClient } from '../../../runtime/replica/client.js';
import type { TcpFaultProxy } from '../../services/fault-proxy.js';
import { body } from '../replica-contract/contract.js';

/** A logger that keeps every line as parsed JSON, to assert retries were logged. */
export function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'debug', base: undefined },
    { write: (s: string) => lines.push(JSON.parse(s)) },
  );
  return { logger, lines };
}

/** The config fields every replica has, with defaults; tests add the storage ones. */
export function replicaCfg(
  fields: Partial<ReplicaConfig> & Pick<ReplicaConfig, 'type' | 'name' | 'path'>,
): ReplicaConfig {
  return {
    retention: 86_400_000,
    retentionCheckInterval: 3_600_000,
    syncInterval: 1_000,
    snapshotInterval: 0,
    validationInterval: 0,
    ...fields,
  };
}

/** Fast retries for tests: ~6 attempts within a few seconds. */
export const QUICK_RETRY = { retries: 5, minTimeout: 50, maxTimeout: 400 };

/** Enough retries to ride out a server restart of a few seconds. */
export const PATIENT_RETRY = { retries: 12, minTimeout: 200, maxTimeout: 2_000 };

/** Settle a promise into its error (or undefined), for assertions on the error object. */
export async function errorOf(p: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await p;
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/**
 * HTTP clients keep idle keep-alive connections (the Azure SDK shares its agent between
 * clients): drop them so the next request opens a new connection through the proxy.
 */
export async function dropPooledConnections(proxy: TcpFaultProxy): Promise<void> {
  proxy.resetAll();
  await new Promise((r) => setTimeout(r, 50));
}

/**
 * A db at `path` of `count` rows of `bytes` random bytes each, stored through `client` as snapshot
 * 0 of `generation` (no WAL): its rows (see blobRows) and the snapshot's size.
 */
export async function storeBlobSnapshot(
  client: ReplicaClient,
  generation: string,
  path: string,
  count: number,
  bytes: number,
): Promise<{ rows: string[]; snapshotBytes: number }> {
  const db = new Database(path);
  db.exec('CREATE TABLE t (b BLOB)');
  const insert = db.prepare('INSERT INTO t VALUES (randomblob(?))');
  db.transaction(() => {
    for (let i = 0; i < count; i++) insert.run(bytes);
  })();
  db.close();
  const snapshot = await lz4FrameCompress(await readFile(path));
  await client.writeSnapshot(generation, 0, body(snapshot));
  return { rows: blobRows(path), snapshotBytes: snapshot.length };
}

/** The rows of a db storeBlobSnapshot made (or restored from it), hex, in rowid order. */
export function blobRows(path: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT hex(b) FROM t ORDER BY rowid').pluck().all() as string[];
  } finally {
    db.close();
  }
}
