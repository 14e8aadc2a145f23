/** The replicas a command's TARGET and flags name (restore, verify, the listings). */
import type { Logger } from '../../runtime/log.js';
import { openReplicaTargets, type ReplicaTargets } from '../../runtime/restore.js';

/** The flags every replica-reading command shares (-config, -no-expand-env, -replica). */
export interface ReplicaTargetFlags {
  config?: string;
  replica?: string;
  'no-expand-env': boolean;
}

export function openTargetsFromFlags(
  target: string,
  flags: ReplicaTargetFlags,
  logger?: Logger,
): Promise<ReplicaTargets> {
  return openReplicaTargets({
    target,
    configPath: flags.config,
    replicaName: flags.replica,
    expandEnv: !flags['no-expand-env'],
    logger,
  });
}
