/**
 * `$VAR` / `${VAR}` in config values, expanded after the YAML is parsed (Litestream expands the
 * text before parsing, so a secret holding `*`, `|`, `&x`, `!x` or ` #` changed the YAML or
 * landed in a parse error). Only string values are expanded, one at a time: nothing from the
 * environment can change the document's shape or reach an error message. `$$` is a literal `$`.
 * An unset variable expands to "" as in Litestream; the caller warns, naming the key.
 */
const REF = /\$\$|\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface Expanded {
  value: string;
  /** Variables referenced but not set (expanded to ""). */
  unset: string[];
  /** A malformed reference such as `${}` or `${A-B}` (left as written). */
  invalid?: string;
  /** Whether the value referenced any variable at all. */
  referenced: boolean;
}

export function expandValue(text: string, env: Record<string, string | undefined>): Expanded {
  const unset: string[] = [];
  let invalid: string | undefined;
  let referenced = false;
  const value = text.replace(REF, (whole, braced: string | undefined, bare: string | undefined) => {
    if (whole === '$$') return '$';
    const name = braced ?? bare ?? '';
    if (!NAME.test(name)) {
      invalid ??= whole;
      return whole;
    }
    referenced = true;
    const v = env[name];
    if (v === undefined) {
      unset.push(name);
      return '';
    }
    return v;
  });
  return { value, unset, invalid, referenced };
}
