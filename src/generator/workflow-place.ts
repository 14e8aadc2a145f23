/**
 * Where the release workflow goes: the git root's .github/workflows/ (GitHub reads no other),
 * under a name that is not a workflow of the user's.
 */
import { UserError } from '../../runtime/errors.js';
import { readIfExists } from './fs-util.js';
import type { Manifest } from './manifest.js';
import { projectTarget } from './paths.js';
import type { RenderedFile } from './render.js';

const WORKFLOW = '.github/workflows/release.yml';
/** Names tried, in order, when the user has a release.yml of their own. */
const WORKFLOW_NAMES = ['release.yml', 'ls-mix-release.yml', 'litestream-release.yml'];

/**
 * The release workflow goes to the git root's .github/workflows/ and never takes the name of
 * a workflow of the user's: then it is rendered again under the next free name.
 */
export async function placeWorkflow(
  root: string,
  gitRoot: string | undefined,
  upToRoot: string,
  manifest: Manifest | undefined,
  rendered: RenderedFile[],
  renderRenamed: () => Promise<RenderedFile[]>,
): Promise<{ files: RenderedFile[]; note?: string }> {
  const at = (name: string) => `${upToRoot}.github/workflows/${name}`;
  const move = (files: RenderedFile[], name: string) =>
    files.map((r) => (r.path === WORKFLOW ? { ...r, path: at(name) } : r));
  const ours = rendered.find((r) => r.path === WORKFLOW);
  if (!ours) return { files: rendered };
  // A name ls-mix used before stays.
  const recorded = WORKFLOW_NAMES.find((n) => manifest?.files[at(n)] && !manifest.files[at(n)].preexisting);
  if (recorded === 'release.yml') return { files: move(rendered, recorded) };
  if (recorded) return { files: move(await renderRenamed(), recorded) };
  const first = await readIfExists(await projectTarget(root, at('release.yml'), gitRoot));
  if (first === undefined || first === ours.content) return { files: move(rendered, 'release.yml') };
  const renamed = await renderRenamed();
  const content = renamed.find((r) => r.path === WORKFLOW)!.content;
  for (const name of WORKFLOW_NAMES.slice(1)) {
    const text = await readIfExists(await projectTarget(root, at(name), gitRoot));
    if (text === undefined || text === content) {
      return {
        files: move(renamed, name),
        note: `${at('release.yml')} is a workflow of yours: kept, and ls-mix's release workflow is ${at(name)} ("Release with Litestream").`,
      };
    }
  }
  throw new UserError(`${WORKFLOW_NAMES.map(at).join(', ')} are all workflows of yours`, {
    hint: `Move one of them away (ls-mix writes its release workflow as ${at(WORKFLOW_NAMES[1])}), then run again.`,
  });
}
