import { UserError } from '../errors.js';

/**
 * Expand `$VAR` and `${VAR}` in config text before YAML parsing, as Litestream does with
 * os.ExpandEnv — but a reference to an unset variable is an error (naming the variable and the
 * line) instead of silently becoming an empty string. `$$` is a literal `$`. Full-line comments
 * are left untouched so a commented-out reference never fails a load.
 */
const REF = /\$\$|\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function expandEnv(text: string, env: Record<string, string | undefined>, source = 'config'): string {
  return text
    .split('\n')
    .map((line, i) => {
      if (line.trimStart().startsWith('#')) return line;
      return line.replace(REF, (whole, braced: string | undefined, bare: string | undefined) => {
        if (whole === '$$') return '$';
        const name = braced ?? bare ?? '';
        if (!NAME.test(name)) {
          throw new UserError(`${source}:${i + 1}: invalid variable reference "${whole}"`, {
            // biome-ignore lint/suspicious/noTemplateCurlyInString: config syntax, not a template
            hint: 'Use $NAME or ${NAME}; write $$ for a literal dollar sign.',
          });
        }
        const value = env[name];
        if (value === undefined) {
          throw new UserError(
            `${source}:${i + 1}: environment variable ${name} is not set (referenced as ${whole})`,
            { hint: `Set ${name}, or run with -no-expand-env to keep the text as written.` },
          );
        }
        return value;
      });
    })
    .join('\n');
}
