/**
 * Fitting the generated files to the sidecar the user picks (`--sidecar`), the replica path
 * they give (`--replica-path`), and a ServiceStack-mix deployment found in the project: its
 * replica path, volume and secret names are kept so the first deploy restores its backup.
 */
import path from 'node:path';
import { UserError } from '../../runtime/errors.js';
import { isOurs } from './deploy-fit.js';
import type { Manifest } from './manifest.js';
import { nameForms } from './names.js';
import { type DeployFit, dbLayout } from './render.js';
import { detectServiceStackMix, type ServiceStackMix } from './servicestack-mix.js';
import { cleanText } from './text.js';
import { type Overrides, type ProjectFacts, SIDECARS, type SidecarKind, type Storage } from './types.js';

const REPLICA_PATH = /^[\w.-][\w./-]*$/;
const VOLUME_NAME = /^[a-zA-Z0-9][\w.-]*$/;
const MIX_OF: Record<Storage, string> = {
  aws: 'litestream-aws',
  azure: 'litestream-azure',
  sftp: 'litestream-sftp',
};

export function replicaPathProblem(p: string): string | undefined {
  if (!REPLICA_PATH.test(p)) return 'only letters, digits and / . _ - are allowed, not starting with /';
  if (p.split('/').includes('..') || p.endsWith('/')) return 'it goes up with ".." or ends with /';
  return undefined;
}

function sidecarKind(v: string | undefined): SidecarKind {
  if (v === undefined) return 'ls-mix';
  if (!(SIDECARS as readonly string[]).includes(v))
    throw new UserError(`--sidecar '${cleanText(v)}' is not a sidecar ls-mix can write`, {
      hint: `Pass --sidecar ${SIDECARS.join(' or --sidecar ')}.`,
    });
  return v as SidecarKind;
}

export async function fitServiceStackMix(
  root: string,
  facts: ProjectFacts,
  storage: Storage,
  manifest: Manifest | undefined,
  remembered: Overrides,
  gitRoot: string | undefined,
  fit: DeployFit,
): Promise<ServiceStackMix | undefined> {
  fit.sidecarKind = sidecarKind(remembered.sidecar);
  if (remembered.replicaPath !== undefined) {
    const problem = replicaPathProblem(remembered.replicaPath);
    if (problem)
      throw new UserError(`--replica-path '${cleanText(remembered.replicaPath)}': ${problem}`, {
        hint: 'Pass the path of the replica inside the bucket / container / SFTP home, e.g. --replica-path MyApp.sqlite.',
      });
    fit.layout = { ...fit.layout, replicaPath: remembered.replicaPath };
  }
  const ss = await detectServiceStackMix(root, {
    gitRoot,
    oursOnDisk: (rel, text) => isOurs(manifest?.files[rel], text),
    replicaPath: remembered.replicaPath,
  });
  if (!ss) {
    // Kept on an earlier run (the ServiceStack compose file may be replaced by ours since).
    if (remembered.volume !== undefined) {
      if (!VOLUME_NAME.test(remembered.volume))
        throw new UserError(
          `.ls-mix.json: volume '${cleanText(remembered.volume)}' is not a name compose accepts`,
          {
            hint: 'Fix or delete the "volume" key in .ls-mix.json.',
          },
        );
      fit.volume = remembered.volume;
    }
    if (remembered.storageEnv !== undefined) fit.storageEnv = parseEnvRenames(remembered.storageEnv);
    return undefined;
  }
  const settle = `Pass --replica-path ${ss.replicaPath} to say that is the backup to keep`;
  if (ss.storage !== storage)
    throw new UserError(
      `${ss.file}: the ServiceStack mix's sidecar '${cleanText(ss.service)}' backs up to ${ss.storage}, not ${storage}: this mix would start a new, empty backup`,
      {
        hint: `Add the ${ss.storage} mix instead (${MIX_OF[ss.storage]}, or its blazor-/jamstack- form) to keep restoring that backup.`,
      },
    );
  const problem = replicaPathProblem(ss.replicaPath);
  if (problem)
    throw new UserError(`${ss.file}: the replica path '${cleanText(ss.replicaPath)}': ${problem}`, {
      hint: 'Pass --replica-path with the path of the existing replica in your storage.',
    });
  if (!VOLUME_NAME.test(ss.volume))
    throw new UserError(`${ss.file}: the volume name '${cleanText(ss.volume)}' is not one compose accepts`, {
      hint: `Rename it in ${ss.file} to the name it has on the server, then run again.`,
    });

  // The app must open the file the old sidecar backed up, else the backup restores into a db nobody reads.
  const names = nameForms(facts.name.value);
  const ours = dbLayout(facts, names, fit.layout);
  if (ss.dbInVolume.includes('/'))
    throw new UserError(
      `${ss.file}: the db ${ss.dbInVolume} is in a subfolder of the volume ${ss.volume}: ls-mix mounts the volume on the db's own folder`,
      {
        hint: `${settle}, and --db-path with the path the app opens its db at; the first deploy then restores into a new volume.`,
      },
    );
  if (path.posix.basename(ours.containerPath) !== ss.dbInVolume) {
    if (facts.dbPath.source !== 'flag')
      throw new UserError(
        `${ss.file}: the ServiceStack mix's sidecar backs up ${ss.dbInVolume}, but the app opens ${cleanText(facts.dbPath.value)} (${facts.dbPath.source === 'detected' ? `detected in ${facts.dbPath.from}` : facts.dbPath.from})`,
        {
          hint: `Pass --db-path with the path the app really opens (e.g. --db-path App_Data/${ss.dbInVolume}).`,
        },
      );
    ss.notes.push(
      `The app opens ${ours.containerPath} (--db-path): the first deploy restores the backup into it; the volume's old ${ss.dbInVolume} is no longer used.`,
    );
  }
  fit.layout = { ...fit.layout, replicaPath: ss.replicaPath };
  fit.volume = ss.volume;
  fit.storageEnv = ss.env;
  // Remembered in .ls-mix.json: a re-run (after ours replaced their compose file) keeps all three.
  remembered.replicaPath = ss.replicaPath;
  remembered.volume = ss.volume;
  const renames = Object.entries(ss.env).filter(([ours, theirs]) => ours !== theirs);
  if (renames.length) remembered.storageEnv = renames.map(([o, t]) => `${o}=${t}`).join(',');
  else delete remembered.storageEnv;
  ss.notes.push(
    `Compose names the volume <project>_${ss.volume} on the server (the project is the folder the compose file is in). If that is not the volume the ServiceStack mix used, the first deploy restores the db from ${ss.replicaPath}.`,
  );
  return ss;
}

/** `AZURE_CONTAINER=BACKUP_CONTAINER,...` (remembered in .ls-mix.json) -> a rename map. */
function parseEnvRenames(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(',').filter(Boolean)) {
    const m = /^([A-Z][A-Z0-9_]*)=([A-Za-z_][A-Za-z0-9_]*)$/.exec(pair);
    if (!m)
      throw new UserError(`.ls-mix.json: storageEnv '${cleanText(pair)}' is not OURS=THEIRS env var names`, {
        hint: 'Fix or delete the "storageEnv" key in .ls-mix.json.',
      });
    out[m[1]] = m[2];
  }
  return out;
}
