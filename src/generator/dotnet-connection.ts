/**
 * The connection string compose gives a .NET app (`ConnectionStrings__<Name>`), pointing it
 * at the db on the replicated volume whatever its appsettings say; the app's other keywords
 * (`Cache=Shared`, ...) are kept.
 */
import type { ProjectFacts } from './types.js';

/** Values that go into the compose file unquoted and unescaped (ejs escapes `"'<>&`). */
const PLAIN = /^[\w ./:@+=,-]+$/;

export function dotnetConnectionEnv(
  facts: ProjectFacts,
  containerPath: string,
): { name: string; value: string } | undefined {
  const c = facts.dbConnection;
  if (!c || !/^[\w.-]+$/.test(c.name)) return undefined;
  const options = c.options.filter((o) => PLAIN.test(o));
  return {
    name: `ConnectionStrings__${c.name.replace(/:/g, '__')}`,
    value: [`Data Source=${containerPath}`, ...options].join(';'),
  };
}
