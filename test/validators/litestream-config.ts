/**
 * litestream.yml checks: no credential is written literally (each must be a ${VAR}
 * reference), and the file loads with the runtime's own config loader.
 */
import { parse } from 'yaml';
import { parseConfig } from '../../runtime/config/index.js';
import type { Config } from '../../runtime/config/types.js';

const CREDENTIAL_KEYS = [
  'access-key-id',
  'secret-access-key',
  'account-key',
  'password',
  'key-path',
  'passphrase',
];
const ENV_REF = /^\$\{[A-Z][A-Z0-9_]*\}$/;

/** Credential keys whose value is not a ${VAR} reference (anywhere in the file). */
export function literalSecrets(yamlText: string): string[] {
  const found: string[] = [];
  const walk = (node: unknown, at: string): void => {
    if (Array.isArray(node)) {
      for (const [i, v] of node.entries()) walk(v, `${at}[${i}]`);
    } else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (CREDENTIAL_KEYS.includes(k) && !(typeof v === 'string' && ENV_REF.test(v)))
          found.push(`${at}.${k}`);
        walk(v, `${at}.${k}`);
      }
    }
  };
  walk(parse(yamlText), '');
  return found;
}

/** Every ${VAR} the file references. */
export function envRefs(yamlText: string): string[] {
  return [...new Set([...yamlText.matchAll(/\$\{([A-Z][A-Z0-9_]*)\}/g)].map((m) => m[1]))].sort();
}

/** A dummy value of the shape the loader checks for (ports are numbers, account keys base64). */
function dummyValue(name: string): string {
  if (name.endsWith('PORT')) return '22';
  if (name.endsWith('ACCOUNT_KEY')) return Buffer.from(`dummy-${name.toLowerCase()}`).toString('base64');
  return `dummy-${name.toLowerCase()}`;
}

/** Loads it with the runtime's parser, with dummy values for every referenced variable. */
export function loadWithRuntime(yamlText: string): Config {
  const env = Object.fromEntries(envRefs(yamlText).map((k) => [k, dummyValue(k)]));
  return parseConfig(yamlText, { source: 'litestream.yml', env });
}
