// Process logs: pino JSON on stderr (stdout belongs to command output). The level comes from
// RWKVSTREAM_LOG_LEVEL (default info); tests run with "silent".
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

export function createLogger(name: string, level = process.env.RWKVSTREAM_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}

/** A logger that writes nothing (library use and tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
