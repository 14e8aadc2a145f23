import { createApp } from './app.js';
import { createWriteBatcher } from './batch.js';
import { staticDir } from './config.js';
import { dbPath, openDatabase } from './db.js';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '0.0.0.0';

const db = openDatabase();
const batcher = createWriteBatcher(db);
const server = createApp({ db, batcher, staticDir }).listen(port, host, () => {
  console.log(`My App listening on http://${host}:${port} (database ${dbPath})`);
});

// Finish in-flight requests and commit queued writes before exiting, so a supervisor
// (docker stop, ls-mix replicate -exec) never cuts a transaction in half.
function shutdown(signal) {
  console.log(`${signal} received, shutting down`);
  server.close(() => {
    batcher.flush();
    db.close();
    process.exit(0);
  });
  setTimeout(() => process.exit(1), 10_000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
