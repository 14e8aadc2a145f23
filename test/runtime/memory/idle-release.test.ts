import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { IdleRelease } from '../../../runtime/memory.js';

describe('IdleRelease', () => {
  it('releases once nobody has used the cache for idleMs, not while a user is in or comes back', async () => {
    let released = 0;
    const users = new IdleRelease(() => released++, 100);
    users.enter();
    users.enter();
    users.leave();
    await sleep(250);
    expect(released).toBe(0); // one user still in
    users.leave();
    users.enter(); // the next object right after: the pending release is cancelled
    await sleep(250);
    expect(released).toBe(0);
    users.leave();
    for (let i = 0; i < 100 && released === 0; i++) await sleep(50); // bounded: 5 s
    expect(released).toBe(1);
    await sleep(250);
    expect(released).toBe(1); // once per idle period
  });
});
