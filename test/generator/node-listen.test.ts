/**
 * An app that listens on the loopback interface only cannot be reached in its container:
 * said in a note, and only when certain.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planMixes } from '../../src/generator/index.js';
import { loopbackListen } from '../../src/generator/node-listen.js';
import { cleanupTemps, tempDir } from './helpers.js';

afterAll(cleanupTemps);

const at = (text: string) => loopbackListen([{ file: 'src/server.ts', text }]);
const fastify = (listen: string) =>
  `import Fastify from 'fastify';\nconst app = Fastify({ logger: true });\napp.get('/', async () => 'ok');\n${listen}\n`;

describe('loopbackListen', () => {
  it('Fastify without a host (its default is localhost), in each listen form', () => {
    expect(at(fastify('await app.listen({ port: 3000 });'))).toBe(
      'src/server.ts:4: Fastify listens on localhost when given no host',
    );
    expect(at(fastify('app.listen(3000, (err) => { if (err) throw err; });'))).toMatch(
      /^src\/server\.ts:4: Fastify/,
    );
    expect(
      at(
        "const fastify = require('fastify')({ logger: true });\nfastify.listen({ port: Number(process.env.PORT) || 3000 });\n",
      ),
    ).toBe('src/server.ts:2: Fastify listens on localhost when given no host');
  });

  it('an explicit loopback host, any framework', () => {
    expect(
      at("import express from 'express';\nconst app = express();\napp.listen(8080, '127.0.0.1');\n"),
    ).toBe('src/server.ts:3 listens on 127.0.0.1');
    expect(at(fastify("await app.listen({ port: 3000, host: 'localhost' });"))).toBe(
      'src/server.ts:4 listens on localhost',
    );
  });

  it('nothing when the host is all interfaces, comes from elsewhere, or the server is not Fastify', () => {
    expect(at(fastify("await app.listen({ port: 3000, host: '0.0.0.0' });"))).toBeUndefined();
    expect(at(fastify('await app.listen({ port: 3000, host: process.env.HOST });'))).toBeUndefined();
    expect(at("import express from 'express';\nconst app = express();\napp.listen(3000);\n")).toBeUndefined();
    // An instance built elsewhere: not certain, not said.
    expect(
      at("import { build } from './app';\nconst app = await build();\nawait app.listen({ port: 3000 });\n"),
    ).toBeUndefined();
  });
});

describe('add', () => {
  it('says so in a note', async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, 'src'), { recursive: true });
    await writeFile(
      path.join(dir, 'package.json'),
      JSON.stringify({
        name: 'links',
        main: 'src/server.js',
        scripts: { start: 'node src/server.js' },
        dependencies: { fastify: '^5.4.0', 'better-sqlite3': '^12.2.0' },
      }),
    );
    await writeFile(
      path.join(dir, 'src/server.js'),
      "import Fastify from 'fastify';\nimport Database from 'better-sqlite3';\nconst db = new Database(process.env.DB_PATH ?? 'data/links.db');\nconst app = Fastify();\nawait app.listen({ port: 3000 });\n",
    );
    const plan = await planMixes({ dir, mixes: ['litestream-aws'] });
    expect(plan.notes).toContain(
      "The app may listen on the loopback interface only (src/server.js:5: Fastify listens on localhost when given no host): in the container nginx-proxy (or a published port) cannot reach it and every request fails. Listen on host '0.0.0.0', then run again.",
    );
  });
});
