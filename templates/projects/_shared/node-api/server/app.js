import express from 'express';

/** The HTTP API: a health check and a small notes resource backed by SQLite. */
export function createApp({ db, batcher, staticDir }) {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '16kb' }));

  const listNotes = db.prepare('SELECT id, text, created_at FROM notes ORDER BY id DESC LIMIT ?');
  const insertNote = db.prepare('INSERT INTO notes (text) VALUES (?) RETURNING id, text, created_at');
  const ping = db.prepare('SELECT 1');

  app.get('/healthz', (_req, res) => {
    ping.get();
    res.json({ ok: true });
  });

  app.get('/api/notes', (req, res) => {
    const limit = Math.min(Math.max(Number.parseInt(req.query.limit, 10) || 50, 1), 500);
    res.json(listNotes.all(limit));
  });

  app.post('/api/notes', async (req, res, next) => {
    const text = typeof req.body?.text === 'string' ? req.body.text.trim() : '';
    if (text.length < 1 || text.length > 1000) {
      res.status(400).json({ error: 'text must be 1 to 1000 characters' });
      return;
    }
    try {
      res.status(201).json(await batcher.write(() => insertNote.get(text)));
    } catch (err) {
      next(err);
    }
  });

  if (staticDir) app.use(express.static(staticDir));
  return app;
}
