/** When replicate says each WAL segment was stored (for the lag figure). */

/**
 * replicate's `wal segment written` debug lines (JSON logging): when each segment's write was
 * acknowledged, by `<generation>/<index>_<offset>` as in the segment's key. The log's time has
 * millisecond resolution (rounded down).
 */
export function watchAcks(stdout: NodeJS.ReadableStream): Map<string, number> {
  const acks = new Map<string, number>();
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  let rest = '';
  stdout.on('data', (d: Buffer) => {
    const lines = (rest + d.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.includes('wal segment written')) continue;
      try {
        const j = JSON.parse(line) as { time: string; generation: string; index: number; offset: number };
        acks.set(`${j.generation}/${hex(j.index)}_${hex(j.offset)}`, Date.parse(j.time));
      } catch {
        // not a log line of ours
      }
    }
  });
  return acks;
}

/** The ack lookup key of a segment key (`.../generations/G/wal/IIIIIIII_OOOOOOOO.wal.lz4`). */
export function ackKey(key: string): string | undefined {
  const m = /generations\/([0-9a-f]+)\/wal\/([0-9a-f]{8}_[0-9a-f]{8})\.wal\.lz4$/.exec(key);
  return m ? `${m[1]}/${m[2]}` : undefined;
}
