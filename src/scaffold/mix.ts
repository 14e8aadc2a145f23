import { UserError } from '../../runtime/errors.js';
import {
  type ApplyResult,
  applyPlan,
  detectProject,
  loadCatalog,
  type Overrides,
  type Plan,
  planMixes,
  type Storage,
} from '../generator/index.js';

/** What `new --mix` accepts: the general storage mixes (the variant's own mix is chosen). */
export const NEW_MIX_CHOICES = ['litestream-aws', 'litestream-azure', 'litestream-sftp'] as const;
export const DEFAULT_NEW_MIX = 'litestream-aws';

const STORAGE_LABELS: Record<Storage, string> = {
  aws: 'AWS S3 (or an S3-compatible store)',
  azure: 'Azure Blob Storage',
  sftp: 'an SFTP server',
};

/** Choices for the interactive prompt. */
export function mixPromptChoices(): { name: string; value: string; description: string }[] {
  return NEW_MIX_CHOICES.map((m) => ({
    name: m,
    value: m,
    description: `replicate the SQLite db to ${STORAGE_LABELS[storageOfMix(m)]}`,
  }));
}

/**
 * The storage a `--mix` value names. Accepts `litestream-aws`, a variant's own mix name
 * (`blazor-litestream-azure`) or the bare storage (`sftp`).
 */
export function storageOfMix(mix: string): Storage {
  const m = /^(?:(?:blazor-|jamstack-)?litestream-)?(aws|azure|sftp)$/.exec(mix.trim());
  if (!m) {
    throw new UserError(`Unknown mix "${mix}" for a new project`, {
      hint: `Use one of: ${NEW_MIX_CHOICES.join(', ')} (the template's own variant of it is applied).`,
    });
  }
  return m[1] as Storage;
}

/**
 * The mix made for this variant and storage (`blazor-litestream-aws` for a Blazor app), or
 * the general `litestream-<storage>` one when no dedicated mix exists.
 */
export async function mixForVariant(storage: Storage, variant: string): Promise<string> {
  const catalog = await loadCatalog();
  const fits = catalog.filter((m) => m.storage === storage && (m.variants as string[]).includes(variant));
  const dedicated = fits.find((m) => !m.name.startsWith('litestream-'));
  return (dedicated ?? fits[0])?.name ?? `litestream-${storage}`;
}

export interface AppliedMix {
  mix: string;
  plan: Plan;
  result: ApplyResult;
}

/**
 * Applies the storage mix to the freshly copied project through the generator's own
 * plan/apply (the code `ls-mix add` runs). Files the template already has win (`skip`):
 * a team template's own Dockerfile or workflow is kept.
 */
export async function applyMixToNewProject(
  dir: string,
  storage: Storage,
  overrides: Overrides,
): Promise<AppliedMix> {
  const variant = overrides.variant ?? (await detectProject(dir, overrides)).variant.value;
  const mix = await mixForVariant(storage, variant);
  const plan = await planMixes({
    dir,
    mixes: [mix],
    overrides: { ...overrides, variant },
    newRepo: { root: dir, branch: 'main' }, // the project becomes its own repository (git.ts)
  });
  const result = await applyPlan(plan, { skip: true });
  return { mix, plan, result };
}
