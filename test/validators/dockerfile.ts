/** Dockerfile validator: dockerfile-utils (the linter behind the Docker VS Code extension). */
import { validate } from 'dockerfile-utils';

/** Every diagnostic (errors and warnings) as `line: message`. */
export function dockerfileProblems(text: string): string[] {
  return validate(text).map((d) => `${d.range.start.line + 1}: ${d.message}`);
}
