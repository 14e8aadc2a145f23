/**
 * Database servers an app's dependencies name. ls-mix backs up SQLite only: when no SQLite is
 * found, saying "this app keeps its data in MongoDB" tells the user there is nothing to back up,
 * where the bare "no SQLite found … pass --db-path" invited a backup of a file nobody writes.
 */
import type { PackageJson } from './detect-node.js';

/** Client packages of database servers, by the server they talk to. */
const SERVER_CLIENTS: Record<string, string> = {
  pg: 'PostgreSQL',
  postgres: 'PostgreSQL',
  '@neondatabase/serverless': 'PostgreSQL',
  '@vercel/postgres': 'PostgreSQL',
  mysql: 'MySQL',
  mysql2: 'MySQL',
  mariadb: 'MariaDB',
  mongodb: 'MongoDB',
  mongoose: 'MongoDB',
  mssql: 'SQL Server',
  tedious: 'SQL Server',
  oracledb: 'Oracle',
};

/** "MongoDB (mongoose)" for each server client among the app's runtime dependencies. */
export function serverDatabases(pkg: PackageJson | undefined): string[] {
  return Object.keys(pkg?.dependencies ?? {})
    .filter((dep) => Object.hasOwn(SERVER_CLIENTS, dep))
    .map((dep) => `${SERVER_CLIENTS[dep]} (${dep})`);
}
