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

/** A line read from a growing input: where it ends, so a reader can resume after it. */
export interface PositionedLine extends Line {
  /** Byte offset just after the line's terminator (or its last byte, for a last line without one). */
  end: number;
  /** The line was longer than the splitter keeps: `bytes` holds only its first `maxLineBytes + 1` bytes. */
  cut: boolean;
}

/**
 * Splits bytes that arrive in pieces into lines, keeping at most `maxLineBytes + 1` bytes of any line: a
 * longer line is still counted (and cut, so whoever takes it in can refuse it as too long), but memory holds
 * no more than that, whatever the producer writes.
 */
export class LineSplitter {
  readonly #maxLineBytes: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #cut = false;
  #number: number;
  #offset: number;

  constructor(options: { maxLineBytes: number; firstNumber?: number; offset?: number }) {
    this.#maxLineBytes = options.maxLineBytes;
    this.#number = (options.firstNumber ?? 1) - 1;
    this.#offset = options.offset ?? 0;
  }

  /** Bytes of a line started but not yet ended. */
  get partialBytes(): number {
    return this.#pendingBytes;
  }

  #keep(piece: Buffer): void {
    const room = this.#maxLineBytes + 1 - this.#pendingBytes;
    if (piece.length > room) this.#cut = true;
    const kept = piece.length > room ? piece.subarray(0, Math.max(0, room)) : piece;
    if (kept.length > 0) {
      // Copied: the reader may reuse its buffer for the next piece.
      this.#pending.push(Buffer.from(kept));
      this.#pendingBytes += kept.length;
    }
  }

  #emit(end: number): PositionedLine {
    const bytes = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending);
    const line = { number: ++this.#number, bytes: trimCr(bytes), end, cut: this.#cut };
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#cut = false;
    return line;
  }

  /** The lines `piece` completes. */
  push(piece: Buffer): PositionedLine[] {
    const out: PositionedLine[] = [];
    let start = 0;
    for (let nl = piece.indexOf(0x0a); nl >= 0; nl = piece.indexOf(0x0a, start)) {
      this.#keep(piece.subarray(start, nl));
      out.push(this.#emit(this.#offset + nl + 1));
      start = nl + 1;
    }
    if (start < piece.length) this.#keep(piece.subarray(start));
    this.#offset += piece.length;
    return out;
  }

  /** The last line, when the input ended without a terminator. */
  end(): PositionedLine | null {
    return this.#pendingBytes > 0 || this.#cut ? this.#emit(this.#offset) : null;
  }
}

/** The lines of a stream (standard input, a pipe) as they arrive; stops early when `signal` is aborted. */
export async function* streamLines(
  stream: AsyncIterable<Buffer | string>,
  maxLineBytes: number,
  signal?: AbortSignal,
): AsyncGenerator<PositionedLine> {
  const splitter = new LineSplitter({ maxLineBytes });
  for await (const chunk of stream) {
    if (signal?.aborted) return;
    yield* splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }
  const last = splitter.end();
  if (last && !signal?.aborted) yield last;
}

/** The items of `source` until `signal` is aborted: a quiet input's pending read does not hold a stop back. */
export async function* untilStopped<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  if (signal.aborted) return;
  const stopped = new Promise<null>((resolve) => signal.addEventListener('abort', () => resolve(null), { once: true }));
  const it = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await Promise.race([it.next(), stopped]);
      if (next === null || next.done === true) return;
      yield next.value;
    }
  } finally {
    void it.return?.(undefined)?.catch(() => {});
  }
}
