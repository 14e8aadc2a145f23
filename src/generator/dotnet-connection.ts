/**
 * The connection string compose gives a .NET app (`ConnectionStrings__<Name>`), pointing it
 * at the db on the replicated volume whatever its appsettings say; the app's other keywords
 * (`Cache=Shared`, ...) are kept.
 */
import type { ProjectFacts } from './types.js';

/**
 * Values that go into the compose file unquoted and unescaped (ejs escapes `"'<>&`, `#` starts
 * a YAML comment); `?` for a URL's options.
 */
export const PLAIN_COMPOSE_VALUE = /^[\w ./:@+=,?-]+$/;

/** The env var ASP.NET reads a connection string from (`ConnectionStrings__Default`). */
export function connectionStringEnvName(name: string): string {
  return `ConnectionStrings__${name.replace(/:/g, '__')}`;
}

export function dotnetConnectionEnv(
  facts: ProjectFacts,
  containerPath: string,
): { name: string; value: string } | undefined {
  const c = facts.dbConnection;
  if (!c || !/^[\w.-]+$/.test(c.name)) return undefined;
  const options = c.options.filter((o) => PLAIN_COMPOSE_VALUE.test(o));
  return {
    name: connectionStringEnvName(c.name),
    value: [`Data Source=${containerPath}`, ...options].join(';'),
  };
}
