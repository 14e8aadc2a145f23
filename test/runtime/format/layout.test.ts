import { describe, expect, it } from 'vitest';
import {
  assertGenerationId,
  isGenerationId,
  newGenerationId,
  parseKey,
  parseSnapshotFileName,
  parseWalSegmentFileName,
  snapshotKey,
  walSegmentKey,
} from '../../../runtime/format/layout.js';

describe('replica layout', () => {
  it('builds Litestream v0.3.13 keys', () => {
    expect(snapshotKey('63117748c68cfd7a', 0)).toBe(
      'generations/63117748c68cfd7a/snapshots/00000000.snapshot.lz4',
    );
    expect(walSegmentKey('63117748c68cfd7a', 1, 0x121d0)).toBe(
      'generations/63117748c68cfd7a/wal/00000001_000121d0.wal.lz4',
    );
    expect(walSegmentKey('63117748c68cfd7a', 0xffffffff, 0)).toBe(
      'generations/63117748c68cfd7a/wal/ffffffff_00000000.wal.lz4',
    );
  });

  it('round-trips keys through the parser', () => {
    expect(parseKey(walSegmentKey('0123456789abcdef', 10, 0x1038))).toEqual({
      kind: 'wal',
      generation: '0123456789abcdef',
      index: 10,
      offset: 0x1038,
    });
    expect(parseKey(snapshotKey('0123456789abcdef', 3))).toEqual({
      kind: 'snapshot',
      generation: '0123456789abcdef',
      index: 3,
    });
  });

  it('ignores names that are not replica objects', () => {
    expect(parseSnapshotFileName('00000000.snapshot.lz4.tmp')).toBeUndefined();
    expect(parseSnapshotFileName('0000000.snapshot.lz4')).toBeUndefined();
    expect(parseWalSegmentFileName('00000000_0000000G.wal.lz4')).toBeUndefined();
    expect(parseWalSegmentFileName('00000000.wal')).toBeUndefined();
    expect(parseKey('generations/0123456789ABCDEF/wal/00000000_00000000.wal.lz4')).toBeUndefined();
    expect(parseKey('generations/0123456789abcdef/other/00000000.snapshot.lz4')).toBeUndefined();
  });

  it('generates and validates generation ids', () => {
    const ids = new Set(Array.from({ length: 50 }, () => newGenerationId()));
    expect(ids.size).toBe(50);
    for (const id of ids) expect(isGenerationId(id)).toBe(true);
    expect(isGenerationId('0123456789abcde')).toBe(false);
    expect(() => assertGenerationId('../../etc')).toThrow('invalid generation "../../etc"');
    expect(() => snapshotKey('nope', 0)).toThrow('invalid generation');
    expect(() => walSegmentKey('0123456789abcdef', -1, 0)).toThrow(RangeError);
  });
});
