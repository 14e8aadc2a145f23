/**
 * Evaluates the expression an app passes as its SQLite path, statically: string literals,
 * templates, `+`, `path.join/resolve`, `__dirname` / `import.meta.dirname`, `process.cwd()`,
 * `process.env.X || 'default'` / `?? path.join(...)`, constants, and values imported from
 * the app's own modules (a config module). Anything else is "unknown" — never a guess.
 */
import path from 'node:path';
import type { Node } from '@babel/types';
import { modeOf } from './dev-only.js';
import { importsOf, type ParsedSource, parseSource, requiredModule, walk } from './js-ast.js';

/** The app's working directory (the folder it is started in), as a marker inside paths. */
export const CWD = '/\u0000app';

/** A string the app computes: fully known, or an env var's value (with a default) + a suffix. */
export type PathValue =
  | { kind: 'str'; value: string }
  | { kind: 'env'; name: string; fallback?: string; suffix: string };

type EnvValue = Extract<PathValue, { kind: 'env' }>;

/** Loads (and parses) another source file of the app by its root-relative path. */
export type SourceLoader = (file: string) => ParsedSource | undefined;

/** A loader over the app's sources read into memory: each file parsed once, when first asked for. */
export function sourceLoader(texts: ReadonlyMap<string, string>): SourceLoader {
  const parsed = new Map<string, ParsedSource | undefined>();
  return (file) => {
    if (!parsed.has(file)) {
      const text = texts.get(file);
      parsed.set(file, text === undefined ? undefined : parseSource(file, text));
    }
    return parsed.get(file);
  };
}

const MAX_DEPTH = 12;
const PATH_MODULES = new Set(['path', 'node:path', 'path/posix', 'node:path/posix', 'upath', 'pathe']);

export class Evaluator {
  constructor(private readonly load: SourceLoader) {}

  /** The value of `node` as a path or URL string. */
  value(src: ParsedSource, node: Node | null | undefined, depth = 0): PathValue | undefined {
    if (!node || depth > MAX_DEPTH) return undefined;
    const inner = unwrap(node);
    if (inner !== node) return this.value(src, inner, depth + 1);
    switch (node.type) {
      case 'StringLiteral':
        return str(node.value);
      case 'TemplateLiteral': {
        const parts: PathValue[] = [];
        node.quasis.forEach((q, i) => {
          parts.push(str(q.value.cooked ?? q.value.raw));
          if (i < node.expressions.length)
            parts.push(this.value(src, node.expressions[i] as Node, depth + 1) ?? UNKNOWN);
        });
        return concat(parts);
      }
      case 'BinaryExpression':
        if (node.operator !== '+') return undefined;
        return concat([
          this.value(src, node.left as Node, depth + 1) ?? UNKNOWN,
          this.value(src, node.right, depth + 1) ?? UNKNOWN,
        ]);
      case 'LogicalExpression': {
        if (node.operator === '&&') return undefined;
        const left = this.value(src, node.left, depth + 1);
        const right = this.value(src, node.right, depth + 1) ?? this.fallbackText(src, node.right, depth + 1);
        if (
          left?.kind === 'env' &&
          left.fallback === undefined &&
          left.suffix === '' &&
          right?.kind === 'str'
        )
          return { ...left, fallback: right.value };
        return left?.kind === 'str' ? left : undefined;
      }
      case 'ConditionalExpression': {
        // `NODE_ENV === 'production' ? 'app.db' : 'test.db'`: the deployed app takes the production side.
        const mode = modeOf(node.test, importsOf(src.program));
        if (mode === undefined) return undefined;
        return this.value(src, mode === 'prod' ? node.consequent : node.alternate, depth + 1);
      }
      case 'CallExpression':
        return this.call(src, node, depth);
      case 'Identifier':
        if (node.name === '__dirname') return str(path.posix.join(CWD, path.posix.dirname(src.file)));
        if (node.name === '__filename') return str(path.posix.join(CWD, src.file));
        break;
      case 'MemberExpression': {
        const env = envName(node, src, this);
        if (env) return { kind: 'env', name: env, suffix: '' };
        const meta = importMeta(node);
        if (meta === 'dirname') return str(path.posix.join(CWD, path.posix.dirname(src.file)));
        if (meta === 'filename' || meta === 'url') return str(path.posix.join(CWD, src.file));
        break;
      }
    }
    const target = this.deref(src, node, depth + 1);
    if (target && target.node !== node) return this.value(target.src, target.node, depth + 1);
    return undefined;
  }

  /**
   * A default that itself reads env vars with defaults (`sqlite:${DATA_DIR}/app.db`, DATA_DIR
   * defaulting to '.'), as it reads with those unset. Only ever the default of a variable that
   * compose sets in the container, so the inner values never reach it there.
   */
  private fallbackText(src: ParsedSource, node: Node, depth: number): PathValue | undefined {
    const inner = unwrap(node);
    let parts: Node[];
    if (inner.type === 'TemplateLiteral') {
      parts = [];
      inner.quasis.forEach((q, i) => {
        parts.push({ type: 'StringLiteral', value: q.value.cooked ?? q.value.raw } as Node);
        if (i < inner.expressions.length) parts.push(inner.expressions[i] as Node);
      });
    } else if (inner.type === 'BinaryExpression' && inner.operator === '+')
      parts = [inner.left as Node, inner.right];
    else return undefined;
    let text = '';
    for (const part of parts) {
      const v = this.value(src, part, depth + 1) ?? this.fallbackText(src, part, depth + 1);
      if (v?.kind === 'str') text += v.value;
      else if (v?.kind === 'env' && v.fallback !== undefined) text += v.fallback + v.suffix;
      else return undefined;
    }
    return str(text);
  }

  private call(
    src: ParsedSource,
    node: Node & { type: 'CallExpression' },
    depth: number,
  ): PathValue | undefined {
    const fromEnv = configEnvGet(src, node);
    if (fromEnv) {
      // A default that is itself computed (AdonisJS: env.get('DB_PATH', app.tmpPath('db.sqlite3'))).
      const d = node.arguments[1];
      const dv = fromEnv.fallback === undefined && d ? this.value(src, d as Node, depth + 1) : undefined;
      return dv?.kind === 'str' ? { ...fromEnv, fallback: dv.value } : fromEnv;
    }
    const adonis = adonisAppPath(src, node);
    if (adonis) {
      const parts = node.arguments.map((a) => this.value(src, a as Node, depth + 1));
      if (parts.some((v) => v?.kind !== 'str')) return undefined;
      return str(path.posix.join(CWD, ...adonis, ...parts.map((v) => (v as { value: string }).value)));
    }
    const fn = this.calleeName(src, node.callee as Node);
    const args = node.arguments.map((a) =>
      a.type === 'SpreadElement' ? UNKNOWN : (this.value(src, a as Node, depth + 1) ?? UNKNOWN),
    );
    switch (fn) {
      case 'path.join':
        return joinPaths(args, false);
      case 'path.resolve':
        return joinPaths(args, true);
      case 'path.dirname':
        return args[0]?.kind === 'str' ? str(path.posix.dirname(args[0].value)) : undefined;
      case 'process.cwd':
        return str(CWD);
      case 'url.fileURLToPath': {
        const a = node.arguments[0];
        // fileURLToPath(new URL('../data/app.db', import.meta.url))
        if (a?.type === 'NewExpression' && a.callee.type === 'Identifier' && a.callee.name === 'URL') {
          const rel = this.value(src, a.arguments[0] as Node, depth + 1);
          if (rel?.kind === 'str' && importMeta(a.arguments[1] as Node) === 'url')
            return str(path.posix.join(CWD, path.posix.dirname(src.file), rel.value));
          return undefined;
        }
        return args[0];
      }
      case 'String':
        return args[0];
    }
    return undefined;
  }

  /** `path.join`, `join` (imported from path), `process.cwd`, `fileURLToPath`, ... */
  private calleeName(src: ParsedSource, callee: Node): string | undefined {
    const imports = importsOf(src.program);
    if (callee.type === 'Identifier') {
      const b = imports.get(callee.name);
      if (b && PATH_MODULES.has(b.module) && ['join', 'resolve', 'dirname'].includes(b.imported))
        return `path.${b.imported}`;
      if (b && (b.module === 'url' || b.module === 'node:url') && b.imported === 'fileURLToPath')
        return 'url.fileURLToPath';
      if (callee.name === 'String') return 'String';
      return undefined;
    }
    if (callee.type === 'MemberExpression' && callee.property.type === 'Identifier') {
      const prop = callee.property.name;
      const obj = callee.object;
      if (obj.type === 'Identifier') {
        if (obj.name === 'process' && prop === 'cwd') return 'process.cwd';
        const b = imports.get(obj.name);
        const mod = b?.module ?? (obj.name === 'path' ? 'path' : undefined);
        if (mod && PATH_MODULES.has(mod)) return `path.${prop}`;
        if ((mod === 'url' || mod === 'node:url') && prop === 'fileURLToPath') return 'url.fileURLToPath';
      }
      // require('path').join(...)
      const req = obj.type === 'CallExpression' ? requiredModule(obj) : undefined;
      if (req && PATH_MODULES.has(req)) return `path.${prop}`;
      // path.posix.join(...)
      if (
        obj.type === 'MemberExpression' &&
        obj.object.type === 'Identifier' &&
        obj.property.type === 'Identifier'
      ) {
        const b = imports.get(obj.object.name);
        if ((b && PATH_MODULES.has(b.module)) || obj.object.name === 'path') return `path.${prop}`;
      }
    }
    return undefined;
  }

  /**
   * The node an identifier or member expression stands for: a `const` in the same file, an
   * export of an imported module of the app, a property of an object literal.
   */
  deref(src: ParsedSource, node: Node, depth = 0): { src: ParsedSource; node: Node } | undefined {
    if (depth > MAX_DEPTH) return undefined;
    const inner = unwrap(node);
    if (inner !== node) return this.deref(src, inner, depth + 1);
    if (node.type === 'Identifier') {
      const init = declaredValue(src.program, node.name);
      if (init) return this.deref(src, init, depth + 1) ?? { src, node: init };
      const b = importsOf(src.program).get(node.name);
      if (!b) return undefined;
      const mod = this.module(src, b.module);
      if (!mod) return undefined;
      if (b.imported === '*') return { src: mod, node: mod.program as Node };
      const exp = exportedValue(mod.program, b.imported);
      return exp ? (this.deref(mod, exp, depth + 1) ?? { src: mod, node: exp }) : undefined;
    }
    if (node.type === 'MemberExpression' || node.type === 'OptionalMemberExpression') {
      const key = propertyKey(node);
      if (key === undefined) return undefined;
      const obj = this.deref(src, node.object, depth + 1);
      if (!obj) return undefined;
      const found =
        obj.node.type === 'Program'
          ? exportedValue(obj.node, key)
          : objectProperty(unwrapObject(obj.node), key);
      return found ? (this.deref(obj.src, found, depth + 1) ?? { src: obj.src, node: found }) : undefined;
    }
    // defineConfig({...}) / Object.freeze({...}) / z.object(...).parse(...): an object argument.
    if (
      node.type === 'CallExpression' &&
      node.arguments.length === 1 &&
      node.arguments[0].type === 'ObjectExpression'
    )
      return { src, node: node.arguments[0] as Node };
    return { src, node };
  }

  /**
   * `configs[key]` with a key known only at run time (`process.env.NODE_ENV || 'development'`):
   * every object entry of `configs` (a knexfile's environments), with its name.
   */
  entriesOfPicked(
    src: ParsedSource,
    node: Node | undefined,
  ): Array<{ key: string; value: { src: ParsedSource; node: Node } }> | undefined {
    // knex(configs[key]) itself, or a constant holding it.
    const d = node && (this.deref(src, node) ?? { src, node });
    if (!d) return undefined;
    const picked = unwrap(d.node);
    if (picked.type !== 'MemberExpression' || !picked.computed) return undefined;
    const holder = this.moduleObject(d.src, picked.object);
    if (!holder) return undefined;
    const out: Array<{ key: string; value: { src: ParsedSource; node: Node } }> = [];
    for (const p of holder.node.type === 'ObjectExpression' ? holder.node.properties : []) {
      if (p.type !== 'ObjectProperty') continue;
      const key = propertyName(p);
      const value = this.composite(holder.src, p.value as Node);
      if (key !== undefined && value) out.push({ key, value });
    }
    return out;
  }

  /**
   * What a module exports as objects: its default export (`module.exports = {...}`, `export
   * default config`) and, each under its name, its properties or — without a default export —
   * the module's named exports (`export const development = {...}`). For a knexfile.
   */
  exportedObjects(src: ParsedSource): {
    whole?: { src: ParsedSource; node: Node };
    entries: Array<{ key: string; value: { src: ParsedSource; node: Node } }>;
  } {
    const entries: Array<{ key: string; value: { src: ParsedSource; node: Node } }> = [];
    const def = exportedValue(src.program, 'default');
    const whole = def && this.composite(src, def);
    if (whole) {
      for (const p of whole.node.type === 'ObjectExpression' ? whole.node.properties : []) {
        if (p.type !== 'ObjectProperty') continue;
        const key = propertyName(p);
        const value = this.composite(whole.src, p.value as Node);
        if (key !== undefined && value) entries.push({ key, value });
      }
      return { whole, entries };
    }
    const body = src.program?.type === 'Program' ? src.program.body : [];
    for (const st of body) {
      if (st.type !== 'ExportNamedDeclaration' || st.declaration?.type !== 'VariableDeclaration') continue;
      for (const d of st.declaration.declarations) {
        const value = d.id.type === 'Identifier' && d.init ? this.composite(src, d.init) : undefined;
        if (value && d.id.type === 'Identifier') entries.push({ key: d.id.name, value });
      }
    }
    return { entries };
  }

  /** The object a node stands for, `require('./knexfile')` (its module.exports) included. */
  private moduleObject(src: ParsedSource, node: Node): { src: ParsedSource; node: Node } | undefined {
    const spec = node.type === 'CallExpression' ? requiredModule(node) : undefined;
    if (spec === undefined) return this.object(src, node);
    const mod = this.module(src, spec);
    const exp = mod && exportedValue(mod.program, 'default');
    return mod && exp ? this.object(mod, exp) : undefined;
  }

  /** An object literal the node stands for, with the file it is in. */
  object(src: ParsedSource, node: Node | null | undefined): { src: ParsedSource; node: Node } | undefined {
    if (!node) return undefined;
    const d = this.deref(src, node);
    if (!d) return undefined;
    const obj = unwrapObject(d.node);
    return obj.type === 'ObjectExpression' ? { src: d.src, node: obj } : undefined;
  }

  /**
   * `key` of an object the app builds: an object literal, its spreads (`{ ...common, connection }`)
   * and `Object.assign({}, defaults, overrides)` included — the last one set wins, as at run time.
   */
  property(
    obj: { src: ParsedSource; node: Node },
    key: string,
    depth = 0,
  ): { src: ParsedSource; node: Node } | undefined {
    if (depth > MAX_DEPTH) return undefined;
    const n = unwrap(obj.node);
    type Located = { src: ParsedSource; node: Node };
    // In order of evaluation: a property's value, or an object whose properties are copied in.
    const parts: Array<{ value: Located } | { from: Located | undefined }> = [];
    if (n.type === 'CallExpression' && isObjectAssign(n)) {
      for (const a of n.arguments) parts.push({ from: this.composite(obj.src, a as Node) });
    } else if (n.type === 'ObjectExpression') {
      for (const p of n.properties) {
        if (p.type === 'ObjectProperty' && propertyName(p) === key)
          parts.push({ value: { src: obj.src, node: p.value as Node } });
        else if (p.type === 'SpreadElement') parts.push({ from: this.composite(obj.src, p.argument) });
      }
    } else return undefined;
    for (const part of parts.reverse()) {
      if ('value' in part) return part.value;
      const found = part.from && this.property(part.from, key, depth + 1);
      if (found) return found;
    }
    return undefined;
  }

  /** An object literal or an `Object.assign(...)` a node stands for (for `property`). */
  composite(src: ParsedSource, node: Node, depth = 0): { src: ParsedSource; node: Node } | undefined {
    if (depth > MAX_DEPTH) return undefined;
    const u = unwrap(node);
    // Before deref, which takes a call's one object argument for the object (defineConfig({...})).
    if (u.type === 'Identifier') {
      const init = declaredValue(src.program, u.name);
      if (init) return this.composite(src, init, depth + 1);
    }
    if (u.type === 'CallExpression') {
      if (isObjectAssign(u)) return { src, node: u };
      const built = helperResult(src.program, u);
      if (built) return { src, node: built };
    }
    const d = this.deref(src, node);
    const n = d && unwrap(d.node);
    if (d && n?.type === 'CallExpression' && isObjectAssign(n)) return { src: d.src, node: n };
    return this.object(src, node);
  }

  /** The app's own module an imported name comes from, and its name there. */
  importedFrom(src: ParsedSource, local: string): { src: ParsedSource; imported: string } | undefined {
    const b = importsOf(src.program).get(local);
    const mod = b && this.module(src, b.module);
    return mod && b ? { src: mod, imported: b.imported } : undefined;
  }

  /** `process.env.X` and its other spellings (see envName): the variable's name. */
  envVar(src: ParsedSource, node: Node): string | undefined {
    return envName(unwrap(node), src, this);
  }

  /** `process.env` itself, or another object of env vars (see isEnvObject). */
  envObject(src: ParsedSource, node: Node): boolean {
    return isEnvObject(unwrap(node), src, this);
  }

  /** A relative import of the app's own code, resolved like Node / bundlers do. */
  private module(from: ParsedSource, spec: string): ParsedSource | undefined {
    let base: string;
    if (spec.startsWith('.')) base = path.posix.join(path.posix.dirname(from.file), spec);
    else if (spec.startsWith('@/') || spec.startsWith('~/'))
      base = spec.slice(2); // tsconfig paths, the usual alias
    else return undefined;
    const stem = base.replace(/\.(c|m)?js$/, '');
    for (const c of [
      base,
      ...['.ts', '.js', '.mjs', '.cjs', '.mts', '.cts', '.tsx', '.jsx'].map((e) => stem + e),
      ...['index.ts', 'index.js', 'index.mjs'].map((i) => `${base}/${i}`),
      ...['index.ts', 'index.js'].map((i) => `src/${base}/${i}`),
      ...['.ts', '.js'].map((e) => `src/${stem}${e}`),
    ]) {
      const loaded = this.load(path.posix.normalize(c));
      if (loaded) return loaded;
    }
    return undefined;
  }
}

const UNKNOWN: PathValue = { kind: 'env', name: '\u0000unknown', suffix: '' };
const str = (value: string): PathValue => ({ kind: 'str', value });

function concat(parts: PathValue[]): PathValue | undefined {
  if (parts.some((p) => p === UNKNOWN)) return undefined;
  const [first, ...rest] = parts;
  if (!first) return str('');
  if (rest.some((p) => p.kind !== 'str')) return undefined;
  const tail = rest.map((p) => (p as { value: string }).value).join('');
  return first.kind === 'str' ? str(first.value + tail) : { ...first, suffix: first.suffix + tail };
}

function joinPaths(args: PathValue[], resolve: boolean): PathValue | undefined {
  if (args.length === 0 || args.some((a) => a === UNKNOWN)) return undefined;
  // path.resolve: the last absolute argument wins.
  let start = 0;
  if (resolve)
    for (let i = 0; i < args.length; i++)
      if (args[i].kind === 'env' || (args[i] as { value: string }).value.startsWith('/')) start = i;
  const used = args.slice(start);
  const [first, ...rest] = used;
  if (rest.some((a) => a.kind !== 'str')) return undefined;
  const tail = rest.map((a) => (a as { value: string }).value);
  if (first.kind === 'env') {
    const suffix = tail.length ? `/${path.posix.join(...tail)}` : '';
    return { ...first, suffix: first.suffix + suffix };
  }
  const joined = path.posix.join(first.value, ...tail);
  return str(resolve && !joined.startsWith('/') ? path.posix.join(CWD, joined) : joined);
}

/** Parentheses, TypeScript casts and `!` are transparent. */
export function unwrap(node: Node): Node {
  switch (node.type) {
    case 'TSAsExpression':
    case 'TSSatisfiesExpression':
    case 'TSNonNullExpression':
    case 'TSTypeAssertion':
    case 'ParenthesizedExpression':
      return node.expression;
    case 'AwaitExpression':
      return node.argument;
    default:
      return node;
  }
}

function unwrapObject(node: Node): Node {
  const n = unwrap(node);
  if (n.type === 'CallExpression' && n.arguments.length >= 1 && n.arguments[0].type === 'ObjectExpression')
    return n.arguments[0] as Node;
  return n;
}

function propertyKey(
  node: Node & { type: 'MemberExpression' | 'OptionalMemberExpression' },
): string | undefined {
  if (!node.computed && node.property.type === 'Identifier') return node.property.name;
  if (node.property.type === 'StringLiteral') return node.property.value;
  return undefined;
}

/**
 * Config services that read process.env (and .env): NestJS's ConfigService (`config.get('DB_PATH')`,
 * `.get('DB_PATH', 'default.db')`, `.getOrThrow('DB_PATH')`, in a file that imports @nestjs/config)
 * and AdonisJS's env (`env.get('DB_PATH', default)`, `env` from `#start/env`). Only UPPER_CASE
 * keys: a dotted or camelCase key names a config namespace of the app, not a variable.
 */
function configEnvGet(src: ParsedSource, node: Node & { type: 'CallExpression' }): EnvValue | undefined {
  const c = node.callee;
  if (c.type !== 'MemberExpression' || c.computed || c.property.type !== 'Identifier') return undefined;
  const method = c.property.name;
  if (method !== 'get' && method !== 'getOrThrow') return undefined;
  const [key, fallback] = node.arguments;
  if (key?.type !== 'StringLiteral' || !/^[A-Z][A-Z0-9_]*$/.test(key.value)) return undefined;
  const imports = importsOf(src.program);
  const adonisEnv = c.object.type === 'Identifier' && imports.get(c.object.name)?.module === '#start/env';
  if (!adonisEnv && ![...imports.values()].some((b) => b.module === '@nestjs/config')) return undefined;
  const env: EnvValue = { kind: 'env', name: key.value, suffix: '' };
  return method === 'get' && fallback?.type === 'StringLiteral' ? { ...env, fallback: fallback.value } : env;
}

/** AdonisJS's `app.tmpPath(...)` / `app.makePath(...)`: folders of the app's root, its working dir. */
function adonisAppPath(src: ParsedSource, node: Node & { type: 'CallExpression' }): string[] | undefined {
  const c = node.callee;
  if (c.type !== 'MemberExpression' || c.computed || c.property.type !== 'Identifier') return undefined;
  if (c.object.type !== 'Identifier') return undefined;
  if (importsOf(src.program).get(c.object.name)?.module !== '@adonisjs/core/services/app') return undefined;
  if (c.property.name === 'tmpPath') return ['tmp'];
  if (c.property.name === 'makePath') return [];
  return undefined;
}

/** `process.env.X` (`Bun.env.X`), `process.env['X']`, `import.meta.env.X`, or `env.X` where `env` is process.env. */
function envName(node: Node, src: ParsedSource, ev: Evaluator): string | undefined {
  if (node.type !== 'MemberExpression' && node.type !== 'OptionalMemberExpression') return undefined;
  const key = propertyKey(node);
  return key && isEnvObject(node.object, src, ev) ? key : undefined;
}

/** An object whose properties are env vars: `process.env`, `import.meta.env`, an `env` bound to one. */
function isEnvObject(obj: Node, src: ParsedSource, ev: Evaluator): boolean {
  if (isProcessEnv(obj)) return true;
  if (obj.type === 'MemberExpression' && importMeta(obj) === 'env') return true;
  if (obj.type !== 'Identifier') return false;
  // const env = process.env / const { env } = process / const env = schema.parse(process.env)
  const n = ev.deref(src, obj)?.node;
  if (n && isProcessEnv(n)) return true;
  if (n?.type === 'CallExpression' && n.arguments.some((a) => isProcessEnv(a as Node))) return true;
  if (isDestructuredEnv(src.program, obj.name)) return true;
  // SvelteKit's runtime env (`$env/static/*` is inlined at build time: not a runtime variable).
  const b = importsOf(src.program).get(obj.name);
  return b?.imported === 'env' && /^\$env\/dynamic\/(private|public)$/.test(b.module);
}

/** `process.env`, or Bun's `Bun.env` (the same variables). */
function isProcessEnv(n: Node): boolean {
  return (
    n.type === 'MemberExpression' &&
    n.object.type === 'Identifier' &&
    (n.object.name === 'process' || n.object.name === 'Bun') &&
    !n.computed &&
    n.property.type === 'Identifier' &&
    n.property.name === 'env'
  );
}

/** `const { env } = process` binds `env` to process.env. */
function isDestructuredEnv(program: Node | undefined, name: string): boolean {
  for (const n of walk(program)) {
    if (
      n.type === 'VariableDeclarator' &&
      n.id.type === 'ObjectPattern' &&
      n.init?.type === 'Identifier' &&
      n.init.name === 'process' &&
      n.id.properties.some(
        (p) =>
          p.type === 'ObjectProperty' &&
          p.key.type === 'Identifier' &&
          p.key.name === 'env' &&
          p.value.type === 'Identifier' &&
          p.value.name === name,
      )
    )
      return true;
  }
  return false;
}

/** `import.meta.dirname` -> 'dirname', `import.meta.url` -> 'url', ... */
function importMeta(node: Node | undefined): string | undefined {
  if (node?.type !== 'MemberExpression' || node.property.type !== 'Identifier') return undefined;
  const o = node.object;
  return o.type === 'MetaProperty' && o.meta.name === 'import' && o.property.name === 'meta'
    ? node.property.name
    : undefined;
}

/** The initializer of a `const/let/var NAME = ...` in the file (the first one). */
function declaredValue(program: Node | undefined, name: string): Node | undefined {
  for (const n of walk(program)) {
    if (n.type === 'VariableDeclarator' && n.id.type === 'Identifier' && n.id.name === name && n.init) {
      // an import binding is resolved through its module, not here
      if (
        n.init.type === 'CallExpression' &&
        n.init.callee.type === 'Identifier' &&
        n.init.callee.name === 'require'
      )
        return undefined;
      return n.init;
    }
  }
  return undefined;
}

/** What a module exports under `name` (`default` for the default export / module.exports). */
function exportedValue(program: Node | undefined, name: string): Node | undefined {
  for (const n of walk(program)) {
    if (name === 'default' && n.type === 'ExportDefaultDeclaration') return n.declaration as Node;
    if (n.type === 'ExportNamedDeclaration') {
      const d = n.declaration;
      if (d?.type === 'VariableDeclaration') {
        for (const v of d.declarations)
          if (v.id.type === 'Identifier' && v.id.name === name && v.init) return v.init;
      }
      for (const s of n.specifiers) {
        if (s.type === 'ExportSpecifier') {
          const exported = s.exported.type === 'Identifier' ? s.exported.name : s.exported.value;
          if (exported === name) return declaredValue(program, s.local.name) ?? s.local;
        }
      }
    }
    if (n.type === 'AssignmentExpression' && n.operator === '=' && n.left.type === 'MemberExpression') {
      const l = n.left;
      const key = propertyKey(l);
      // module.exports = X
      if (l.object.type === 'Identifier' && l.object.name === 'module' && key === 'exports') {
        if (name === 'default') return n.right;
        const p = objectProperty(unwrapObject(n.right), name);
        if (p) return p;
      }
      // exports.name = X / module.exports.name = X
      const isExports =
        (l.object.type === 'Identifier' && l.object.name === 'exports') ||
        (l.object.type === 'MemberExpression' &&
          l.object.object.type === 'Identifier' &&
          l.object.object.name === 'module');
      if (isExports && key === name) return n.right;
    }
  }
  return undefined;
}

/**
 * What a helper of the same file returns when it merges its argument into defaults —
 * `function config(overrides) { return Object.assign({}, defaults, overrides); }` or
 * `const config = (o) => ({ ...defaults, ...o })` — with the call's arguments in place of its
 * parameters (a knexfile's `development: config({ connection: { filename } })`).
 */
function helperResult(program: Node | undefined, call: Node & { type: 'CallExpression' }): Node | undefined {
  if (call.callee.type !== 'Identifier') return undefined;
  const fn = localFunction(program, call.callee.name);
  if (!fn) return undefined;
  const body = fn.body;
  let result: Node | undefined;
  if (body.type !== 'BlockStatement') result = body as Node;
  else if (body.body.length === 1 && body.body[0].type === 'ReturnStatement')
    result = body.body[0].argument ?? undefined;
  if (!result) return undefined;
  const params = fn.params.map((p) => (p.type === 'Identifier' ? p.name : undefined));
  const arg = (n: Node): Node => {
    const i = n.type === 'Identifier' ? params.indexOf(n.name) : -1;
    return i >= 0 ? ((call.arguments[i] as Node | undefined) ?? n) : n;
  };
  const r = unwrap(result);
  if (r.type === 'CallExpression' && isObjectAssign(r))
    return { ...r, arguments: r.arguments.map((a) => arg(a as Node)) } as Node;
  if (r.type === 'ObjectExpression')
    return {
      ...r,
      properties: r.properties.map((p) =>
        p.type === 'SpreadElement' ? { ...p, argument: arg(p.argument) } : p,
      ),
    } as Node;
  return undefined;
}

/** `function NAME(...) {...}` or `const NAME = (...) => ...` / `function (...) {...}` in the file. */
function localFunction(
  program: Node | undefined,
  name: string,
): (Node & { type: 'FunctionDeclaration' | 'ArrowFunctionExpression' | 'FunctionExpression' }) | undefined {
  for (const n of walk(program)) {
    if (n.type === 'FunctionDeclaration' && n.id?.name === name) return n;
    if (
      n.type === 'VariableDeclarator' &&
      n.id.type === 'Identifier' &&
      n.id.name === name &&
      (n.init?.type === 'ArrowFunctionExpression' || n.init?.type === 'FunctionExpression')
    )
      return n.init;
  }
  return undefined;
}

/** `Object.assign(target, ...sources)`. */
function isObjectAssign(n: Node): boolean {
  return (
    n.type === 'CallExpression' &&
    n.callee.type === 'MemberExpression' &&
    n.callee.object.type === 'Identifier' &&
    n.callee.object.name === 'Object' &&
    n.callee.property.type === 'Identifier' &&
    n.callee.property.name === 'assign'
  );
}

/** The name of an object literal's property (`key`, `'key'`); undefined when computed. */
function propertyName(p: Node & { type: 'ObjectProperty' }): string | undefined {
  return p.key.type === 'Identifier' ? p.key.name : p.key.type === 'StringLiteral' ? p.key.value : undefined;
}

/** The value of `key` in an object literal (`{ key: v }`, `{ 'key': v }`, `{ key }`). */
export function objectProperty(obj: Node | undefined, key: string): Node | undefined {
  if (obj?.type !== 'ObjectExpression') return undefined;
  for (const p of obj.properties) {
    if (p.type === 'ObjectProperty' && propertyName(p) === key) return p.value as Node;
  }
  return undefined;
}
