// A log file as lines: split on "\n", a trailing "\r" dropped (CRLF files), numbered from 1. Read in large
// pieces, so memory holds one piece and the line being assembled, whatever the file's size.
import { createReadStream } from 'node:fs';

export interface Line {
  /** 1-based line number in the file. */
  number: number;
  /** The line's bytes without its terminator. */
  bytes: Buffer;
}

function trimCr(bytes: Buffer): Buffer {
  return bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.subarray(0, -1) : bytes;
}

export async function* readLines(file: string): AsyncGenerator<Line> {
  // The start of a line that continues into the next piece (kept as a list: a long line is joined once).
  let pending: Buffer[] = [];
  let number = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    const piece = chunk as Buffer;
    let start = 0;
    for (let end = piece.indexOf(0x0a); end >= 0; end = piece.indexOf(0x0a, start)) {
      const tail = piece.subarray(start, end);
      const line = pending.length > 0 ? Buffer.concat([...pending, tail]) : tail;
      pending = [];
      yield { number: ++number, bytes: trimCr(line) };
      start = end + 1;
    }
    if (start < piece.length) pending.push(piece.subarray(start));
  }
  if (pending.length > 0) yield { number: ++number, bytes: trimCr(Buffer.concat(pending)) };
}
