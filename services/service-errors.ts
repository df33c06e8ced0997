// A service that does not answer, said in one line a person can act on: which service, at which address,
// which setting chose that address, what went wrong, and the next step (doctor's fix for the same problem).
import { KAFKA_FIX, REDIS_FIX, reason, redactUrl } from './doctor/services-checks.ts';

export type ServiceName = 'redis' | 'kafka';

/** Exit status of a command that gave up on an unreachable service (README, "Exit codes"). */
export const EXIT_UNREACHABLE = 5;

/** "no answer from Redis at redis://h:1 (environment REDIS_URL): connect ECONNREFUSED ..." (no password). */
export function unreachable(service: ServiceName, address: string, origin: string, cause: unknown): string {
  const where = service === 'redis' ? `Redis at ${redactUrl(address)}` : `Kafka at ${address}`;
  return `no answer from ${where} (${origin}): ${reason(cause)}`;
}

export class UnreachableError extends Error {
  readonly code: string;

  constructor(readonly service: ServiceName, address: string, origin: string, cause: unknown, extra = '') {
    super(`${unreachable(service, address, origin, cause)}${extra}; ${service === 'redis' ? REDIS_FIX : KAFKA_FIX}`);
    this.name = 'UnreachableError';
    this.code = service === 'redis' ? 'E_REDIS_UNREACHABLE' : 'E_KAFKA_UNREACHABLE';
  }
}

/** Waits between connection attempts: 1 s, 2 s, 4 s, ... at most 15 s. */
export function backoffMs(attempt: number): number {
  return Math.min(15_000, 1000 * 2 ** (attempt - 1));
}
