/**
 * What the compose file depends on in a Dockerfile of the user's that ls-mix keeps: the final
 * stage's WORKDIR (where a relative db path lands), USER (who must be able to write the db
 * folder, the sidecar included) and EXPOSE (the port the app listens on).
 */
import path from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';

export interface DockerfileFacts {
  workdir?: string;
  /** As written (`node`, `1001`, `app:app`). */
  user?: string;
  /** Numeric uid when USER gives one or names a user the official images define. */
  uid?: number;
  ports: number[];
}

/** Users the official base images define, with their uid. */
const KNOWN_USERS: Record<string, number> = { root: 0, node: 1000, app: 1654 };

export function readDockerfileFacts(text: string): DockerfileFacts {
  const doc = DockerfileParser.parse(text);
  const froms = doc.getFROMs();
  const lastFrom = froms.length ? froms[froms.length - 1].getRange().start.line : -1;
  const facts: DockerfileFacts = { ports: [] };
  // The .NET images define APP_UID (1654, their `app` user): `USER $APP_UID` is common.
  const env = new Map<string, string>([['APP_UID', '1654']]);
  const expand = (s: string) => s.replace(/\$\{?(\w+)\}?/g, (m, v: string) => env.get(v) ?? m);
  for (const inst of doc.getInstructions()) {
    if (inst.getRange().start.line < lastFrom) continue; // an earlier build stage
    const args = inst.getArgumentsContent()?.trim() ?? '';
    switch (inst.getKeyword()) {
      case 'ENV':
      case 'ARG':
        for (const m of args.matchAll(/(\w+)[= ]"?([^"\s]*)"?/g)) env.set(m[1], m[2]);
        break;
      case 'WORKDIR': {
        const dir = expand(args.replace(/^"(.*)"$/, '$1'));
        facts.workdir = path.posix.resolve(facts.workdir ?? '/', dir);
        break;
      }
      case 'USER': {
        facts.user = expand(args);
        const name = facts.user.split(':')[0];
        facts.uid = /^\d+$/.test(name) ? Number(name) : KNOWN_USERS[name];
        break;
      }
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
