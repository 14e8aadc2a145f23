/**
 * A JavaScript / TypeScript parser for detection (Babel's, error-tolerant), and the few
 * tree helpers the detectors need: walk every node, list a file's imports and bindings.
 */
import { createRequire } from 'node:module';
import type { Node } from '@babel/types';

// Loaded on first use with require(): an ESM import of this large CommonJS file costs more
// (cjs-module-lexer), and `add` on a .NET app never needs it.
let babel: typeof import('@babel/parser') | undefined;
const parser = () => {
  babel ??= createRequire(import.meta.url)('@babel/parser') as typeof import('@babel/parser');
  return babel;
};

export type { Node };

export interface ParsedSource {
  /** Posix path relative to the project root. */
  file: string;
  text: string;
  program: Node | undefined;
}

/** Parse a source file; a file Babel cannot read at all yields no tree (detection skips it). */
export function parseSource(file: string, text: string): ParsedSource {
  const ts = /\.(c|m)?tsx?$/.test(file);
  try {
    const ast = parser().parse(text, {
      sourceType: 'unambiguous',
      errorRecovery: true,
      allowReturnOutsideFunction: true,
      allowImportExportEverywhere: true,
      allowAwaitOutsideFunction: true,
      // NestJS / TypeORM entities use (legacy) decorators.
      plugins: ts
        ? ['typescript', 'decorators-legacy', ...(file.endsWith('x') ? (['jsx'] as const) : [])]
        : ['jsx', 'decorators-legacy'],
    });
    return { file, text, program: ast.program as Node };
  } catch {
    return { file, text, program: undefined };
  }
}

/** Every node under `root` (depth first), skipping type annotations. */
export function* walk(root: Node | undefined): Generator<Node> {
  if (!root) return;
  const stack: Node[] = [root];
  while (stack.length > 0) {
    const node = stack.pop() as Node;
    yield node;
    for (const key of Object.keys(node)) {
      if (
        key === 'loc' ||
        key === 'leadingComments' ||
        key === 'trailingComments' ||
        key === 'typeAnnotation'
      )
        continue;
      const child = (node as unknown as Record<string, unknown>)[key];
      if (Array.isArray(child)) {
        for (let i = child.length - 1; i >= 0; i--) if (isNode(child[i])) stack.push(child[i] as Node);
      } else if (isNode(child)) stack.push(child);
    }
  }
}

function isNode(x: unknown): x is Node {
  return typeof x === 'object' && x !== null && typeof (x as { type?: unknown }).type === 'string';
}

/** What a local name is bound to by an import or a `require()`. */
export interface ImportBinding {
  module: string;
  /** `default`, `*` (namespace / whole require), or the imported name. */
  imported: string;
}

/** The name of a `require('m')` call's module, looking through `require('m').verbose()`. */
export function requiredModule(node: Node | null | undefined): string | undefined {
  if (!node) return undefined;
  if (
    node.type === 'CallExpression' &&
    node.callee.type === 'Identifier' &&
    node.callee.name === 'require' &&
    node.arguments[0]?.type === 'StringLiteral'
  ) {
    return node.arguments[0].value;
  }
  // require('sqlite3').verbose()
  if (node.type === 'CallExpression' && node.callee.type === 'MemberExpression')
    return requiredModule(node.callee.object);
  if (node.type === 'MemberExpression') return undefined;
  return undefined;
}

/** Bindings per parsed file: the evaluator asks for them per expression, the walk is per file. */
const importsCache = new WeakMap<Node, ReadonlyMap<string, ImportBinding>>();

/** Local names bound by `import` / `require` in a file (worked out once per parsed file). */
export function importsOf(program: Node | undefined): ReadonlyMap<string, ImportBinding> {
  if (!program) return new Map();
  let known = importsCache.get(program);
  if (!known) {
    known = bindingsOf(program);
    importsCache.set(program, known);
  }
  return known;
}

function bindingsOf(program: Node): Map<string, ImportBinding> {
  const out = new Map<string, ImportBinding>();
  for (const node of walk(program)) {
    if (node.type === 'ImportDeclaration') {
      for (const s of node.specifiers) {
        if (s.type === 'ImportDefaultSpecifier')
          out.set(s.local.name, { module: node.source.value, imported: 'default' });
        else if (s.type === 'ImportNamespaceSpecifier')
          out.set(s.local.name, { module: node.source.value, imported: '*' });
        else {
          const name = s.imported.type === 'Identifier' ? s.imported.name : s.imported.value;
          out.set(s.local.name, { module: node.source.value, imported: name });
        }
      }
    } else if (node.type === 'VariableDeclarator') {
      let init = node.init;
      if (init?.type === 'AwaitExpression') init = init.argument;
      // const { Database } = await import('m') / require('m')
      const dynamic =
        init?.type === 'ImportExpression' && init.source.type === 'StringLiteral'
          ? init.source.value
          : init?.type === 'CallExpression' &&
              init.callee.type === 'Import' &&
              init.arguments[0]?.type === 'StringLiteral'
            ? init.arguments[0].value
            : undefined;
      const module = requiredModule(init) ?? dynamic;
      if (!module) continue;
      if (node.id.type === 'Identifier') {
        // require('m').Database binds a named export; require('m') / require('m').verbose() the whole module
        const named =
          init?.type === 'MemberExpression' && init.property.type === 'Identifier'
            ? init.property.name
            : undefined;
        out.set(node.id.name, { module, imported: named ?? (dynamic ? '*' : '*') });
      } else if (node.id.type === 'ObjectPattern') {
        bindNamed(out, node.id, module);
      }
    } else if (node.type === 'TSImportEqualsDeclaration') {
      const ref = node.moduleReference;
      if (ref.type === 'TSExternalModuleReference')
        out.set(node.id.name, { module: ref.expression.value, imported: '*' });
    }
  }
  // import sql from 'sqlite3'; const sqlite3 = sql.verbose(): the whole module again.
  // import pkg from 'sequelize'; const { Sequelize } = pkg: a named export (CommonJS from ESM).
  for (const node of walk(program)) {
    if (node.type !== 'VariableDeclarator') continue;
    const init = node.init;
    if (node.id.type === 'ObjectPattern' && init?.type === 'Identifier') {
      const b = out.get(init.name);
      if (b && (b.imported === 'default' || b.imported === '*')) bindNamed(out, node.id, b.module);
      continue;
    }
    if (node.id.type !== 'Identifier') continue;
    if (
      init?.type === 'CallExpression' &&
      init.callee.type === 'MemberExpression' &&
      init.callee.object.type === 'Identifier' &&
      init.callee.property.type === 'Identifier' &&
      init.callee.property.name === 'verbose'
    ) {
      const b = out.get(init.callee.object.name);
      if (b && (b.imported === 'default' || b.imported === '*'))
        out.set(node.id.name, { module: b.module, imported: '*' });
    }
  }
  return out;
}

/** `const { A, B: C } = <module>`: each name bound to that named export. */
function bindNamed(
  out: Map<string, ImportBinding>,
  pattern: Node & { type: 'ObjectPattern' },
  module: string,
): void {
  for (const p of pattern.properties) {
    if (p.type === 'ObjectProperty' && p.key.type === 'Identifier' && p.value.type === 'Identifier')
      out.set(p.value.name, { module, imported: p.key.name });
  }
}

/** The 1-based line of a node, for messages. */
export function lineOf(node: Node): number {
  return node.loc?.start.line ?? 0;
}
