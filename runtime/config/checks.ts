/**
 * Checks of single config values that can be made at load time, so a typo fails at start with
 * file:line:key instead of hours later (or, for an age identity, after a new generation). Each
 * returns a problem description (never containing the value when it may be a secret) or
 * undefined.
 */
import { bech32 } from '@scure/base';

function bech32Problem(key: string, prefix: string): string | undefined {
  try {
    const { prefix: p } = bech32.decode(key.toLowerCase() as `${string}1${string}`, false);
    return p === prefix ? undefined : `starts with "${p}1", expected "${prefix}1"`;
  } catch {
    return 'a wrong character, or a typo or truncation its checksum catches';
  }
}

/** An age X25519 recipient (age1...). Recipients are public: the value may be shown. */
export function ageRecipientProblem(r: string): string | undefined {
  if (!/^age1[0-9a-z]+$/.test(r)) return `"${r}" is not an age recipient (age1...)`;
  const p = bech32Problem(r, 'age');
  return p && `"${r}" is not a valid age recipient (${p})`;
}

/** An age X25519 identity (AGE-SECRET-KEY-1...). Secret: never echoed. */
export function ageIdentityProblem(id: string): string | undefined {
  if (!/^AGE-SECRET-KEY-1[0-9A-Z]+$/.test(id)) return 'is not an age identity (AGE-SECRET-KEY-1...)';
  const p = bech32Problem(id, 'age-secret-key-');
  return p && 'is not a valid age identity (its checksum does not match: a typo or a truncated key)';
}

/** An http(s) URL with a host (s3/abs endpoints, upstream urls). */
export function httpUrlProblem(u: string): string | undefined {
  let url: URL;
  try {
    url = new URL(u);
  } catch {
    return `"${u}" is not a URL (expected http://HOST[:PORT] or https://HOST[:PORT])`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return `"${u}" must be an http:// or https:// URL`;
  if (!url.hostname) return `"${u}" has no host`;
  if (url.username || url.password) return 'must not hold credentials (use the key/secret settings)';
  return undefined;
}

/** Standard base64 (an Azure account key). Secret: never echoed. */
export function base64Problem(s: string): string | undefined {
  const t = s.trim();
  if (t.length === 0 || t.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(t))
    return 'is not base64 (copy the key from the storage account\'s "Access keys" page)';
  return undefined;
}
