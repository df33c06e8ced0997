// Process logs on stderr (stdout belongs to command output): pino JSON for machines and files, or one
// readable line per entry on a terminal ("12:00:01 WARN  message  key=value ..."). The format is chosen by
// the logFormat setting: auto (pretty when stderr is a terminal), pretty or json. Tests run with "silent".
import pino, { type DestinationStream, type Logger } from 'pino';

import type { LogFormat } from '../schemas/app-config.ts';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level?: string;
  format?: LogFormat;
  /** Where lines go (default: stderr). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** Fields every entry has, left out of the readable line. */
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg']);

function show(value: unknown): string {
  if (typeof value === 'string') return /[\s="]/.test(value) || value === '' ? JSON.stringify(value) : value;
  return JSON.stringify(value);
}

/** One pino JSON line as a person reads it. */
export function prettyLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 19) : '';
  const level = (LEVELS[entry.level as number] ?? String(entry.level)).padEnd(5);
  const fields = Object.entries(entry)
    .filter(([key, value]) => !HIDDEN.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${show(value)}`);
  return `${time} ${level} ${String(entry.msg ?? '')}${fields.length > 0 ? `  ${fields.join(' ')}` : ''}\n`;
}

function prettyStream(out: NodeJS.WritableStream): DestinationStream {
  return {
    write: (line: string) =>
      void out.write(
        line
          .split('\n')
          .filter((l) => l.length > 0)
          .map(prettyLine)
          .join(''),
      ),
  };
}

export function createLogger(name: string, options: LoggerOptions | string = {}): Logger {
  const { level = 'info', format = 'auto', stream } = typeof options === 'string' ? { level: options } : options;
  const out = stream ?? process.stderr;
  const pretty = format === 'pretty' || (format === 'auto' && out.isTTY === true);
  const destination = pretty
    ? prettyStream(out)
    : stream
      ? { write: (line: string) => void stream.write(line) }
      : pino.destination({ fd: 2, sync: true });
  return pino({ name, level, base: { pid: process.pid } }, destination);
}

/** A logger that writes nothing (library use and tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
