/**
 * `.ls-mix.json`: which mixes were added and, for each file written, the hash of its content,
 * so re-running is idempotent and `remove` deletes only files still as generated.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../../runtime/errors.js';
import { readIfExists } from './fs-util.js';

export const MANIFEST_FILE = '.ls-mix.json';

const ManifestSchema = z.object({
  version: z.literal(1),
  generator: z.string(),
  mixes: z.array(z.string()),
  files: z.record(
    z.string(),
    z.object({
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      mix: z.string(),
      /** Ours merged into the user's file (compose): `remove` takes out only what we added. */
      merged: z.boolean().optional(),
      /** What the merge added: `services.litestream`, `volumes.x`, `services.app.volumes=<mount>`. */
      added: z.array(z.string()).optional(),
      /** The user's file was already there (identical to ours): `remove` never deletes it. */
      preexisting: z.boolean().optional(),
      /** The user's content this file replaced or was merged into, kept for `remove` to restore. */
      backup: z.string().optional(),
    }),
  ),
  /** Facts the user set with flags (`--db-path`, `--port`, ...): a re-run without them keeps them. */
  facts: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
});
export type Manifest = z.infer<typeof ManifestSchema>;
export type ManifestRecord = Manifest['files'][string];

/** Where replaced files of the user's are kept, so `remove` can put them back. */
export const BACKUP_DIR = '.ls-mix/backup';

export function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

export function emptyManifest(generator: string): Manifest {
  return { version: 1, generator, mixes: [], files: {} };
}

export async function readManifest(dir: string): Promise<Manifest | undefined> {
  const file = path.join(dir, MANIFEST_FILE);
  const text = await readIfExists(file);
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${file} is not valid JSON: ${(err as Error).message}`, {
      hint: 'Restore it from git, or delete it (ls-mix then treats every existing file as yours).',
    });
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`${file}: ${issue.path.join('.') || '(top)'}: ${issue.message}`, {
      hint: 'Restore it from git, or delete it (ls-mix then treats every existing file as yours).',
    });
  }
  return parsed.data;
}

/** Stable text (sorted file keys) so an unchanged manifest is byte-identical. */
export function serializeManifest(m: Manifest): string {
  const files = Object.fromEntries(Object.entries(m.files).sort(([a], [b]) => a.localeCompare(b)));
  const facts =
    m.facts && Object.keys(m.facts).length ? Object.fromEntries(Object.entries(m.facts).sort()) : undefined;
  return `${JSON.stringify({ ...m, mixes: [...m.mixes].sort(), files, facts }, null, 2)}\n`;
}
