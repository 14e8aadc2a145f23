import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';

/** A free TCP port on 127.0.0.1 (the OS picks it). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** Polls `url` until it answers 200 (bounded: ~30 s), failing early if the process died. */
export async function waitForHttp(url: string, proc: ResultPromise): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (proc.exitCode !== null) throw new Error(`process exited (${proc.exitCode}) before ${url} answered`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer within 30 s`);
}

/** Posts `count` notes at once (the app batches them into transactions). */
export async function postNotes(base: string, count: number, prefix = 'note'): Promise<void> {
  const responses = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      fetch(`${base}/api/notes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: `${prefix} ${i}` }),
      }),
    ),
  );
  const bad = responses.filter((r) => r.status !== 201);
  if (bad.length > 0) throw new Error(`${bad.length} POSTs failed (first: ${bad[0].status})`);
}

/** Starts `node server/index.js` of a scaffolded app on 127.0.0.1. */
export function startNodeApp(dir: string, env: Record<string, string>) {
  return execa('node', ['server/index.js'], {
    cwd: dir,
    env: { HOST: '127.0.0.1', ...env },
    reject: false,
    timeout: 120_000,
  });
}
