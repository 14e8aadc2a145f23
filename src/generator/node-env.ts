/**
 * The values an app's `.env` files give its env vars (dotenv syntax: `KEY=value`, quotes,
 * `export `, comments). Only used to learn a db path's default: the values are never printed
 * unless they are the path itself, and never written anywhere.
 */
import path from 'node:path';
import { readIfExists } from './fs-util.js';

/** First file that sets a var wins: the app's own `.env`, then the documented examples. */
const ENV_FILES = [
  '.env',
  '.env.production',
  '.env.local',
  '.env.example',
  '.env.sample',
  '.env.template',
  'example.env',
];

export async function readEnvFiles(root: string): Promise<Map<string, { value: string; file: string }>> {
  const out = new Map<string, { value: string; file: string }>();
  for (const file of ENV_FILES) {
    const text = await readIfExists(path.join(root, file));
    if (text === undefined) continue;
    for (const [key, value] of parseDotenv(text)) if (!out.has(key)) out.set(key, { value, file });
  }
  return out;
}

export function parseDotenv(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][\w.]*)\s*=\s*(.*)$/.exec(raw);
    if (!m) continue;
    let v = m[2].trim();
    const q = v[0];
    if ((q === '"' || q === "'" || q === '`') && v.indexOf(q, 1) > 0) v = v.slice(1, v.indexOf(q, 1));
    else v = v.replace(/\s+#.*$/, '');
    if (v !== '') out.set(m[1], v);
  }
  return out;
}
