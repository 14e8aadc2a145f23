/** Bytes read so far of how many (`ls-mix snapshot`'s progress bar). */
export type ByteCountListener = (bytesDone: number, bytesTotal: number) => void;
