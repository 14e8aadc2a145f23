/**
 * An app server that listens on the loopback interface only: in a container nothing outside it
 * (nginx-proxy, a published port) can reach it, so every request fails after a "successful"
 * deploy. Found from the `.listen(...)` calls of the app's sources, only when certain: an
 * explicit `localhost` / `127.0.0.1` / `::1` host, or a Fastify instance created in the same
 * file and listening without a host (Fastify's default is localhost).
 */
import type { Node } from '@babel/types';
import { importsOf, lineOf, parseSource, requiredModule, walk } from './js-ast.js';
import { objectProperty } from './js-eval.js';

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
