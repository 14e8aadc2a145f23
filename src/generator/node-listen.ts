/**
 * An app server that listens on the loopback interface only: in a container nothing outside it
 * (nginx-proxy, a published port) can reach it, so every request fails after a "successful"
 * deploy. Found from the `.listen(...)` calls of the app's sources, only when certain: an
 * explicit `localhost` / `127.0.0.1` / `::1` host, or a Fastify instance created in the same
 * file and listening without a host (Fastify's default is localhost).
 */
import type { Node } from '@babel/types';
import { importsOf, lineOf, type ParsedSource, parseSource, requiredModule, walk } from './js-ast.js';
import { Evaluator, objectProperty, unwrap } from './js-eval.js';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1']);

/** `file:line` and why, for the first such call; undefined when none is certain. */
export function loopbackListen(sources: Array<{ file: string; text: string }>): string | undefined {
  for (const { file, text } of sources) {
    if (!text.includes('.listen(')) continue;
    const { program } = parseSource(file, text);
    if (!program) continue;
    const instances = fastifyInstances(program, fastifyFactories(program));
    for (const node of walk(program)) {
      if (node.type !== 'CallExpression') continue;
      const callee = node.callee;
      if (callee.type !== 'MemberExpression' || callee.property.type !== 'Identifier') continue;
      if (callee.property.name !== 'listen') continue;
      const [first, second] = node.arguments as Node[];
      const where = `${file}:${lineOf(node)}`;
      const host = first?.type === 'ObjectExpression' ? objectProperty(first, 'host') : second;
      if (host?.type === 'StringLiteral' && LOOPBACK.has(host.value))
        return `${where} listens on ${host.value}`;
      // listen({ port }) / listen(port) / listen(port, callback): no host given.
      const noHost =
        host === undefined || host.type === 'ArrowFunctionExpression' || host.type === 'FunctionExpression';
      const isFastify = callee.object.type === 'Identifier' && instances.has(callee.object.name);
      if (isFastify && noHost) return `${where}: Fastify listens on localhost when given no host`;
    }
  }
  return undefined;
}

/** Local names bound to Fastify's factory (`import Fastify from 'fastify'`, `require('fastify')`). */
function fastifyFactories(program: Node): Set<string> {
  const names = new Set<string>();
  for (const [local, b] of importsOf(program)) {
    if (
      b.module === 'fastify' &&
      (b.imported === 'default' || b.imported === '*' || b.imported === 'fastify')
    )
      names.add(local);
  }
  return names;
}

/** Variables holding an instance made here: `const app = Fastify(...)`, `require('fastify')(...)`. */
function fastifyInstances(program: Node, factories: Set<string>): Set<string> {
  const out = new Set<string>();
  for (const n of walk(program)) {
    if (n.type !== 'VariableDeclarator' || n.id.type !== 'Identifier') continue;
    let init = n.init;
    if (init?.type === 'AwaitExpression') init = init.argument;
    if (init?.type !== 'CallExpression') continue;
    const c = init.callee;
    if ((c.type === 'Identifier' && factories.has(c.name)) || requiredModule(c) === 'fastify')
      out.add(n.id.name);
  }
  return out;
}

/** The port a `.listen(...)` call of the app is given, and the env var it reads first, if any. */
export interface ListenPort {
  port: number;
  envVar?: string;
  /** `file:line` of the call. */
  where: string;
}

/**
 * The port of the first `.listen(port, ...)` / `.listen({ port })` whose value is known: a number,
 * or an env var with a numeric fallback (`process.env.port || 8080`, `Number(process.env.PORT ??
 * 3000)`, `const { PORT = 3000 } = process.env`), followed through constants, object properties
 * and imports of the app's own modules. A port read from the env with no fallback is not known.
 */
export function listenPort(sources: Array<{ file: string; text: string }>): ListenPort | undefined {
  const texts = new Map(sources.map((s) => [s.file, s.text]));
  const parsed = new Map<string, ParsedSource>();
  const load = (file: string): ParsedSource | undefined => {
    const text = texts.get(file);
    if (text === undefined) return undefined;
    let src = parsed.get(file);
    if (!src) {
      src = parseSource(file, text);
      parsed.set(file, src);
    }
    return src;
  };
  const ev = new Evaluator(load);
  for (const { file, text } of sources) {
    if (!text.includes('.listen(')) continue;
    const src = load(file);
    if (!src?.program) continue;
    for (const node of walk(src.program)) {
      if (node.type !== 'CallExpression') continue;
      const callee = node.callee;
      if (callee.type !== 'MemberExpression' || callee.property.type !== 'Identifier') continue;
      if (callee.property.name !== 'listen') continue;
      const first = node.arguments[0] as Node | undefined;
      const arg = first?.type === 'ObjectExpression' ? objectProperty(first, 'port') : first;
      const found = arg && portOf(src, arg, ev, 0);
      if (found) return { ...found, where: `${file}:${lineOf(node)}` };
    }
  }
  return undefined;
}

const MAX_DEPTH = 8;

function portOf(
  src: ParsedSource,
  node: Node,
  ev: Evaluator,
  depth: number,
): { port: number; envVar?: string } | undefined {
  if (depth > MAX_DEPTH) return undefined;
  const n = unwrap(node);
  switch (n.type) {
    case 'NumericLiteral':
      return validPort(n.value);
    case 'StringLiteral':
      return /^\d+$/.test(n.value) ? validPort(Number(n.value)) : undefined;
    case 'LogicalExpression': {
      if (n.operator === '&&') return undefined;
      const envVar = envRead(src, n.left as Node, ev);
      const fallback = portOf(src, n.right, ev, depth + 1);
      return envVar && fallback && fallback.envVar === undefined ? { ...fallback, envVar } : undefined;
    }
    case 'CallExpression':
    case 'UnaryExpression': {
      const inner = numberCast(n);
      return inner ? portOf(src, inner, ev, depth + 1) : undefined;
    }
    case 'Identifier':
    case 'MemberExpression': {
      const d = ev.deref(src, n);
      if (d) return portOf(d.src, d.node, ev, depth + 1);
      if (n.type !== 'Identifier') return undefined;
      // const { PORT = 3000 } = process.env, here or in the module it is imported from.
      const from = ev.importedFrom(src, n.name);
      return from ? envDefault(from.src, from.imported, ev) : envDefault(src, n.name, ev);
    }
    default:
      return undefined;
  }
}

/** The env var a value reads, through `Number(...)`, `parseInt(..., 10)` or unary `+`. */
function envRead(src: ParsedSource, node: Node, ev: Evaluator): string | undefined {
  let n = unwrap(node);
  for (let cast = numberCast(n); cast; cast = numberCast(n)) n = unwrap(cast);
  return ev.envVar(src, n);
}

/** The operand of `Number(x)`, `parseInt(x, ...)`, `parseFloat(x)` or `+x`. */
function numberCast(n: Node): Node | undefined {
  if (n.type === 'UnaryExpression') return n.operator === '+' ? n.argument : undefined;
  if (n.type !== 'CallExpression' || n.callee.type !== 'Identifier') return undefined;
  if (!['Number', 'parseInt', 'parseFloat'].includes(n.callee.name)) return undefined;
  return n.arguments[0] as Node | undefined;
}

/** `const { NAME = 3000 } = process.env` (also `{ PORT: NAME = 3000 }`): the default, and the var. */
function envDefault(
  src: ParsedSource,
  name: string,
  ev: Evaluator,
): { port: number; envVar: string } | undefined {
  for (const n of walk(src.program)) {
    if (n.type !== 'VariableDeclarator' || n.id.type !== 'ObjectPattern' || !n.init) continue;
    if (!isEnvObject(src, n.init, ev)) continue;
    for (const p of n.id.properties) {
      if (p.type !== 'ObjectProperty' || p.key.type !== 'Identifier') continue;
      const v = p.value;
      if (v.type !== 'AssignmentPattern' || v.left.type !== 'Identifier' || v.left.name !== name) continue;
      const fallback = portOf(src, v.right, ev, MAX_DEPTH - 1);
      return fallback ? { port: fallback.port, envVar: p.key.name } : undefined;
    }
  }
  return undefined;
}

/**
 * `process.env` / `Bun.env` / an `env` bound to it: asked as "would `<node>.PORT` be an env read?",
 * so every spelling the db detection knows counts here too.
 */
function isEnvObject(src: ParsedSource, node: Node, ev: Evaluator): boolean {
  const probe: Node = {
    type: 'MemberExpression',
    object: node,
    property: { type: 'Identifier', name: 'PORT' },
    computed: false,
  } as Node;
  return ev.envVar(src, probe) === 'PORT';
}

function validPort(n: number): { port: number } | undefined {
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? { port: n } : undefined;
}
