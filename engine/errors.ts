// Engine errors keep the native code (E_MODEL_VERSION, E_STATE_MISMATCH, ...) so callers can branch on it and
// queue workers can tell bad input (never retried) from passing trouble: the catalogue (schemas/error-codes.ts)
// says which codes are which. A slot misused is a bug, and no GPU or a driver too old does not heal by retrying.
import { errorCodeInfo, isErrorCode, type ErrorCode } from '../schemas/error-codes.ts';

/** Retried unless the catalogue says the code never is; a code from outside it (a Node error) is retried. */
function retriableCode(code: string): boolean {
  return !isErrorCode(code) || errorCodeInfo(code).retriable !== false;
}

export class EngineError extends Error {
  /** A catalogue code; only from() keeps another one, of a foreign error it wraps. */
  readonly code: ErrorCode | (string & {});
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EngineError';
    this.code = code;
    this.retriable = retriableCode(code);
  }

  /** Wraps an error thrown by the addon (which carries `.code`) without losing the message. */
  static from(err: unknown): EngineError {
    if (err instanceof EngineError) return err;
    const e = err as { code?: unknown; message?: unknown };
    const code = typeof e?.code === 'string' ? e.code : 'E_INTERNAL';
    const wrapped = new EngineError('E_INTERNAL', typeof e?.message === 'string' ? e.message : String(err), {
      cause: err,
    });
    // The addon's codes are the catalogue's; a Node error (say, while loading the addon) keeps its own.
    return code === 'E_INTERNAL' ? wrapped : Object.assign(wrapped, { code, retriable: retriableCode(code) });
  }
}

/** The synchronous form of engineCall, for the addon's synchronous calls. */
export function engineCallSync<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw EngineError.from(err);
  }
}

/** Runs `fn`, rethrowing addon errors as EngineError (with the caller's stack). */
export async function engineCall<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw EngineError.from(err);
  }
}
