/**
 * Merges our docker-compose.yml into one the user already has: missing services and volumes
 * are added, everything of the user's (values, order, comments) is kept.
 */
import { isMap, parseDocument } from 'yaml';
import { UserError } from '../../runtime/errors.js';

export interface MergeResult {
  content: string;
  /** What was added (`services.litestream`, `volumes.my-app-data`). */
  added: string[];
  /** Ours that the file already had under the same name: kept as the user wrote them. */
  kept: string[];
}

export function mergeCompose(existing: string, ours: string, file: string): MergeResult {
  const doc = parseDocument(existing);
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const line = e.linePos?.[0]?.line;
    throw new UserError(`${file}${line ? `:${line}` : ''} is not valid YAML: ${e.message.split('\n')[0]}`, {
      hint: 'Fix it (docker compose cannot read it either), or move it away and run again.',
    });
  }
  if (!isMap(doc.contents) && doc.contents !== null) {
    throw new UserError(`${file} is not a compose file: its top level is not a mapping`);
  }
  const generated = parseDocument(ours);
  const added: string[] = [];
  const kept: string[] = [];
  for (const section of ['services', 'volumes'] as const) {
    const ourSection = generated.get(section);
    if (!isMap(ourSection)) continue;
    const userSection = doc.get(section);
    if (userSection !== undefined && userSection !== null && !isMap(userSection)) {
      throw new UserError(`${file}: '${section}' is not a mapping`);
    }
    for (const item of ourSection.items) {
      const key = String((item.key as { value?: unknown })?.value ?? item.key);
      if (doc.hasIn([section, key])) {
        kept.push(`${section}.${key}`);
        continue;
      }
      if (!isMap(doc.get(section))) doc.set(section, doc.createNode({}));
      doc.setIn([section, key], item.value);
      added.push(`${section}.${key}`);
    }
  }
  return { content: added.length ? doc.toString() : existing, added, kept };
}
