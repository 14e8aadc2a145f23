/**
 * The host conventions of ServiceStack's deployments: nginx-proxy + acme-companion on an
 * external docker network (`nginx`) route each app's VIRTUAL_HOST to it, so several apps share
 * one host and none publishes a host port. `--proxy-network` names that network (`none` or
 * `--no-proxy` turns it off: the app then publishes port 80 itself), `--host-port` publishes
 * one anyway.
 */
import { isMap, parseDocument } from 'yaml';
import { UserError } from '../../runtime/errors.js';
import { cleanText } from './text.js';
import type { Fact, Overrides } from './types.js';

export const DEFAULT_PROXY_NETWORK = 'nginx';
/** The host port the app publishes when no proxy fronts it (as before the proxy conventions). */
export const DEFAULT_HOST_PORT = '80';

export interface ProxySettings {
  /** The external network nginx-proxy watches; undefined: no proxy. */
  network: Fact<string | undefined>;
  /** What the app publishes on the host (`8080`, `127.0.0.1:8080`); undefined: nothing. */
  hostPort?: string;
}

/** Docker's own rule for network names. */
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
const HOST_PORT = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d{1,5})$/;

export function proxySettings(o: Overrides): ProxySettings {
  const given = o.proxyNetwork;
  if (given !== undefined && given !== 'none' && !NETWORK_NAME.test(given)) {
    throw new UserError(`--proxy-network '${cleanText(given)}' is not a docker network name`, {
      hint: 'Use letters, digits and _ . - (starting with a letter or digit), e.g. --proxy-network nginx; --no-proxy (or --proxy-network none) deploys without a proxy.',
    });
  }
  const hostPort = o.hostPort === undefined ? undefined : String(o.hostPort);
  if (hostPort !== undefined) {
    const m = HOST_PORT.exec(hostPort);
    const port = m ? Number(m[2]) : 0;
    const ipOk = !m?.[1] || m[1].split('.').every((n) => Number(n) <= 255);
    if (!m || port < 1 || port > 65535 || !ipOk) {
      throw new UserError(`--host-port '${cleanText(hostPort)}' is not a host port`, {
        hint: 'Give a port (--host-port 8080) or an address and port (--host-port 127.0.0.1:8080).',
      });
    }
  }
  const network: Fact<string | undefined> =
    given === undefined
      ? { value: DEFAULT_PROXY_NETWORK, source: 'default', from: "ServiceStack's nginx-proxy network" }
      : { value: given === 'none' ? undefined : given, source: 'flag', from: '--proxy-network' };
  return { network, hostPort: hostPort ?? (network.value ? undefined : DEFAULT_HOST_PORT) };
}

/**
 * A compose file of the user's keeps its own app service as they wrote it: when that service is
 * not on the proxy's network, say exactly what to add (nginx-proxy cannot reach it otherwise).
 */
export function userComposeProxyNote(
  file: string,
  text: string,
  service: string,
  network: string | undefined,
): string | undefined {
  if (!network) return undefined;
  const doc = parseDocument(text);
  if (doc.errors.length > 0 || !isMap(doc.contents)) return undefined;
  const js = doc.toJS() as {
    networks?: Record<string, { name?: string; external?: unknown } | null>;
    services?: Record<string, { networks?: unknown; ports?: unknown } | null>;
  };
  const keys = Object.entries(js.networks ?? {})
    .filter(([key, n]) => (n?.name ?? key) === network && n?.external)
    .map(([key]) => key);
  const app = js.services?.[service] ?? {};
  const joined = Array.isArray(app.networks)
    ? app.networks.map(String)
    : app.networks && typeof app.networks === 'object'
      ? Object.keys(app.networks)
      : [];
  if (keys.some((k) => joined.includes(k))) return undefined;
  const s = cleanText(service);
  const ports = Array.isArray(app.ports) && app.ports.length > 0;
  return (
    `${file}: your '${s}' service is not on the proxy's network '${network}', so nginx-proxy cannot route HOST_DOMAIN to it: ` +
    `give '${s}' \`networks: [default, proxy]\` and the file a top-level \`networks: { proxy: { external: true, name: ${network} } }\`` +
    `${ports ? `, and drop its published ports (the proxy owns :80 and :443)` : ''}; or run with --no-proxy.`
  );
}
