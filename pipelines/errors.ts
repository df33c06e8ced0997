// Pipeline errors carry a stable code and say whether trying again can help. Queue adapters turn the
// non-retriable ones into failures that are never retried (and dead-lettered); everything else is retried.
import { EngineError } from '../engine/errors.ts';
import type { ErrorCode, PermanentCode, TransientCode } from '../schemas/error-codes.ts';

export class PipelineError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: { retriable: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PipelineError';
    this.code = code;
    this.retriable = options.retriable;
  }
}

/** Bad input or a broken invariant: retrying gives the same answer (the catalogue says the code may be such). */
export function permanent(code: PermanentCode, message: string, cause?: unknown): PipelineError {
  return new PipelineError(code, message, { retriable: false, cause });
}

/** Passing trouble (a network read, a vanished blob between two reads): worth another attempt. */
export function transient(code: TransientCode, message: string, cause?: unknown): PipelineError {
  return new PipelineError(code, message, { retriable: true, cause });
}

/**
 * Redis at its maxmemory (with noeviction) refuses writes with an "OOM" reply. Retrying only adds writes to a
 * full Redis (and BullMQ's own retry bookkeeping is refused too), so the document fails with this code.
 */
export const REDIS_OOM = 'E_REDIS_OOM' satisfies ErrorCode;

function isRedisOom(err: unknown): boolean {
  return /^OOM command not allowed/.test(String((err as { message?: unknown })?.message ?? ''));
}

/** Unknown errors (Redis or network failures) are retriable: they are the passing kind far more often. */
export function isRetriable(err: unknown): boolean {
  if (err instanceof PipelineError || err instanceof EngineError) return err.retriable;
  return !isRedisOom(err);
}

export function errorCode(err: unknown): string {
  if (err instanceof PipelineError || err instanceof EngineError) return err.code;
  if (isRedisOom(err)) return REDIS_OOM;
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' ? code : 'E_INTERNAL';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
