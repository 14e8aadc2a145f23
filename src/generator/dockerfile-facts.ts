/**
 * What the compose file depends on in a Dockerfile of the user's that ls-mix keeps: the final
 * stage's WORKDIR (where a relative db path lands), USER (who must be able to write the db
 * folder, the sidecar included), EXPOSE, and the ENV that sets the port the app listens on.
 * A final stage built `FROM` an earlier stage inherits that stage's settings, as docker does.
 */
import path from 'node:path';
import { DockerfileParser, type Env, type Instruction } from 'dockerfile-ast';

export interface DockerfileFacts {
  workdir?: string;
  /** As written (`node`, `1001`, `app:app`). */
  user?: string;
  /** Numeric uid when USER gives one or names a user the official images define. */
  uid?: number;
  ports: number[];
  /** The final stage's ENV, as the running container sees it (an ARG is gone by then). */
  env: Record<string, string>;
  /** Whether the final stage (or a stage it is built FROM) has a CMD or an ENTRYPOINT. */
  runs: boolean;
  /** The image the final stage's chain starts from (`node:22-alpine`). */
  image?: string;
}

/**
 * What a container of an official base image runs when the Dockerfile sets no CMD or
 * ENTRYPOINT: never an app. Other images (a base of the user's) may start one themselves.
 */
export function baseImageDefault(image: string | undefined): string | undefined {
  if (!image) return undefined;
  const name = image.replace(/^(docker\.io\/)?(library\/)?/, '').split(/[:@]/)[0];
  if (name === 'node') return 'node with no script: a REPL that exits at once';
  if (['debian', 'ubuntu'].includes(name)) return 'bash, which exits at once';
  if (name === 'alpine') return '/bin/sh, which exits at once';
  // dockerfile-ast names mcr.microsoft.com/dotnet/aspnet without its registry.
  if (/^(mcr\.microsoft\.com\/)?dotnet\//.test(name))
    return 'no command at all: the container does not start';
  return undefined;
}

/** Users the official base images define, with their uid (node: the node images; app: .NET's). */
const KNOWN_USERS: Record<string, number> = { root: 0, node: 1000, app: 1654 };
/** System users of the two families the official images build on: Debian and Alpine differ. */
const DEBIAN_USERS: Record<string, number> = { daemon: 1, 'www-data': 33, nobody: 65534 };
const ALPINE_USERS: Record<string, number> = { daemon: 2, 'www-data': 82, nobody: 65534 };

/** The users a base image defines, by its family (an Alpine tag, else the Debian-based official images). */
function usersOf(image: string | undefined): Record<string, number> {
  if (!image) return KNOWN_USERS;
  if (/(^|[:/-])alpine/.test(image)) return { ...KNOWN_USERS, ...ALPINE_USERS };
  if (
    /^(docker\.io\/)?(library\/)?(node|debian|ubuntu|python)(:|$)|^mcr\.microsoft\.com\/dotnet\//.test(image)
  )
    return { ...KNOWN_USERS, ...DEBIAN_USERS };
  return KNOWN_USERS;
}

/** The env vars that set the port an app listens on, by runtime, and how to read each. */
const PORT_VARS: Record<'node' | 'dotnet', Array<[string, (v: string) => string | undefined]>> = {
  node: [['PORT', (v) => v]],
  // ASP.NET reads env vars after appsettings*.json: these win over its "Urls".
  dotnet: [
    ['ASPNETCORE_HTTP_PORTS', (v) => v.split(/[;,]/)[0]],
    ['ASPNETCORE_URLS', (v) => /^https?:\/\/[^;]*?:(\d+)/.exec(v)?.[1]],
  ],
};

/** The port the Dockerfile's ENV makes the app listen on, with the variable that sets it. */
export function dockerfileEnvPort(
  facts: DockerfileFacts,
  runtime: 'node' | 'dotnet',
): { name: string; port: number } | undefined {
  for (const [name, read] of PORT_VARS[runtime]) {
    const raw = facts.env[name];
    const port = raw === undefined ? Number.NaN : Number(read(raw.trim()));
    if (Number.isInteger(port) && port > 0 && port < 65536) return { name, port };
  }
  return undefined;
}

/**
 * The instructions of the final stage, after those of the earlier stages it is built FROM, and
 * the image that chain starts from (`node:22-alpine`).
 */
function finalStage(text: string): { body: Instruction[]; image?: string } {
  const doc = DockerfileParser.parse(text);
  const froms = doc.getFROMs();
  const all = doc.getInstructions();
  const stages = froms.map((from, i) => ({
    name: from.getBuildStage()?.toLowerCase(),
    image: from.getImageName()?.toLowerCase(),
    tag: from.getImageTag()?.toLowerCase(),
    body: all.filter((inst) => {
      const line = inst.getRange().start.line;
      return (
        line > from.getRange().start.line &&
        (i + 1 >= froms.length || line < froms[i + 1].getRange().start.line)
      );
    }),
  }));
  const chain = (i: number): { body: Instruction[]; image?: string } => {
    // Only an earlier stage can be a base (a later or unknown name is an image).
    const base = stages.slice(0, i).findLastIndex((s) => s.name !== undefined && s.name === stages[i].image);
    if (base < 0) {
      const { image, tag } = stages[i];
      return { body: stages[i].body, image: image && (tag ? `${image}:${tag}` : image) };
    }
    const up = chain(base);
    return { body: [...up.body, ...stages[i].body], image: up.image };
  };
  return stages.length ? chain(stages.length - 1) : { body: [] };
}

export function readDockerfileFacts(text: string): DockerfileFacts {
  const facts: DockerfileFacts = { ports: [], env: {}, runs: false };
  // The .NET images define APP_UID (1654, their `app` user): `USER $APP_UID` is common.
  const vars = new Map<string, string>([['APP_UID', '1654']]);
  const expand = (s: string) => s.replace(/\$\{?(\w+)\}?/g, (m, v: string) => vars.get(v) ?? m);
  const stage = finalStage(text);
  facts.image = stage.image;
  const users = usersOf(stage.image);
  for (const inst of stage.body) {
    const args = inst.getArgumentsContent()?.trim() ?? '';
    switch (inst.getKeyword()) {
      case 'ENV':
        for (const p of (inst as Env).getProperties()) {
          const value = expand(p.getValue() ?? '');
          vars.set(p.getName(), value);
          facts.env[p.getName()] = value;
        }
        break;
      case 'ARG':
        for (const m of args.matchAll(/(\w+)=("?)([^"\s]*)\2/g)) vars.set(m[1], m[3]);
        break;
      case 'WORKDIR': {
        const dir = expand(args.replace(/^"(.*)"$/, '$1'));
        facts.workdir = path.posix.resolve(facts.workdir ?? '/', dir);
        break;
      }
      case 'USER': {
        facts.user = expand(args);
        const name = facts.user.split(':')[0];
        facts.uid = /^\d+$/.test(name) ? Number(name) : users[name];
        break;
      }
      case 'CMD':
      case 'ENTRYPOINT':
        facts.runs = true;
        break;
      case 'EXPOSE':
        for (const p of expand(args).split(/\s+/)) {
          const n = Number(p.split('/')[0]);
          if (Number.isInteger(n) && n > 0 && n < 65536) facts.ports.push(n);
        }
        break;
    }
  }
  return facts;
}
