import { UserError } from '../../runtime/errors.js';
import { nameForms } from '../generator/index.js';

/**
 * The five spellings of a project name that templates (and mixes) use as placeholders.
 * Templates are written for the name "MyApp"; each spelling is replaced by the same spelling
 * of the user's name.
 */
export interface ProjectNames {
  /** As typed (trimmed). */
  raw: string;
  /** `MyApp`: .NET project, assembly and namespace names. */
  pascal: string;
  /** `my-app`: npm package name, container and compose service names. */
  kebab: string;
  /** `myapp`: identifiers that allow no separator (hostnames, db users). */
  lower: string;
  /** `my_app`: snake case identifiers. */
  snake: string;
  /** `My App`: page titles and prose. */
  title: string;
}

const MAX_LENGTH = 100;

// Windows device names can't be file or folder names on Windows, whatever the extension.
const WINDOWS_DEVICE_NAMES = new Set([
  'con',
  'prn',
  'aux',
  'nul',
  ...Array.from({ length: 9 }, (_, i) => `com${i + 1}`),
  ...Array.from({ length: 9 }, (_, i) => `lpt${i + 1}`),
]);

// Names that break the generated project itself: npm's own folder, and .NET root namespaces
// (a project named System shadows the framework's System namespace and stops compiling).
const RESERVED_NAMES = new Set(['node_modules', 'favicon.ico', 'system', 'microsoft', 'aspnetcore']);

/**
 * Derives every placeholder spelling from a (valid) project name with the generator's own
 * rule, so the template's files and the mix's files spell the name the same way
 * (`HTTP server` -> `HttpServer`, `http-server`).
 */
export function projectNames(name: string): ProjectNames {
  const raw = name.trim();
  return { raw, ...nameForms(raw) };
}

/** The folder a project gets by default: the name as typed, or its PascalCase form if it has spaces. */
export function defaultFolderName(names: ProjectNames): string {
  return /\s/.test(names.raw) ? names.pascal : names.raw;
}

/** Names the chosen template can't take (see reserved.ts). */
export interface TemplateReservedNames {
  /** Its npm dependencies: npm refuses to install `express` into a package named `express`. */
  dependencies?: readonly string[];
  /** Its C# / Razor types: a namespace `App` hides the type `App` and the build fails. */
  typeNames?: readonly string[];
}

/** Checks a project name and throws a UserError naming the rule it broke. */
export function validateProjectName(name: string, reserved: TemplateReservedNames = {}): ProjectNames {
  const trimmed = name.trim();
  const fail = (rule: string, hint?: string): never => {
    throw new UserError(`Invalid project name "${name}": ${rule}.`, {
      hint: hint ?? 'Use a name such as MyApp, my-app or "My App".',
    });
  };
  if (trimmed.length === 0) fail('it is empty (or only spaces)');
  if (/[/\\]/.test(trimmed)) {
    fail(
      'it must not contain a path separator (/ or \\)',
      'Give a plain name; use --output to choose the folder.',
    );
  }
  if (trimmed.length > MAX_LENGTH) fail(`it is longer than ${MAX_LENGTH} characters`);
  if (!/^[A-Za-z]/.test(trimmed)) fail('it must start with a letter (A-Z or a-z)');
  const bad = trimmed.match(/[^A-Za-z0-9 ._-]/);
  if (bad) fail(`it may only contain letters, digits, spaces, '-', '_' and '.' (found '${bad[0]}')`);
  if (!/[A-Za-z0-9]$/.test(trimmed)) fail('it must end with a letter or a digit');

  const names = projectNames(trimmed);
  const forms = new Set([trimmed.toLowerCase(), names.kebab, names.lower, names.snake]);
  for (const form of forms) {
    if (WINDOWS_DEVICE_NAMES.has(form)) fail(`"${form}" is a reserved device name on Windows`);
    if (RESERVED_NAMES.has(form)) fail(`"${form}" is a reserved name (it would break the generated project)`);
    if (reserved.dependencies?.includes(form)) {
      fail(`"${form}" is the name of one of the template's own dependencies (npm refuses to install it)`);
    }
  }
  if (reserved.typeNames?.includes(names.pascal)) {
    fail(
      `"${names.pascal}" is the name of a type in the template (the namespace ${names.pascal} would hide it)`,
    );
  }
  return names;
}
