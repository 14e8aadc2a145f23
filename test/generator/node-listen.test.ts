/**
 * An app that listens on the loopback interface only cannot be reached in its container:
 * said in a note, and only when certain.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { planMixes } from '../../src/generator/index.js';
import { listenPort, loopbackListen } from '../../src/generator/node-listen.js';
import { cleanupTemps, projectWith } from './helpers.js';

afterAll(cleanupTemps);

const at = (text: string) => loopbackListen([{ file: 'src/server.ts', text }])?.reason;
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

  it('a host from an env var with a loopback fallback: the var that would change it', () => {
    expect(
      loopbackListen([
        {
          file: 'src/server.ts',
          text: "const { HOST = 'localhost', PORT = 3000 } = process.env;\napp.listen(PORT, HOST, () => {});\n",
        },
      ]),
    ).toEqual({
      reason: 'src/server.ts:2 listens on localhost unless HOST is set',
      envVar: 'HOST',
      host: 'localhost',
    });
    expect(at("server.listen({ port: 8080, host: process.env.BIND || '127.0.0.1' });\n")).toBe(
      'src/server.ts:1 listens on 127.0.0.1 unless BIND is set',
    );
    expect(at("server.listen({ port: 8080, host: process.env.BIND || '0.0.0.0' });\n")).toBeUndefined();
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

describe('listenPort', () => {
  const port = (text: string, more: Array<{ file: string; text: string }> = []) =>
    listenPort([{ file: 'src/server.js', text }, ...more]);
  const express = "const express = require('express');\nconst app = express();\n";

  it('an env var read first, with its numeric fallback: any case, any cast, through a constant', () => {
    // Shaped like a public app (a lowercase `port` var): the patterns for PORT missed it.
    expect(
      port(`${express}const port = process.env.port || 8080;\napp.listen(port, () => console.log(port));\n`),
    ).toEqual({ port: 8080, envVar: 'port', where: 'src/server.js:4' });
    expect(port(`${express}app.listen(Number(process.env.APP_PORT ?? '4000'));\n`)).toEqual({
      port: 4000,
      envVar: 'APP_PORT',
      where: 'src/server.js:3',
    });
    expect(port(`${express}app.listen(parseInt(process.env.PORT, 10) || +'5000');\n`)).toMatchObject({
      port: 5000,
      envVar: 'PORT',
    });
  });

  it('a destructured env default, an object property, and a value imported from a config module', () => {
    expect(
      port(
        `const { PORT = 5050, HOST = '0.0.0.0' } = process.env;\nserver.listen({ port: PORT, host: HOST });\n`,
      ),
    ).toMatchObject({ port: 5050, envVar: 'PORT' });
    expect(
      port(
        `${express}const config = { port: Number(process.env.HTTP_PORT) || 7000 };\napp.listen(config.port);\n`,
      ),
    ).toMatchObject({ port: 7000, envVar: 'HTTP_PORT' });
    const config = {
      file: 'src/config.ts',
      text: "import 'dotenv/config';\nexport const {\n  NODE_ENV = 'development',\n  PORT = 3000,\n  HOST = 'localhost',\n} = process.env;\n",
    };
    expect(
      port(
        "import { createServer } from 'node:http';\nimport { PORT } from './config';\ncreateServer(app).listen({ port: PORT });\n",
        [config],
      ),
    ).toEqual({ port: 3000, envVar: 'PORT', where: 'src/server.js:3' });
    expect(port(`${express}app.listen(9090);\n`)).toEqual({ port: 9090, where: 'src/server.js:3' });
  });

  it('nothing when the port is an env var without a fallback, out of range, or not a number', () => {
    expect(port(`${express}app.listen(process.env.PORT);\n`)).toBeUndefined();
    expect(port(`${express}app.listen(process.env.PORT || 99999);\n`)).toBeUndefined();
    expect(port(`${express}app.listen(process.env.SOCKET || '/tmp/app.sock');\n`)).toBeUndefined();
    expect(port(`${express}const port = getPort();\napp.listen(port);\n`)).toBeUndefined();
  });
});

describe('add', () => {
  it('takes the port from the listen call when no PORT pattern says it', async () => {
    const dir = await projectWith({
      'package.json': JSON.stringify({
        name: 'hits',
        scripts: { start: 'node index.js' },
        dependencies: { express: '^4.18.1', sqlite3: '^5.1.1', sqlite: '^4.1.2' },
      }),
      'index.js':
        "const express = require('express');\nconst sqlite3 = require('sqlite3');\nconst { open } = require('sqlite');\nopen({ filename: process.env.DATABASE_PATH || 'data/hits.db', driver: sqlite3.Database });\nconst app = express();\nconst port = process.env.port || 8080;\napp.listen(port);\n",
    });
    const plan = await planMixes({ dir, mixes: ['litestream-aws'] });
    expect(plan.facts.port).toMatchObject({
      value: 8080,
      source: 'detected',
      from: 'index.js:7',
      envDefault: 'port',
    });
    expect(plan.notes.join('\n')).not.toMatch(/port not found/);
    const compose = plan.files.find((f) => f.path === '.deploy/docker-compose.yml')!.content;
    expect(compose).toContain('VIRTUAL_PORT: "8080"');
  });

  it('sets the host env var to 0.0.0.0 in its compose file when the app listens on localhost unless it is set', async () => {
    // Shaped like a public Express + TypeScript app: HOST and PORT destructured from process.env
    // with defaults in a config module, the server listening on both.
    const dir = await projectWith({
      'package.json': JSON.stringify({
        name: 'notes-auth',
        main: './dist/src/index.js',
        scripts: { build: 'tsc', start: 'node ./dist/src/index.js' },
        dependencies: { express: '^4.18.2', 'better-sqlite3': '^12.2.0' },
        devDependencies: { typescript: '^5.2.2' },
      }),
      'src/config.ts':
        "export const {\n  NODE_ENV = 'development',\n  PORT = 3000,\n  HOST = 'localhost',\n  DB_PATH = 'data/notes.db',\n} = process.env;\n",
      'src/index.ts':
        "import { createServer } from 'node:http';\nimport Database from 'better-sqlite3';\nimport { DB_PATH, HOST, PORT } from './config';\nexport const db = new Database(process.env.DB_PATH ?? 'data/notes.db');\nconst server = createServer();\nserver.listen({ host: HOST, port: PORT }, () => console.log(HOST, PORT, DB_PATH));\n",
    });
    const plan = await planMixes({ dir, mixes: ['litestream-aws'] });
    expect(plan.facts.port).toMatchObject({ value: 3000, from: 'src/index.ts:6', envDefault: 'PORT' });
    expect(plan.notes).toContain(
      'The app listens on the loopback interface unless HOST is set (src/index.ts:6 listens on localhost unless HOST is set), where nginx-proxy could not reach it: the compose file sets HOST=0.0.0.0 for the app.',
    );
    const compose = parse(plan.files.find((f) => f.path === '.deploy/docker-compose.yml')!.content);
    expect(compose.services.app.environment.HOST).toBe('0.0.0.0');
    expect(compose.services.migrate?.environment?.HOST).toBeUndefined();

    // Their own compose keeps its app service as written: told what to add instead.
    await mkdir(path.join(dir, '.deploy'), { recursive: true });
    await writeFile(
      path.join(dir, '.deploy/docker-compose.yml'),
      'services:\n  app:\n    build: ..\n    environment:\n      - DB_PATH=/data/notes.db\n    volumes:\n      - notes:/data\nvolumes:\n  notes:\n',
    );
    const theirs = await planMixes({ dir, mixes: ['litestream-aws'] });
    expect(theirs.notes.join('\n')).toContain(
      "Your .deploy/docker-compose.yml does not set HOST for 'app': the app listens on the loopback interface unless it is set (src/index.ts:6 listens on localhost unless HOST is set), where nginx-proxy cannot reach it. Add `HOST: \"0.0.0.0\"` to that service's environment.",
    );
    expect(theirs.notes.join('\n')).not.toContain('the compose file sets HOST=0.0.0.0');
  });

  it('says so in a note', async () => {
    const dir = await projectWith({
      'package.json': JSON.stringify({
        name: 'links',
        main: 'src/server.js',
        scripts: { start: 'node src/server.js' },
        dependencies: { fastify: '^5.4.0', 'better-sqlite3': '^12.2.0' },
      }),
      'src/server.js':
        "import Fastify from 'fastify';\nimport Database from 'better-sqlite3';\nconst db = new Database(process.env.DB_PATH ?? 'data/links.db');\nconst app = Fastify();\nawait app.listen({ port: 3000 });\n",
    });
    const plan = await planMixes({ dir, mixes: ['litestream-aws'] });
    expect(plan.notes).toContain(
      "The app may listen on the loopback interface only (src/server.js:5: Fastify listens on localhost when given no host): in the container nginx-proxy (or a published port) cannot reach it and every request fails. Listen on host '0.0.0.0', then run again.",
    );
  });
});
