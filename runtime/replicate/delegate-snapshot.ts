/**
 * `ls-mix snapshot` while `replicate` runs: the running process owns the shadow WAL, so it is
 * asked (SIGUSR1) to take the snapshot — but only after its lock was verified to be that very
 * process (PID and start time, lock-holder.ts) — and the command then waits until every replica
 * shows a snapshot that was not there before, or fails after the timeout.
 */
import type { DbConfig } from '../config/types.js';
import { UserError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SnapshotInfo } from '../replica/client.js';
import { openReplicaClient } from '../replica/index.js';
import type { LockRecord } from './lock-holder.js';
import type { TakenSnapshot } from './snapshot.js';

interface Listable {
  name: string;
  generations(): Promise<string[]>;
  snapshots(generation: string): Promise<SnapshotInfo[]>;
}

async function snapshotsOf(r: Listable): Promise<SnapshotInfo[]> {
  const out: SnapshotInfo[] = [];
  for (const g of await r.generations()) out.push(...(await r.snapshots(g)));
  return out;
}

const key = (s: SnapshotInfo) => `${s.generation}/${s.index}`;

export async function delegateSnapshot(
  db: DbConfig,
  holder: LockRecord,
  opts: { timeoutMs: number; logger?: Logger; pollMs?: number },
): Promise<TakenSnapshot[]> {
  const clients = [];
  try {
    for (const cfg of db.replicas) {
      const c = await openReplicaClient(cfg, { logger: opts.logger });
      clients.push({ name: cfg.name, client: c });
    }
    const listables: Listable[] = clients.map(({ name, client }) => ({
      name,
      generations: () => client.generations(),
      snapshots: (g) => client.snapshots(g),
    }));
    const before = new Map<string, Map<string, number>>();
    for (const r of listables) {
      before.set(r.name, new Map((await snapshotsOf(r)).map((s) => [key(s), s.createdAt.getTime()])));
    }
    process.kill(holder.pid, 'SIGUSR1');
    const deadline = Date.now() + opts.timeoutMs;
    const found = new Map<string, TakenSnapshot>();
    while (found.size < listables.length) {
      for (const r of listables) {
        if (found.has(r.name)) continue;
        const seen = before.get(r.name) ?? new Map();
        const fresh = (await snapshotsOf(r)).find((s) => {
          const t = seen.get(key(s));
          return t === undefined || s.createdAt.getTime() > t;
        });
        if (fresh) found.set(r.name, { replica: r.name, ...fresh });
      }
      if (found.size === listables.length) break;
      if (Date.now() >= deadline) {
        const missing = listables.filter((r) => !found.has(r.name)).map((r) => r.name);
        throw new UserError(
          `the replicate process (pid ${holder.pid}) was asked for a snapshot, but replica ${missing.join(', ')} shows none after ${Math.round(opts.timeoutMs / 1000)}s`,
          { hint: "Check that process's log for errors, or pass a longer -timeout." },
        );
      }
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 250));
    }
    return [...found.values()];
  } finally {
    await Promise.allSettled(clients.map(({ client }) => client.close()));
  }
}
