/**
 * Merges our docker-compose.yml into one the user already has. The user's text stays byte for
 * byte as it was (formatting, comments, quoting): the YAML Document API finds where their
 * sections end, and our sidecar service (and volume, when one is needed) is spliced in as
 * text, indented like theirs. `unmergeCompose` takes out exactly what was added.
 */
import { type Document, isMap, isSeq, type Node, parseDocument, type YAMLMap } from 'yaml';
import { UserError } from '../../runtime/errors.js';
import type { ComposeFit } from './compose-fit.js';

export interface MergeResult {
  content: string;
  /** What was added, for people (`services.litestream`, `volumes.my-app-data`). */
  added: string[];
  /** What was added, for `remove` (`services/litestream`, `volumes/x`, `mount/app/x:/data`). */
  addedKeys: string[];
  /** Ours that the file already had under the same name: kept as the user wrote them. */
  kept: string[];
}

export function parseUserCompose(existing: string, file: string): Document {
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
  return doc;
}

const keyOf = (item: { key: unknown }) => String((item.key as { value?: unknown })?.value ?? item.key);

/** The lines of `key:` under `section:` in our rendered file (2-space indented), comments included. */
function ourBlock(ours: string, key: string): string[] {
  const lines = ours.split('\n');
  const start = lines.findIndex((l) => l === `  ${key}:` || l.startsWith(`  ${key}: `));
  if (start < 0) return [];
  let end = start + 1;
  while (end < lines.length && (lines[end] === '' || /^ {3,}/.test(lines[end]))) end++;
  while (end > start + 1 && lines[end - 1] === '') end--;
  return lines.slice(start, end);
}

/** Our 2-space levels at the user's indentation unit. */
function reindent(lines: string[], unit: number): string[] {
  return lines.map((l) => {
    const n = /^ */.exec(l)![0].length;
    return ' '.repeat((n / 2) * unit) + l.slice(n);
  });
}

const lineStart = (text: string, off: number) => text.lastIndexOf('\n', off - 1) + 1;
const column = (text: string, off: number) => off - lineStart(text, off);

/** The start of the line after `off`'s line (`off` itself when it starts a line). */
function lineEnd(text: string, off: number): number {
  if (off === 0 || text[off - 1] === '\n') return off;
  const nl = text.indexOf('\n', off);
  return nl < 0 ? text.length : nl + 1;
}

/** Where text appended after a block node goes: the start of the line after its content. */
function endOf(text: string, node: Node | null | undefined, fallback = text.length): number {
  return lineEnd(text, node?.range?.[2] ?? fallback);
}

interface Insert {
  at: number;
  text: string;
}

export function mergeCompose(existing: string, ours: string, file: string, fit?: ComposeFit): MergeResult {
  const doc = parseUserCompose(existing, file);
  const generated = parseDocument(ours);
  const result: MergeResult = { content: existing, added: [], addedKeys: [], kept: [] };
  const inserts: Insert[] = [];
  let tail = ''; // whole new sections, appended at the end

  for (const section of ['services', 'volumes', 'networks'] as const) {
    const ourSection = generated.get(section);
    if (!isMap(ourSection)) continue;
    const userSection = doc.get(section, true) as unknown;
    if (userSection !== undefined && userSection !== null && !isMap(userSection)) {
      throw new UserError(`${file}: '${section}' is not a mapping`);
    }
    const map = userSection as YAMLMap | undefined;
    const blocks: string[][] = [];
    for (const item of ourSection.items) {
      const key = keyOf(item);
      // With the user's own app service, our `app` and our named volume are not needed: the
      // sidecar mounts what their app mounts (unless --force adds our volume to their app).
      if (fit && section === 'services' && key === 'app') continue;
      // Our one-shot `migrate` runs our app image on our volume: theirs may differ (see the docs).
      if (fit && section === 'services' && key === 'migrate') continue;
      if (fit && section === 'volumes' && !fit.addMount) continue;
      // The proxy's network is joined by our app service only (theirs gets a note saying how).
      if (fit && section === 'networks') continue;
      if (map?.items.some((i) => keyOf(i) === key)) {
        result.kept.push(`${section}.${key}`);
        continue;
      }
      blocks.push(ourBlock(ours, key));
      result.added.push(`${section}.${key}`);
      result.addedKeys.push(`${section}/${key}`);
    }
    if (blocks.length === 0) continue;
    if (map && map.items.length > 0 && map.flow !== true) {
      const first = map.items[0].key as Node;
      const unit = column(existing, first.range![0]) || 2;
      // A blank line between our service and theirs when they separate theirs so.
      const v0 = map.items[0].value as Node | null;
      const k1 = map.items[1]?.key as Node | undefined;
      const spaced =
        v0?.range && k1?.range ? /\n[ \t]*\n/.test(existing.slice(v0.range[1] - 1, k1.range[0])) : false;
      const at = endOf(existing, map);
      const lead = at === 0 || existing[at - 1] === '\n' ? '' : '\n';
      const body = blocks.map((b) => reindent(b, unit).join('\n')).join(spaced ? '\n\n' : '\n');
      inserts.push({ at, text: `${lead}${spaced ? '\n' : ''}${body}\n` });
    } else if (map) {
      // An empty or flow-style section: rewritten by the Document API (nothing of theirs to keep in it).
      for (const item of ourSection.items)
        if (result.addedKeys.includes(`${section}/${keyOf(item)}`))
          doc.setIn([section, keyOf(item)], item.value);
      return { ...result, content: doc.toString() };
    } else {
      tail += `\n${section}:\n${blocks.map((b) => b.join('\n')).join('\n')}\n`;
      result.addedKeys.push(`section/${section}`);
    }
  }
  if (fit?.addMount) {
    inserts.push(mountInsert(existing, doc, fit.service, fit.addMount));
    result.added.push(`services.${fit.service}.volumes: ${fit.addMount}`);
    result.addedKeys.push(`mount/${fit.service}/${fit.addMount}`);
  }
  if (result.addedKeys.length === 0) return result;
  let text = existing;
  for (const ins of inserts.sort((a, b) => b.at - a.at))
    text = text.slice(0, ins.at) + ins.text + text.slice(ins.at);
  if (tail) text = `${text}${text.endsWith('\n') || text === '' ? '' : '\n'}${tail}`;
  // Their file had no final newline: ours gave it one, which unmerge takes back.
  if (existing !== '' && !existing.endsWith('\n')) result.addedKeys.push('eol/final-newline');
  result.content = text;
  return result;
}

/** A `- mount` line at the end of the app's volumes list, or a new `volumes:` key for it. */
function mountInsert(text: string, doc: Document, service: string, mount: string): Insert {
  const app = doc.getIn(['services', service], true) as YAMLMap | undefined;
  const vols = doc.getIn(['services', service, 'volumes'], true) as Node | undefined;
  if (isSeq(vols) && !vols.flow && vols.items.length > 0) {
    const firstItem = vols.items[0] as Node;
    const start = lineStart(text, firstItem.range![0]);
    const indent = /^[ \t]*/.exec(text.slice(start))![0];
    const at = endOf(text, vols);
    return { at, text: `${text[at - 1] === '\n' ? '' : '\n'}${indent}- ${JSON.stringify(mount)}\n` };
  }
  if (!app || !isMap(app) || app.items.length === 0 || vols !== undefined) {
    throw new UserError(`Cannot add the volume mount ${mount} to the '${service}' service as text`, {
      hint: `Add \`- ${mount}\` to its volumes yourself, then run again without --force.`,
    });
  }
  const keyIndent = ' '.repeat(column(text, (app.items[0].key as Node).range![0]));
  const at = endOf(text, app);
  return {
    at,
    text: `${text[at - 1] === '\n' ? '' : '\n'}${keyIndent}volumes:\n${keyIndent}  - ${JSON.stringify(mount)}\n`,
  };
}

/** Takes out what `mergeCompose` added (and is still there), keeping every other byte as is. */
export function unmergeCompose(text: string, addedKeys: string[], file: string): string {
  const cuts: [number, number][] = [];
  const doc = parseUserCompose(text, file);
  const cutLines = (from: number, to: number) => {
    let start = lineStart(text, from);
    // The blank line put before the block goes with it.
    if (text.slice(0, start).endsWith('\n\n')) start -= 1;
    cuts.push([start, to]);
  };
  for (const entry of addedKeys) {
    const [kind, name, ...rest] = entry.split('/');
    if (kind === 'section' || kind === 'eol') continue;
    if (kind === 'mount') {
      const spec = rest.join('/');
      const vols = doc.getIn(['services', name, 'volumes'], true);
      if (!isSeq(vols)) continue;
      const item = vols.items.find((it) => (it as { value?: unknown }).value === spec) as Node | undefined;
      if (!item?.range) continue;
      if (vols.items.length === 1) {
        const pair = (doc.getIn(['services', name], true) as YAMLMap).items.find(
          (i) => keyOf(i) === 'volumes',
        )!;
        cuts.push([lineStart(text, (pair.key as Node).range![0]), endOf(text, vols)]);
      } else cuts.push([lineStart(text, item.range[0]), endOf(text, item)]);
      continue;
    }
    const section = doc.get(kind, true);
    if (!isMap(section)) continue;
    const pair = section.items.find((i) => keyOf(i) === name);
    if (!pair) continue;
    const key = pair.key as Node;
    const only = section.items.length === 1 && addedKeys.includes(`section/${kind}`);
    const top = (doc.contents as YAMLMap).items.find((i) => keyOf(i) === kind);
    if (only && top) cutLines((top.key as Node).range![0], endOf(text, section));
    else cutLines(key.range![0], endOf(text, pair.value as Node | null, key.range![1]));
  }
  let out = text;
  for (const [a, b] of cuts.sort((x, y) => y[0] - x[0])) out = out.slice(0, a) + out.slice(b);
  if (addedKeys.includes('eol/final-newline') && out.endsWith('\n')) out = out.slice(0, -1);
  return out;
}
