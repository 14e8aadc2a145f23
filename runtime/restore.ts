/** Restore and the read-only listings (generations, snapshots, wal): see runtime/restore/. */

export { INTEGRITY_LEVELS, type IntegrityLevel } from './restore/apply.js';
export * from './restore/listings.js';
export { NoBackupError, planRestore, type RestoreReplica, type RestoreTarget } from './restore/plan.js';
export * from './restore/restore.js';
export * from './restore/targets.js';
