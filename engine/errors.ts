// Engine errors keep the native code (E_MODEL_VERSION, E_STATE_MISMATCH, ...) so callers can branch on it and
// queue workers can tell bad input (never retried) from passing trouble.
const NON_RETRIABLE = new Set([
  'E_MODEL_FORMAT', 'E_MODEL_TRUNCATED', 'E_MODEL_LEGACY_PICKLE', 'E_MODEL_DTYPE', 'E_MODEL_VERSION', 'E_MODEL_SHAPE', 'E_MODEL_LIMIT',
  'E_TOKENIZER', 'E_TOKENIZER_MISMATCH', 'E_TOKEN', 'E_STATE', 'E_STATE_MISMATCH', 'E_ARGUMENT', 'E_ADDON_MISSING',
  // A slot misused is a bug, and no GPU or a driver too old does not heal by retrying.
  'E_SLOT', 'E_NO_DEVICE', 'E_CUDA_DRIVER',
]);

export class EngineError extends Error {
  readonly code: string;
  readonly retriable: boolean;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EngineError';
    this.code = code;
    this.retriable = !NON_RETRIABLE.has(code);
  }

  /** Wraps an error thrown by the addon (which carries `.code`) without losing the message. */
  static from(err: unknown): EngineError {
    if (err instanceof EngineError) return err;
    const e = err as { code?: unknown; message?: unknown };
    const code = typeof e?.code === 'string' ? e.code : 'E_INTERNAL';
    return new EngineError(code, typeof e?.message === 'string' ? e.message : String(err), { cause: err });
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
