/**
 * The generator's library API (used by `ls-mix add/list/remove` and by `ls-mix new` to apply
 * a mix to a freshly scaffolded project).
 *
 *   const plan = await planMixes({ dir, mixes: ['litestream-aws'], overrides: { name: 'Acme' } });
 *   const result = await applyPlan(plan, { force: true });
 */
export { applyPlan, resolvePlan } from './apply.js';
export { findMixes, loadCatalog, suggest } from './catalog.js';
export { DEFAULTS as DETECT_DEFAULTS, detectProject } from './detect.js';
export { MANIFEST_FILE } from './manifest.js';
export { nameForms, replacePlaceholders } from './names.js';
export { GENERATOR_VERSION } from './package-root.js';
export { type PlanOptions, planMixes } from './plan.js';
export { type RemoveResult, removeMix } from './remove.js';
export { ghSecretLines, secretsFor } from './storage.js';
export type * from './types.js';
