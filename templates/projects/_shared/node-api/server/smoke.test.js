import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { createApp } from './app.js';
import { createWriteBatcher } from './batch.js';

const dir = mkdtempSync(join(tmpdir(), 'my-app-test-'));
const dbPath = join(dir, 'app.db');
process.env.DB_PATH = dbPath; // read when db.js loads, so import it afterwards
const { openDatabase } = await import('./db.js');
let db;
let server;
let base;

before(async () => {
  db = openDatabase();
  server = createApp({ db, batcher: createWriteBatcher(db) }).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(() => {
  server.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

test('health check answers', async () => {
  const res = await fetch(`${base}/healthz`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { ok: true });
});

test('notes are written to SQLite in WAL mode, concurrent writes batched', async () => {
  const posts = Array.from({ length: 50 }, (_, i) =>
    fetch(`${base}/api/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: `note ${i}` }),
    }),
  );
  const responses = await Promise.all(posts);
  assert.ok(responses.every((r) => r.status === 201));

  const list = await (await fetch(`${base}/api/notes?limit=100`)).json();
  assert.equal(list.length, 50);

  const check = new Database(dbPath, { readonly: true });
  assert.equal(check.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(check.prepare('SELECT count(*) AS n FROM notes').get().n, 50);
  check.close();
});

test('bad input is refused without writing', async () => {
  const res = await fetch(`${base}/api/notes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: '' }),
  });
  assert.equal(res.status, 400);
});
