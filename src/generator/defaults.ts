/**
 * The runtimes the generated files use when a project declares none: the newest LTS lines, in
 * one place (docs/generator.md lists them). Supported lines only: Node 20 reached end of life in
 * April 2026; Node 26 became the newest LTS line in October 2026 (26.x on the npm `node` package,
 * checked 2026-12-03); .NET 10.0 is the current LTS (8.0 went out of support on 2026-11-10).
 */
export const RUNTIME_DEFAULTS = {
  node: { version: '26', why: 'newest Node LTS line' },
  dotnet: { version: '10.0', why: 'current .NET LTS line' },
} as const;

/** Node: the version the Node Dockerfiles use when package.json / .nvmrc say nothing. */
export const DEFAULT_NODE_VERSION: string = RUNTIME_DEFAULTS.node.version;

/**
 * The replication sidecar's Node: the newest line ls-mix itself supports and is built for
 * (Node 20, 22 and 24; package.json engines), not the app's.
 */
export const SIDECAR_NODE_VERSION = '24';

/** .NET: the SDK / ASP.NET image line when no csproj, Directory.Build.props or global.json says. */
export const DEFAULT_DOTNET_VERSION: string = RUNTIME_DEFAULTS.dotnet.version;

/**
 * The last day Microsoft supports each .NET line (dotnet.microsoft.com/platform/support/policy).
 * A project on a line past its date still gets its own images, with a note saying so.
 */
export const DOTNET_END_OF_SUPPORT: Readonly<Record<string, string>> = {
  '5.0': '2022-05-10',
  '6.0': '2024-11-12',
  '7.0': '2024-05-14',
  '8.0': '2026-11-10',
  '9.0': '2026-11-10',
  '10.0': '2028-11-14',
};

/**
 * The reverse proxy of ServiceStack-style hosts (.deploy/nginx-proxy-compose.yml), pinned: a
 * moved `latest` must not change a running host's proxy. Both tags are published ones, found in
 * use in public compose files (2026-12); no registry is reachable from this machine to list
 * newer ones, so check Docker Hub before raising them.
 */
export const PROXY_IMAGES = {
  nginxProxy: 'nginxproxy/nginx-proxy:1.7.1',
  acmeCompanion: 'nginxproxy/acme-companion:2.6.1',
} as const;
