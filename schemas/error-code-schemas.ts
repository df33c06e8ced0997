// The zod side of the error catalogue (error-codes.ts, which imports nothing so that every command can load it
// at start): the shape of an entry, and the codes as schemas for codes read back from stores and records.
import { z } from 'zod';

import { PERMANENT_CODES, type ErrorCodeInfo } from './error-codes.ts';

export const ErrorCodeInfoSchema = z.strictObject({
  /** What went wrong, in one sentence. */
  meaning: z.string().min(1),
  /** What the user does next. */
  hint: z.string().min(1),
  /**
   * Whether trying the same work again can help, where the error carrying the code says so (a worker retries
   * such failures, the downloader resumes): `by cause` when it depends on the cause (an HTTP status, a network
   * error). Absent for codes whose errors carry no such notion (a command's usage, a service at start).
   */
  retriable: z.union([z.boolean(), z.literal('by cause')]).optional(),
  /** Raised by the native engine: the code is one of native/include/rwkv/error.h. */
  native: z.literal(true).optional(),
  /** The exit status of a command that stops on it, where it is not the general failure (README, "Exit codes"). */
  exit: z.enum(['usage', 'unreachable']).optional(),
});

// The catalogue's entry type and this schema describe the same object: each must accept the other.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const entryTypesAgree: Same<
  z.infer<typeof ErrorCodeInfoSchema>,
  { -readonly [K in keyof ErrorCodeInfo]: ErrorCodeInfo[K] }
> = true;
void entryTypesAgree;

/** A permanent code read back from a store or a record (a part's refusal, a dead letter of ingest). */
export const PermanentCodeSchema = z.enum(PERMANENT_CODES);
