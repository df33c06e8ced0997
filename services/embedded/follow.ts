// A log file read from a position, and with `follow` kept open as it grows, the way `tail -F` follows it:
// appended lines are read as they are written; when the file at the path is replaced (rotated: a new file
// under the name) the rest of the old file is read first, then the new one from its start; a file truncated in
// place (copytruncate) is read again from its start. Each new file (or truncation) starts a new generation,
// whose lines are numbered from 1.
import { open, stat, type FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

import { permanent } from '../../pipelines/errors.ts';
import { describeIoError } from '../adapters/files/errors.ts';
import { LineSplitter, type PositionedLine } from '../adapters/files/lines.ts';

/** Where a reader of a file is: after line `line` of generation `generation`, at byte `byte` of file `ino`. */
export interface FilePosition {
  generation: number;
  line: number;
  byte: number;
  /** The file's identity (device and inode), to tell a rotated file from the one the position is in. */
  file: string;
}

export interface FollowedLine extends PositionedLine {
  generation: number;
  /** The identity of the file the line is in. */
  file: string;
}

export interface FollowOptions {
  maxLineBytes: number;
  /** Keep reading as the file grows and is rotated, until `signal` is aborted. */
  follow: boolean;
  signal: AbortSignal;
  /** How often a followed file is looked at when nothing new was read. */
  pollMs?: number;
  /** Told when the file was rotated or truncated (for a message). */
  onNewFile?: (why: 'rotated' | 'truncated') => void;
  /** Told each time a followed file has been read to its end and is waiting for more. */
  onCaughtUp?: () => void;
}

const READ_BYTES = 1 << 20;

function identity(info: { dev: number; ino: number }): string {
  return `${info.dev}:${info.ino}`;
}

async function openFile(file: string): Promise<{ handle: FileHandle; id: string; size: number }> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw permanent('E_INPUT', `cannot read ${file}: ${describeIoError(err)}`, err);
  }
  const info = await handle.stat();
  if (!info.isFile()) {
    await handle.close();
    throw permanent('E_INPUT', `${file} is not a file`);
  }
  return { handle, id: identity(info), size: info.size };
}

/** The file's identity and size now, or null while nothing is at the path (between a rotation's two steps). */
async function look(file: string): Promise<{ id: string; size: number } | null> {
  try {
    const info = await stat(file);
    return { id: identity(info), size: info.size };
  } catch {
    return null;
  }
}

/**
 * The lines of `file` after `from` (from its start when null, or when the file at the path is not the one the
 * position was in, or is shorter than it: a new generation). A last line without a terminator is given at the
 * end of a file that is not followed, or of a rotated file once it is left; a followed file's partial last line
 * waits for its end.
 */
export async function* fileLines(
  file: string,
  from: FilePosition | null,
  options: FollowOptions,
): AsyncGenerator<FollowedLine> {
  const pollMs = options.pollMs ?? 100;
  let current = await openFile(file);
  let generation = from?.generation ?? 0;
  let start = 0;
  let line = 0;
  if (from !== null && from.file === current.id && from.byte <= current.size) {
    start = from.byte;
    line = from.line;
  } else if (from !== null) {
    generation++;
    options.onNewFile?.(from.file === current.id ? 'truncated' : 'rotated');
  }
  const buffer = Buffer.allocUnsafe(READ_BYTES);
  let splitter = new LineSplitter({ maxLineBytes: options.maxLineBytes, firstNumber: line + 1, offset: start });
  let at = start;
  const lines = (list: PositionedLine[]) => list.map((l) => ({ ...l, generation, file: current.id }));
  try {
    while (!options.signal.aborted) {
      const { bytesRead } = await current.handle.read(buffer, 0, READ_BYTES, at);
      if (bytesRead > 0) {
        at += bytesRead;
        yield* lines(splitter.push(buffer.subarray(0, bytesRead)));
        continue;
      }
      if (!options.follow) break;
      const now = await look(file);
      const size = (await current.handle.stat()).size;
      if (size < at) {
        // Truncated in place: whatever it holds now is new.
        splitter = new LineSplitter({ maxLineBytes: options.maxLineBytes, firstNumber: 1, offset: 0 });
        at = 0;
        generation++;
        options.onNewFile?.('truncated');
        continue;
      }
      if (now !== null && now.id !== current.id) {
        // Rotated. The old file was read to its end just now; what it had without a terminator is its last line.
        const last = splitter.end();
        if (last) yield* lines([last]);
        await current.handle.close();
        current = await openFile(file);
        splitter = new LineSplitter({ maxLineBytes: options.maxLineBytes, firstNumber: 1, offset: 0 });
        at = 0;
        generation++;
        options.onNewFile?.('rotated');
        continue;
      }
      options.onCaughtUp?.();
      try {
        await sleep(pollMs, undefined, { signal: options.signal });
      } catch {
        break;
      }
    }
    if (!options.follow && !options.signal.aborted) {
      const last = splitter.end();
      if (last) yield* lines([last]);
    }
  } finally {
    await current.handle.close();
  }
}
