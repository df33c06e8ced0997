// How commands speak: results as JSON (or text) on stdout, diagnostics on stderr, and a non-zero exit with
// the error's code for anything that failed. The exit statuses are listed in the README ("Exit codes").
import type { z } from 'zod';

import { EngineError } from '../../engine/errors.ts';
import { errorCodeInfo, isErrorCode, type ErrorCode } from '../../schemas/error-codes.ts';
import { EXIT_UNREACHABLE } from '../service-errors.ts';

export const EXIT = {
  ok: 0,
  /** Anything else that failed. */
  error: 1,
  /** A bad flag, argument or setting. */
  usage: 2,
  /** No result (yet): an unknown id, or a document still running when the wait ended. */
  noResult: 3,
  /** The document failed or was refused; its failure record says why. */
  failed: 4,
  /** Redis or Kafka did not answer. */
  unreachable: EXIT_UNREACHABLE,
  /** Stopped by Ctrl-C (SIGINT), as a shell reports a process its signal ended (128 + 2). */
  interrupted: 130,
  /** Stopped by SIGTERM (128 + 15). */
  terminated: 143,
} as const;

/** The exit status of a command that a signal stopped. */
export function signalExit(signal: NodeJS.Signals | undefined): number {
  return signal === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

export class UsageError extends Error {
  readonly code = 'E_USAGE' satisfies ErrorCode;
}

/** The exit status the catalogue gives the error's code (a usage error 2, an unreachable service 5), else 1. */
export function exitCodeOf(err: unknown): number {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  const exit = typeof code === 'string' && isErrorCode(code) ? errorCodeInfo(code).exit : undefined;
  return exit === undefined ? EXIT.error : EXIT[exit];
}

export function reportError(err: unknown): never {
  const code = err instanceof EngineError || err instanceof UsageError ? err.code : (err as { code?: string })?.code;
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`rwkvstream: ${code ? `${code}: ` : ''}${message}\n`);
  process.exit(exitCodeOf(err));
}

/** A reader that closed stdout early (`| head`) took what it wanted: the command ends quietly, successfully. */
export function quietOnClosedStdout(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.ok);
    throw err;
  });
}

/** "1,2,3" -> [1, 2, 3]; refuses anything that is not a list of non-negative integers. */
export function parseIdList(text: string, what: string): number[] {
  const parts = text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  const ids = parts.map(Number);
  if (parts.length === 0 || ids.some((n) => !Number.isInteger(n) || n < 0 || n > 0x7fffffff)) {
    throw new UsageError(`${what} must be a comma-separated list of non-negative integers, got "${text}"`);
  }
  return ids;
}

/** A number flag, or a usage error naming it. */
export function numberFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${value}"`);
  return n;
}

/** Parses with a schema, reporting the first problem as a usage error about `what`. */
export function parseFlags<S extends z.ZodType>(schema: S, input: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`${what} ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

export async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
