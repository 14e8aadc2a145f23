/**
 * Project text on its way out: to the terminal (control characters stripped, so a crafted
 * file name or package name cannot move the cursor or rewrite earlier lines), into YAML and
 * into a shell line (quoted, so a value is only ever one word of data).
 */

// ESC-introduced sequences first (CSI ... final byte, OSC ... BEL/ST), then any other C0/C1
// control character except tab and newline.
const ANSI = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|[@-_])?/g;
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** Text from the project, safe to print: no escape sequences, no control characters. */
export function cleanText(s: string): string {
  return s.replace(ANSI, '').replace(CONTROL, '');
}

/** A POSIX shell word holding exactly `s` (single quotes; a quote inside is closed and escaped). */
export function shQuote(s: string): string {
  return /^[\w./@+:=-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A YAML scalar holding exactly `s`: plain when it is a plain path, else double-quoted (JSON's syntax is YAML's). */
export function yamlQuote(s: string): string {
  return /^[\w./][\w./:@+-]*$/.test(s) && !s.includes(': ') ? s : JSON.stringify(s);
}

/** A compose value: `$` doubled so compose's interpolation keeps it literal, then YAML-quoted. */
export function composeQuote(s: string): string {
  return yamlQuote(s.replace(/\$/g, '$$$$'));
}
