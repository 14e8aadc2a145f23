/**
 * Plan: render the mixes in memory and compare each file with what is on disk, giving it a
 * status (create / identical / update / conflict / skip). Nothing is written here.
 *
 * Before rendering, the plan fits the files to what the user already has: flags remembered
 * in .ls-mix.json, a Dockerfile of theirs that is kept (WORKDIR, USER, EXPOSE), a compose
 * file of theirs (the app service and the mount its db lives on), and the git repo (the
 * workflow goes to its root, triggers on its default branch, and never takes the name of a
 * workflow of theirs).
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../runtime/errors.js';
import { findBuildWorkflow } from './build-workflow.js';
import { checkFit, findMixes } from './catalog.js';
import type { ComposeFit } from './compose-fit.js';
import { COMPOSE, fitDockerfile, fitUserCompose, isOurs, rootComposeNote } from './deploy-fit.js';
import { detectProject } from './detect.js';
import { detected } from './detect-facts.js';
import { readIfExists } from './fs-util.js';
import { detectDefaultBranch, findGitRoot, isBranchName } from './git-repo.js';
import { type Manifest, type ManifestRecord, readManifest, sha256 } from './manifest.js';
import { mergeCompose } from './merge.js';
import { nameForms } from './names.js';
import { GENERATOR_VERSION } from './package-root.js';
import { projectTarget } from './paths.js';
import { proxySettings } from './proxy.js';
import { type DeployFit, dbLayout, type RenderedFile, renderMix } from './render.js';
import { relevantFacts } from './report.js';
import { fitServiceStackMix } from './servicestack-fit.js';
import { secretsFor } from './storage.js';
import { cleanText } from './text.js';
import type { Fact, Overrides, Plan, PlannedFile, ProjectFacts } from './types.js';
import { validateFacts } from './validate-facts.js';
import { VENDORED_TARBALL, vendorPackage } from './vendor.js';
import { placeWorkflow } from './workflow-place.js';

export interface PlanOptions {
  dir: string;
  mixes: string[];
  overrides?: Overrides;
  /**
   * --force: a Dockerfile of the user's is going to be replaced (nothing to fit to), and a
   * compose app service whose db folder is on no mount gets one.
   */
  force?: boolean;
  /**
   * `ls-mix new`: the project becomes a git repository of its own (at `root`, on `branch`),
   * whatever repository the folder sits in now.
   */
  newRepo?: { root: string; branch: string };
  /**
   * The ls-mix tarball to vendor into .deploy/ for the sidecar (default: `npm pack` of the
   * running ls-mix, cached per content). Library use (tests) only.
   */
  sidecarTarball?: string;
}

export async function planMixes(opts: PlanOptions): Promise<Plan> {
  const mixes = await findMixes(opts.mixes);
  const root = path.resolve(opts.dir);
  if (!(await stat(root).catch(() => undefined))?.isDirectory()) await detectProject(root); // its error
  const manifest = await readManifest(root);
  const given = definedOnly(opts.overrides ?? {});
  const remembered: Overrides = { ...(manifest?.facts as Overrides | undefined), ...given };
  const facts = await detectProject(root, remembered);
  markRemembered(facts, given, manifest);
  validateFacts(facts);

  const notes = await checkFit(mixes, facts.variant);
  const proxy = proxySettings(remembered);
  const fit: DeployFit = { proxy };
  const names = nameForms(facts.name.value);
  await fitDockerfile(root, facts, manifest, opts.force ?? false, fit, notes);
  if (facts.runtime === 'node' && facts.ownDockerfile && !fit.userDockerfile)
    throw ownDockerfileError(facts.ownDockerfile, opts.force);
  if (facts.runtime === 'node' && facts.noStartScript && !fit.userDockerfile)
    throw noStartScriptError(facts.noStartScript, opts.force);
  if (facts.ownDockerfile?.kind === 'AdonisJS')
    notes.push(
      'AdonisJS checks its env at start (start/env.ts: APP_KEY, HOST, PORT, ...): give the app service those variables in .deploy/docker-compose.yml (HOST=0.0.0.0, APP_KEY from a secret), or the app stops at start.',
    );
  const found = await findGitRoot(root);
  // A ServiceStack-mix deployment: keep its replica path, volume and secret names.
  const servicestack = await fitServiceStackMix(
    root,
    facts,
    mixes[0].storage,
    manifest,
    remembered,
    found,
    fit,
  );
  if (servicestack) notes.push(...servicestack.notes);
  const composeFit =
    servicestack?.file === COMPOSE
      ? undefined
      : await fitUserCompose(root, facts, manifest, remembered, opts.force ?? false, fit);
  if (composeFit) notes.push(...composeFit.notes);
  else if (facts.listenHostEnv && servicestack?.file !== COMPOSE)
    notes.push(
      `The app listens on the loopback interface unless ${facts.listenHostEnv.name} is set (${facts.listenHostEnv.from}), where nginx-proxy could not reach it: the compose file sets ${facts.listenHostEnv.name}=0.0.0.0 for the app.`,
    );
  const rootCompose = await rootComposeNote(root);
  if (rootCompose && !composeFit) notes.push(rootCompose);
  // dbLayout refuses a db in the app's top folder or in a system folder, whatever the source.
  const db = dbLayout(facts, names, fit.layout);
  // ls-mix's compose file gives the app service no command: the image's CMD is what runs.
  const idle = fit.userDockerfileRunsNothing;
  if (idle && !composeFit && servicestack?.file !== COMPOSE) {
    throw new UserError(
      `Your ${idle.name} has no CMD or ENTRYPOINT: a container of it runs what ${cleanText(idle.image)} runs by default (${idle.runs}), not the app, and every deploy would start nothing (a development image, used with a bind mount and a compose \`command:\`?)`,
      {
        hint: `Add a CMD that starts the app (e.g. CMD ["npm", "start"]) — or copy your production Dockerfile over it — then run again; or pass --force to have ls-mix write its own ${idle.name} (yours is kept as a copy).`,
      },
    );
  }

  const newRepo = opts.newRepo && found !== path.resolve(opts.newRepo.root) ? opts.newRepo : undefined;
  const gitRoot = newRepo ? path.resolve(newRepo.root) : found;
  const branch =
    newRepo && remembered.branch === undefined
      ? detected(newRepo.branch, 'the new repository')
      : await detectDefaultBranch(gitRoot, remembered.branch);
  if (!isBranchName(branch.value)) {
    throw new UserError(`'${cleanText(branch.value)}' is not a branch name the workflow can hold`, {
      hint: 'Pass --branch with the branch whose pushes should release, e.g. --branch main.',
    });
  }
  const appDir = gitRoot && gitRoot !== root ? path.relative(gitRoot, root).split(path.sep).join('/') : '';
  if (!/^[\w./ @+-]*$/.test(appDir)) {
    throw new UserError(
      `The app folder '${cleanText(appDir)}' (in the git repo) has characters a GitHub workflow cannot hold`,
      {
        hint: 'Rename the folder to letters, digits, spaces and / . _ - only.',
      },
    );
  }
  const upToRoot = appDir ? `${path.posix.relative(`/${appDir}`, '/')}/` : '';
  const build = await findBuildWorkflow(gitRoot ?? root, branch.value);
  fit.workflow = { branch: branch.value, appDir, renamed: false, after: build.found };
  if (build.found) {
    notes.push(
      `The release runs after your workflow "${build.found.name}" (${build.found.file}) passes on ${branch.value} (workflow_run), not on every push.` +
        (build.others.length ? ` Not waited for: ${build.others.map((w) => `"${w.name}"`).join(', ')}.` : ''),
    );
  }

  notes.push(...(facts.detectNotes ?? []));
  for (const [label, key] of relevantFacts(facts, fit.userDockerfile)) {
    const fact = facts[key] as Fact<unknown>;
    if (fact.source === 'default') {
      notes.push(`${label} not found: using ${fact.value} (${fact.from}); --${flagOf(key)} sets it.`);
    }
  }
  if (branch.source === 'default')
    notes.push(`Release branch: ${branch.value} (${branch.from}); --branch sets it.`);
  const storage = mixes[0].storage;
  const replaces = (manifest?.mixes ?? []).filter((m) => !mixes.some((x) => x.name === m));
  if (replaces.length) notes.push(`Replaces ${replaces.join(', ')} (one backup storage per app).`);

  // The Go Litestream sidecar (--sidecar litestream) installs no ls-mix: nothing to vendor.
  const vendored =
    fit.sidecarKind === 'litestream' ? undefined : await vendorPackage({ tarball: opts.sidecarTarball });
  if (vendored) fit.vendored = { fileName: vendored.fileName, sha512: vendored.sha512 };

  const files: PlannedFile[] = [];
  for (const mix of mixes) {
    const rendered = await renderMix(mix, facts, storage, GENERATOR_VERSION, fit);
    const workflow = await placeWorkflow(root, gitRoot, upToRoot, manifest, rendered, () =>
      renderMix(mix, facts, storage, GENERATOR_VERSION, {
        ...fit,
        workflow: { ...fit.workflow!, renamed: true },
      }),
    );
    if (workflow.note) notes.push(workflow.note);
    // The sidecar Dockerfile installs the vendored tarball: it is written beside it.
    if (vendored && rendered.some((r) => r.path === SIDECAR_DOCKERFILE)) {
      workflow.files.push({
        path: vendored.path,
        content: describeBytes(vendored.bytes),
        bytes: vendored.bytes,
      });
    }
    for (const r of workflow.files) {
      const { file, note } = await compare(root, gitRoot, r, manifest, composeFit, servicestack?.file);
      files.push(file);
      if (note) notes.push(note);
    }
  }
  // In path order, as rendered (the vendored tarball is added after its mix's templates).
  files.sort((a, b) => a.path.localeCompare(b.path));
  const obsolete = obsoleteTarballs(manifest, files);
  for (const o of obsolete) notes.push(o.reason);
  return {
    dir: root,
    gitRoot,
    remembered,
    mixes: mixes.map((m) => m.name),
    replaces,
    storage,
    facts,
    branch,
    proxy,
    containerDb: {
      path: db.containerPath,
      envVar: composeFit ? undefined : db.envVar,
      envValue: composeFit ? undefined : db.envValue,
    },
    files,
    obsolete,
    secrets: secretsFor(storage, fit),
    notes: notes.map(cleanText),
    generatorVersion: GENERATOR_VERSION,
    sidecar: fit.sidecarKind ?? 'ls-mix',
    userDockerfile: fit.userDockerfile,
    servicestack,
  };
}

const SIDECAR_DOCKERFILE = '.deploy/litestream.Dockerfile';

/** Tarballs of another ls-mix version an earlier run vendored: the new one replaces them. */
function obsoleteTarballs(manifest: Manifest | undefined, files: PlannedFile[]): Plan['obsolete'] {
  const now = files.find((f) => VENDORED_TARBALL.test(f.path));
  return Object.keys(manifest?.files ?? {})
    .filter((p) => VENDORED_TARBALL.test(p) && p !== now?.path && !manifest?.files[p].preexisting)
    .map((p) => ({
      path: p,
      reason: now
        ? `${p} is replaced by ${now.path} (the sidecar now installs ls-mix ${now.path.replace(/^.*ls-mix-|\.tgz$/g, '')}).`
        : `${p} is no longer used by the sidecar: deleted.`,
    }));
}

function definedOnly(o: Overrides): Overrides {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Overrides;
}

/** A fact set by a flag on an earlier run says so (the flag is not on this command line). */
function markRemembered(facts: ProjectFacts, given: Overrides, manifest: Manifest | undefined): void {
  for (const key of Object.keys(manifest?.facts ?? {})) {
    const fact = (facts as unknown as Record<string, Fact<unknown> | undefined>)[key];
    if (key in given || !fact || typeof fact !== 'object' || fact.source !== 'flag') continue;
    fact.from = `${fact.from}, remembered in .ls-mix.json`;
  }
}

function flagOf(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

async function compare(
  dir: string,
  gitRoot: string | undefined,
  r: RenderedFile,
  manifest: Manifest | undefined,
  composeFit: ComposeFit | undefined,
  servicestackFile?: string,
): Promise<{ file: PlannedFile; note?: string }> {
  const full = await projectTarget(dir, r.path, gitRoot);
  const st = await stat(full).catch(() => undefined);
  if (st && !st.isFile()) {
    throw new UserError(`${full} exists and is not a file`, { hint: 'Move it away, then run again.' });
  }
  const base = { path: r.path, content: r.content, createOnly: r.createOnly, bytes: r.bytes };
  const existingBytes = st && r.bytes ? await readFile(full) : undefined;
  const existing = existingBytes ? describeBytes(existingBytes) : st ? await readIfExists(full) : undefined;
  const recorded = manifest?.files[r.path];
  if (existing === undefined) return { file: { ...base, status: 'create' } };
  if (existingBytes) Object.assign(base, { existingBytes });
  // The ServiceStack mix's own compose file runs its own sidecar: replaced (--force keeps a copy), never merged.
  if (r.path === servicestackFile && existing !== r.content && !isOurs(recorded, existing)) {
    return {
      file: {
        ...base,
        existing,
        status: 'conflict',
        reason:
          "the ServiceStack mix's compose file (its sidecar would replicate too): --force replaces it, keeping a copy",
      },
    };
  }
  if (r.merge === 'compose' && !isOurs(recorded, existing))
    return mergeInto(base, existing, recorded, composeFit);
  if (existing === r.content) {
    const mine =
      recorded !== undefined &&
      recorded.sha256 === sha256(existingBytes ?? existing) &&
      !recorded.preexisting;
    return {
      file: mine
        ? { ...base, existing, status: 'identical' }
        : {
            ...base,
            existing,
            status: 'identical',
            preexisting: true,
            reason: 'yours, already as ls-mix writes it (remove keeps it)',
          },
    };
  }
  if (isOurs(recorded, existingBytes ?? existing)) {
    return {
      file: { ...base, existing, status: 'update', reason: 'written by ls-mix and not changed since' },
    };
  }
  if (r.createOnly) {
    return {
      file: {
        ...base,
        existing,
        status: 'skip',
        reason: 'yours: kept as is (--force replaces it, keeping a copy)',
      },
    };
  }
  const reason = recorded
    ? 'changed by you since ls-mix wrote it'
    : 'exists and differs: not written by ls-mix';
  return { file: { ...base, existing, status: 'conflict', reason } };
}

/** The text that stands for a binary file in the plan (equal texts: equal bytes). */
export function describeBytes(bytes: Buffer): string {
  return `(binary, ${bytes.length} bytes, sha512 ${createHash('sha512').update(bytes).digest('hex')})\n`;
}

/** A compose file of the user's: ours is merged in (add only), never a conflict. */
function mergeInto(
  base: Pick<PlannedFile, 'path' | 'content' | 'createOnly'>,
  existing: string,
  recorded: ManifestRecord | undefined,
  composeFit: ComposeFit | undefined,
): { file: PlannedFile; note?: string } {
  const merged = mergeCompose(existing, base.content, base.path, composeFit);
  const note =
    !composeFit && merged.kept.includes('services.app')
      ? `${base.path}: your own 'app' service is kept as is: give it the db volume mount and ` +
        '`depends_on: { litestream: { condition: service_healthy } }` (the generated app service shows both).'
      : undefined;
  const added = [...new Set([...(recorded?.added ?? []), ...merged.addedKeys])];
  if (merged.addedKeys.length === 0) {
    const reason = 'has every service and volume already';
    return {
      file: { ...base, content: existing, existing, status: 'identical', merged: true, added, reason },
      note,
    };
  }
  const reason = `adds ${merged.added.join(', ')}; keeps yours`;
  return {
    file: { ...base, content: merged.content, existing, status: 'update', merged: true, added, reason },
    note,
  };
}

/** The image ls-mix writes runs `npm start`: an app without a start script would never run. */
function noStartScriptError(scripts: string[], force: boolean | undefined): UserError {
  const has = scripts.length > 0 ? ` (its scripts: ${scripts.map((s) => cleanText(s)).join('; ')})` : '';
  return new UserError(
    `package.json has no "start" script${has}: the image ls-mix writes starts the app with \`npm start\`, which would stop with "Missing script: start" on every deploy`,
    {
      hint: `Add a "start" script that runs the app in production (e.g. "start": "node dist/main.js" with a "build" script that compiles it, or "start": "tsx src/main.ts" with tsx in dependencies), then run again${force ? '' : '; or add a Dockerfile of your own, which ls-mix keeps and fits the compose file to'}.`,
    },
  );
}

/** ls-mix writes plain Node images: a Bun or AdonisJS app must keep a Dockerfile of its own. */
function ownDockerfileError(
  app: { kind: 'Bun' | 'AdonisJS'; why: string },
  force: boolean | undefined,
): UserError {
  const what =
    app.kind === 'Bun'
      ? `This app runs on Bun (${app.why}): the Dockerfile ls-mix writes is a Node one, which can neither build nor run it`
      : `This is an AdonisJS app (${app.why}): it runs from the build/ folder \`node ace build\` makes, which the Dockerfile ls-mix writes neither builds nor starts`;
  const example =
    app.kind === 'Bun' ? 'on Bun (e.g. FROM oven/bun:1)' : '(AdonisJS’s deployment docs have one)';
  return new UserError(what, {
    hint: force
      ? 'Run again without --force, which would replace your Dockerfile: the compose file and the sidecar are fitted to it.'
      : `Add a Dockerfile that builds and runs the app ${example}, then run again: ls-mix keeps it and fits the compose file and the sidecar (which runs on Node, beside it) to it.`,
  });
}
