import { UserError } from '../errors.js';

/** Go's `host:port` listen syntax: ":9090" is every interface, "127.0.0.1:9090" only that one. */
export function parseAddr(addr: string): { host?: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) {
    throw new UserError(`addr "${addr}": expected HOST:PORT or :PORT`, {
      hint: 'For example addr: ":9090" (all interfaces) or addr: "127.0.0.1:9090" (this machine only).',
    });
  }
  const host = m[1] ?? m[2];
  return { host: host === '' ? undefined : host, port };
}
