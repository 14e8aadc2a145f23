/**
 * Which replicas a restore or listing command talks to: the replicas of one database in the
 * config (`DB_PATH`), or a single replica given by URL (`REPLICA_URL`), as Litestream does.
 */
import { resolve } from 'node:path';
import { configFromArgs, loadConfig } from '../config/index.js';
import type { Config, DbConfig, ReplicaConfig } from '../config/types.js';
import { UserError } from '../errors.js';
import type { Logger } from '../log.js';
import { redactUrl } from '../log.js';
import { openReplicaClient } from '../replica/index.js';
import { isReplicaUrl } from '../replica/url.js';
import type { RestoreReplica } from './plan.js';

export interface ReplicaTargetOptions {
  /** DB_PATH (looked up in the config) or REPLICA_URL. */
  target: string;
  /** -config; else $LITESTREAM_CONFIG; else /etc/litestream.yml. */
  configPath?: string;
  /** -replica NAME: only this replica of the db. */
  replicaName?: string;
  /** false = -no-expand-env. */
  expandEnv?: boolean;
  logger?: Logger;
}

export interface ReplicaTargets {
  /** The db entry, when the target was a database path. */
  db?: DbConfig;
  config?: Config;
  replicas: RestoreReplica[];
  /** Close every client (SFTP sessions, sockets). */
  close(): Promise<void>;
}

/** The db entry of `config` whose path is `dbPath` (compared as absolute paths). */
export function findDb(config: Config, dbPath: string): DbConfig {
  const want = resolve(dbPath);
  const db = config.dbs.find((d) => resolve(d.path) === want);
  if (!db) {
    const known = config.dbs.map((d) => d.path).join(', ') || 'none';
    throw new UserError(`database not found in config ${config.source ?? ''}: ${want}`.replace('  ', ' '), {
      hint: `Configured databases: ${known}. Or pass a replica URL instead of a database path.`,
    });
  }
  return db;
}

export async function openReplicaTargets(opts: ReplicaTargetOptions): Promise<ReplicaTargets> {
  let configs: ReplicaConfig[];
  let db: DbConfig | undefined;
  let config: Config | undefined;
  if (isReplicaUrl(opts.target)) {
    // The URL alone (the db path is a placeholder): defaults and LITESTREAM_* credentials.
    configs = configFromArgs('replica-url.db', [opts.target]).dbs[0].replicas;
  } else {
    config = await loadConfig(opts.configPath, { expandEnv: opts.expandEnv });
    db = findDb(config, opts.target);
    configs = db.replicas;
  }
  if (opts.replicaName !== undefined) {
    configs = configs.filter((r) => r.name === opts.replicaName);
    if (configs.length === 0) {
      const names = (db?.replicas ?? []).map((r) => r.name).join(', ') || 'none';
      throw new UserError(`replica "${opts.replicaName}" not found`, {
        hint: db
          ? `Replicas of ${db.path}: ${names}.`
          : 'A replica URL has one replica, named after its type.',
      });
    }
  }
  if (configs.length === 0) {
    throw new UserError(`no replicas configured for ${db?.path ?? redactUrl(opts.target)}`);
  }
  const replicas: RestoreReplica[] = [];
  try {
    for (const cfg of configs) {
      const client = await openReplicaClient(cfg, { logger: opts.logger });
      replicas.push({ name: cfg.name, client, age: cfg.age });
    }
  } catch (err) {
    await Promise.allSettled(replicas.map((r) => r.client.close()));
    throw err;
  }
  return {
    db,
    config,
    replicas,
    close: async () => {
      await Promise.allSettled(replicas.map((r) => r.client.close()));
    },
  };
}
