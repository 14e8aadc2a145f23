import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { UserError } from '../../runtime/errors.js';

/** The file at a template's root that describes it; never copied into the new project. */
export const MANIFEST_FILE = 'ls-mix-template.yml';

const manifestSchema = z
  .object({
    name: z.string().min(1).optional(),
    summary: z.string().optional(),
    /** The project shape the generator knows (`web`, `node`, `blazor-server`, `vue-vite`, ...). */
    variant: z.string().min(1).optional(),
    /** Port the app listens on inside its container. */
    port: z.number().int().min(1).max(65535).optional(),
    /** SQLite database path the app uses, relative to its working directory. */
    dbPath: z.string().min(1).optional(),
    /** npm, yarn or pnpm, for a template without a lockfile. */
    packageManager: z.enum(['npm', 'yarn', 'pnpm']).optional(),
    /**
     * Folders copied before this template's own files (built-in templates only): a path
     * relative to templates/projects, or `{from, to}` to copy it into a subfolder.
     */
    include: z
      .array(
        z.union([z.string().min(1), z.object({ from: z.string().min(1), to: z.string().min(1) }).strict()]),
      )
      .optional(),
    /** Commands printed as next steps. */
    steps: z
      .object({
        install: z.string().optional(),
        run: z.string().optional(),
        test: z.string().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type TemplateManifest = z.infer<typeof manifestSchema>;

/** Reads `ls-mix-template.yml` from a template folder; a template without one gets `{}`. */
export function readManifest(templateDir: string): TemplateManifest {
  const file = join(templateDir, MANIFEST_FILE);
  if (!existsSync(file)) return {};
  const doc = parseDocument(readFileSync(file, 'utf8'));
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    throw new UserError(
      `${file}:${e.linePos?.[0].line ?? '?'}: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`,
    );
  }
  const parsed = manifestSchema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key =
      issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : '(root)');
    throw new UserError(`${file}: key "${key}": ${issue.message}`, {
      hint: 'Known keys: name, summary, variant, port, dbPath, packageManager, include, steps {install, run, test}.',
    });
  }
  return parsed.data;
}
