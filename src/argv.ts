/**
 * Litestream spells its long flags with one dash (`-config`, `-if-db-not-exists`).
 * oclif reads `-config` as a bundle of short flags, so before oclif parses argv we
 * rewrite single-dash words of two or more letters into their double-dash form.
 * Values after `--` and values that merely start with a dash (negative numbers) are left alone.
 */
const SINGLE_DASH_LONG_FLAG = /^-([a-z][a-z0-9]*(?:-[a-z0-9]+)+|[a-z][a-z0-9]+)(=.*)?$/;

export function normalizeArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  let passthrough = false;
  for (const [i, arg] of argv.entries()) {
    // argv[0] is node, argv[1] the script: never touched.
    if (i < 2 || passthrough) {
      out.push(arg);
      continue;
    }
    if (arg === '--') {
      passthrough = true;
      out.push(arg);
      continue;
    }
    out.push(SINGLE_DASH_LONG_FLAG.test(arg) ? `-${arg}` : arg);
  }
  return out;
}
