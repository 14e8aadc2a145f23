import { describe, expect, it } from 'vitest';
import type { ReplicaClient, WalSegmentInfo } from '../../../runtime/replica/client.js';
import {
  chooseGeneration,
  type GenerationSummary,
  summarizeGeneration,
} from '../../../runtime/restore/plan.js';
import { formatLag, formatObjectTime } from '../../../runtime/restore.js';

const gen = (generation: string, start: string, end: string): GenerationSummary => ({
  replica: 'r',
  generation,
  createdAt: new Date(start),
  updatedAt: new Date(end),
  snapshots: [],
  segments: [],
});

describe('chooseGeneration', () => {
  const a = gen('aaaaaaaaaaaaaaaa', '2026-01-01T10:00:00Z', '2026-01-01T11:00:00Z');
  const b = gen('bbbbbbbbbbbbbbbb', '2026-01-01T12:00:00Z', '2026-01-01T13:00:00Z');

  it('latest = newest object time, not name order', () => {
    expect(chooseGeneration([b, a], {})?.generation).toBe(b.generation);
    const late = gen('0000000000000000', '2026-01-01T13:30:00Z', '2026-01-01T14:00:00Z');
    expect(chooseGeneration([a, b, late], {})?.generation).toBe(late.generation);
  });

  it('refuses to guess when times cannot order generations (overlap, all equal)', () => {
    const spanning = gen('0000000000000000', '2026-01-01T09:00:00Z', '2026-01-01T14:00:00Z');
    expect(() => chooseGeneration([a, b, spanning], {})).toThrow(
      /cannot tell which generation is the latest/,
    );
    const same = (g: string) => gen(g, '2026-01-01T10:00:00Z', '2026-01-01T10:00:00Z');
    expect(() => chooseGeneration([same('aaaaaaaaaaaaaaaa'), same('bbbbbbbbbbbbbbbb')], {})).toThrow(
      /cannot tell/,
    );
    // -generation settles it.
    expect(chooseGeneration([a, b, spanning], { generation: a.generation })?.generation).toBe(a.generation);
  });

  it('a timestamp picks the generation containing it', () => {
    expect(chooseGeneration([a, b], { timestamp: new Date('2026-01-01T10:30:00Z') })?.generation).toBe(
      a.generation,
    );
    expect(chooseGeneration([a, b], { timestamp: new Date('2026-01-01T12:30:00Z') })?.generation).toBe(
      b.generation,
    );
  });

  it('between generations: the one that ended last before it; before all: none', () => {
    expect(chooseGeneration([a, b], { timestamp: new Date('2026-01-01T11:30:00Z') })?.generation).toBe(
      a.generation,
    );
    expect(chooseGeneration([a, b], { timestamp: new Date('2026-01-01T09:00:00Z') })).toBeUndefined();
  });

  it('-generation restricts the choice', () => {
    expect(chooseGeneration([a, b], { generation: a.generation })?.generation).toBe(a.generation);
    expect(chooseGeneration([a, b], { generation: 'cccccccccccccccc' })).toBeUndefined();
  });
});

describe('listing formats', () => {
  it('prints lags like Go durations and times as RFC 3339', () => {
    expect(formatLag(400)).toBe('0s');
    expect(formatLag(4_999)).toBe('4s');
    expect(formatLag(90_000)).toBe('1m30s');
    expect(formatLag(26 * 3_600_000 + 3 * 60_000)).toBe('26h3m0s');
    expect(formatObjectTime(new Date('2026-11-22T01:59:05.565Z'))).toBe('2026-11-22T01:59:05Z');
  });
});

describe('summarizeGeneration', () => {
  it('handles a generation with more segments than a function takes arguments (200k)', async () => {
    // A listing as any replica client returns it (the storage clients have their own suites).
    const generation = '0123456789abcdef';
    const segments: WalSegmentInfo[] = Array.from({ length: 200_000 }, (_, i) => ({
      generation,
      index: 0,
      offset: 32 + i * 4128,
      size: 100,
      createdAt: new Date(2_000_000 + i),
    }));
    segments[7].createdAt = new Date(1_000);
    const client = {
      snapshots: async () => [],
      walSegments: async () => segments,
    } as unknown as ReplicaClient;
    const s = await summarizeGeneration('r', client, generation);
    expect(s?.segments).toHaveLength(200_000);
    expect(s?.createdAt.getTime()).toBe(1_000);
    expect(s?.updatedAt.getTime()).toBe(2_000_000 + 199_999);
  });
});
