/**
 * Code that runs only in development: the branch of an `if (process.dev)`, `if (import.meta.dev)`,
 * `if (import.meta.env.DEV)`, SvelteKit's `if (dev)`, `if (process.env.NODE_ENV !== 'production')`
 * (or the else of their production forms), and the same as `a ? b : c` or `a && b`. A SQLite file
 * opened only there is the developer's; the deployed app opens something else (sprachy/sprachy:
 * better-sqlite3 under `process.dev`, Cloudflare D1 in production), and backing it up would back up
 * a file the deployed app never writes.
 */
import type { Node } from '@babel/types';
import type { ImportBinding } from './js-ast.js';
import { walk } from './js-ast.js';

/** A span of source (node offsets) that only runs in development, with its guard as written. */
export interface DevOnlySpan {
  start: number;
  end: number;
  guard: string;
}

type Mode = 'dev' | 'prod' | undefined;

/** Every development-only span of a parsed file. */
export function devOnlySpans(
  program: Node | undefined,
  text: string,
  imports: ReadonlyMap<string, ImportBinding>,
): DevOnlySpan[] {
  const spans: DevOnlySpan[] = [];
  const add = (branch: Node | null | undefined, test: Node) => {
    if (branch?.start == null || branch.end == null || test.start == null || test.end == null) return;
    spans.push({ start: branch.start, end: branch.end, guard: text.slice(test.start, test.end) });
  };
  for (const node of walk(program)) {
    if (node.type === 'IfStatement' || node.type === 'ConditionalExpression') {
      const mode = modeOf(node.test, imports);
      if (mode === 'dev') add(node.consequent, node.test);
      else if (mode === 'prod') add(node.alternate, node.test);
    } else if (node.type === 'LogicalExpression' && node.operator === '&&') {
      if (modeOf(node.left, imports) === 'dev') add(node.right, node.left);
    }
  }
  return spans;
}

/** The guard of the innermost development-only span holding `node`, if any. */
export function devOnlyGuard(node: Node, spans: DevOnlySpan[]): string | undefined {
  if (node.start == null) return undefined;
  const start = node.start;
  return spans.find((s) => s.start <= start && start < s.end)?.guard;
}

/** Whether a condition holds only in development ('dev') or only in production ('prod'). */
export function modeOf(test: Node, imports: ReadonlyMap<string, ImportBinding>): Mode {
  if (test.type === 'UnaryExpression' && test.operator === '!') {
    const inner = modeOf(test.argument, imports);
    return inner === 'dev' ? 'prod' : inner === 'prod' ? 'dev' : undefined;
  }
  if (test.type === 'Identifier') {
    const b = imports.get(test.name);
    if (b?.module === '$app/environment' && b.imported === 'dev') return 'dev';
    return undefined;
  }
  const path = memberPath(test);
  if (path === 'process.dev' || path === 'import.meta.dev' || path === 'import.meta.env.DEV') return 'dev';
  if (path === 'import.meta.env.PROD' || path === 'process.prod') return 'prod';
  if (test.type === 'BinaryExpression' && ['===', '==', '!==', '!='].includes(test.operator)) {
    const [env, lit] = isNodeEnv(test.left as Node) ? [test.left, test.right] : [test.right, test.left];
    if (!isNodeEnv(env as Node) || lit.type !== 'StringLiteral') return undefined;
    const equal = test.operator === '===' || test.operator === '==';
    if (lit.value === 'production') return equal ? 'prod' : 'dev';
    if (lit.value === 'development') return equal ? 'dev' : 'prod';
  }
  return undefined;
}

/** `process.env.NODE_ENV`, also as `process.env.NODE_ENV!`, `.trim()`, `.toLowerCase()`. */
function isNodeEnv(node: Node): boolean {
  let n = node;
  for (;;) {
    if (n.type === 'TSNonNullExpression' || n.type === 'ParenthesizedExpression') n = n.expression;
    else if (
      (n.type === 'CallExpression' || n.type === 'OptionalCallExpression') &&
      n.arguments.length === 0 &&
      (n.callee.type === 'MemberExpression' || n.callee.type === 'OptionalMemberExpression') &&
      n.callee.property.type === 'Identifier' &&
      ['trim', 'toLowerCase'].includes(n.callee.property.name)
    )
      n = n.callee.object;
    else break;
  }
  return memberPath(n) === 'process.env.NODE_ENV';
}

/** `process.env.NODE_ENV`, `import.meta.env.DEV` for a plain member chain; undefined otherwise. */
function memberPath(node: Node): string | undefined {
  if (node.type === 'Identifier') return node.name;
  if (node.type === 'MetaProperty') return `${node.meta.name}.${node.property.name}`;
  if (node.type === 'MemberExpression' || node.type === 'OptionalMemberExpression') {
    const object = memberPath(node.object);
    const key =
      !node.computed && node.property.type === 'Identifier'
        ? node.property.name
        : node.property.type === 'StringLiteral'
          ? node.property.value
          : undefined;
    return object !== undefined && key !== undefined ? `${object}.${key}` : undefined;
  }
  return undefined;
}
