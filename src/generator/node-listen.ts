/**
 * An app server that listens on the loopback interface only: in a container nothing outside it
 * (nginx-proxy, a published port) can reach it, so every request fails after a "successful"
 * deploy. Found from the `.listen(...)` calls of the app's sources, only when certain: an
 * explicit `localhost` / `127.0.0.1` / `::1` host, or a Fastify instance created in the same
 * file and listening without a host (Fastify's default is localhost).
 */
import type { Node } from '@babel/types';
import { importsOf, lineOf, type ParsedSource, requiredModule, walk } from './js-ast.js';
import { Evaluator, objectProperty, sourceLoader, unwrap } from './js-eval.js';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1']);

/** A `.listen(...)` call of the app with what it is given. */
interface ListenCall {
  src: ParsedSource;
  node: Node & { type: 'CallExpression' };
  /** `file:line` of the call. */
  where: string;
  /** The object `.listen` is called on, when a plain name. */
  on?: string;
  port?: Node;
  /** The host argument: a string, or a callback (no host given), or absent. */
  host?: Node;
}

type Sources = ReadonlyArray<{ file: string; text: string }>;

/** The calls found per list of sources: the port and the loopback check read the same list. */
const found = new WeakMap<Sources, Array<ListenCall & { ev: Evaluator }>>();

/** Every `.listen(...)` call of the sources, entry first, with one evaluator over all of them. */
function listenCalls(sources: Sources): Array<ListenCall & { ev: Evaluator }> {
  let calls = found.get(sources);
  if (!calls) {
    calls = [...findListenCalls(sources)];
    found.set(sources, calls);
  }
  return calls;
}

function* findListenCalls(sources: Sources): Generator<ListenCall & { ev: Evaluator }> {
  const load = sourceLoader(new Map(sources.map((s) => [s.file, s.text])));
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
      const [first, second] = node.arguments as Node[];
      const options = first?.type === 'ObjectExpression';
      yield {
        src,
        node,
        ev,
        where: `${file}:${lineOf(node)}`,
        on: callee.object.type === 'Identifier' ? callee.object.name : undefined,
        port: options ? objectProperty(first, 'port') : first,
        host: options ? objectProperty(first, 'host') : second,
      };
    }
  }
}

/** Why the app listens on the loopback interface only, and the env var that would change it. */
export interface LoopbackListen {
  /** `file:line` and why. */
  reason: string;
  /** The host comes from this env var, with a loopback fallback: setting it to 0.0.0.0 fixes it. */
  envVar?: string;
  host?: string;
}

/** The first `.listen(...)` certain to be on the loopback interface only; undefined when none is. */
export function loopbackListen(sources: Sources): LoopbackListen | undefined {
  let instances: { src: ParsedSource; names: Set<string> } | undefined;
  for (const call of listenCalls(sources)) {
    const { where, host, ev, src } = call;
    const given = host && constantOf(src, host, ev, 0);
    if (given && typeof given.value === 'string' && LOOPBACK.has(given.value)) {
      return given.envVar
        ? {
            reason: `${where} listens on ${given.value} unless ${given.envVar} is set`,
            envVar: given.envVar,
            host: given.value,
          }
        : { reason: `${where} listens on ${given.value}`, host: given.value };
    }
    // listen({ port }) / listen(port) / listen(port, callback): no host given.
    const noHost =
      host === undefined || host.type === 'ArrowFunctionExpression' || host.type === 'FunctionExpression';
    if (instances?.src !== src)
      instances = { src, names: fastifyInstances(src.program, fastifyFactories(src.program)) };
    if (noHost && call.on && instances.names.has(call.on))
      return { reason: `${where}: Fastify listens on localhost when given no host` };
  }
  return undefined;
}

/** Local names bound to Fastify's factory (`import Fastify from 'fastify'`, `require('fastify')`). */
function fastifyFactories(program: Node | undefined): Set<string> {
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
function fastifyInstances(program: Node | undefined, factories: Set<string>): Set<string> {
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
export function listenPort(sources: Sources): ListenPort | undefined {
  for (const { src, port, ev, where } of listenCalls(sources)) {
    const found = port && constantOf(src, port, ev, 0);
    const n =
      typeof found?.value === 'string' && /^\d+$/.test(found.value) ? Number(found.value) : found?.value;
    if (typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535)
      return { port: n, ...(found?.envVar ? { envVar: found.envVar } : {}), where };
  }
  return undefined;
}

const MAX_DEPTH = 8;

/** A constant the app's code gives (a number or a string), or an env var's constant fallback. */
interface Constant {
  value: number | string;
  envVar?: string;
}

function constantOf(src: ParsedSource, node: Node, ev: Evaluator, depth: number): Constant | undefined {
  if (depth > MAX_DEPTH) return undefined;
  const n = unwrap(node);
  switch (n.type) {
    case 'NumericLiteral':
    case 'StringLiteral':
      return { value: n.value };
    case 'LogicalExpression': {
      if (n.operator === '&&') return undefined;
      const envVar = envRead(src, n.left as Node, ev);
      const fallback = constantOf(src, n.right, ev, depth + 1);
      return envVar && fallback && fallback.envVar === undefined ? { ...fallback, envVar } : undefined;
    }
    case 'CallExpression':
    case 'UnaryExpression': {
      const inner = numberCast(n);
      return inner ? constantOf(src, inner, ev, depth + 1) : undefined;
    }
    case 'Identifier':
    case 'MemberExpression': {
      const d = ev.deref(src, n);
      if (d) return constantOf(d.src, d.node, ev, depth + 1);
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
function envDefault(src: ParsedSource, name: string, ev: Evaluator): Constant | undefined {
  for (const n of walk(src.program)) {
    if (n.type !== 'VariableDeclarator' || n.id.type !== 'ObjectPattern' || !n.init) continue;
    if (!ev.envObject(src, n.init)) continue;
    for (const p of n.id.properties) {
      if (p.type !== 'ObjectProperty' || p.key.type !== 'Identifier') continue;
      const v = p.value;
      if (v.type !== 'AssignmentPattern' || v.left.type !== 'Identifier' || v.left.name !== name) continue;
      const fallback = constantOf(src, v.right, ev, MAX_DEPTH - 1);
      return fallback && fallback.envVar === undefined
        ? { value: fallback.value, envVar: p.key.name }
        : undefined;
    }
  }
  return undefined;
}
