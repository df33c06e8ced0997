// A service that does not answer, said in one line a person can act on: which service, at which address,
// which setting chose that address, what went wrong, and the next step (doctor's fix for the same problem).
// The fixes and reasons are defined here, not in doctor/services-checks.ts (which uses them too), so that reporting
// an error loads no Kafka or Redis client.
import type { ErrorCode } from '../schemas/error-codes.ts';
import { redactUrl } from './redact.ts';

export type ServiceName = 'redis' | 'kafka';

/** What to do when Redis does not answer (doctor's fix, and the next step of every command's connection error). */
export const REDIS_FIX = 'start Redis (infra/redis/start.sh), or point --redis / REDIS_URL at a running server';
/** What to do when no Kafka broker answers. */
export const KAFKA_FIX =
  'start Kafka (infra/kafka/start.sh prints the brokers), or point --kafka / KAFKA_BROKERS at a running broker';

/** An error's message with its code, once. */
export const reason = (err: unknown): string => {
  const e = err as { code?: string; message?: string };
  return e?.code && !String(e.message).includes(e.code) ? `${e.message} (${e.code})` : String(e?.message ?? err);
};

/** Exit status of a command that gave up on an unreachable service (README, "Exit codes"). */
export const EXIT_UNREACHABLE = 5;

/**
 * A service that answered but refused us: wrong or missing credentials (Redis NOAUTH/WRONGPASS, a Kafka SASL
 * failure) or a TLS certificate that does not verify. Retrying the same settings does not help.
 */
const REFUSED = [
  /WRONGPASS/,
  /NOAUTH/,
  /NOPERM/,
  /invalid username-password/i,
  /Authentication required/i,
  /SASL .*authentication failed/i,
  /SaslAuthenticat/i,
  /Illegal SASL/i,
  /unsupported SASL mechanism/i,
  /certificate/i,
  /self[- ]signed/i,
  /unable to verify/i,
  /unable to get (local )?issuer/i,
  /ERR_TLS_/,
  /altnames/i,
  /wrong version number/i,
  /tlsv1 alert/i,
  /SSL routines/i,
];

export function isRefusal(cause: unknown): boolean {
  const e = cause as { code?: unknown; message?: unknown; name?: unknown };
  const text = `${String(e?.name ?? '')} ${String(e?.code ?? '')} ${String(e?.message ?? cause)}`;
  return REFUSED.some((re) => re.test(text));
}

/** What to check when a service refuses the credentials or the TLS handshake. */
const CREDENTIALS_FIX: Record<ServiceName, string> = {
  redis:
    "check REDIS_USERNAME / --redis-user, REDIS_PASSWORD or REDIS_PASSWORD_FILE, and the TLS CA (REDIS_TLS_CA_FILE) against the server's ACL and certificate",
  kafka:
    "check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE, and the TLS CA (KAFKA_TLS_CA_FILE) against the broker's listener",
};

/**
 * "no answer from Redis at redis://h:1 (environment REDIS_URL): connect ECONNREFUSED ..." (no password), or
 * "Redis at ... (environment REDIS_URL) refused the connection: WRONGPASS ..." for credentials and TLS.
 */
export function unreachable(service: ServiceName, address: string, origin: string, cause: unknown): string {
  const where = service === 'redis' ? `Redis at ${redactUrl(address)}` : `Kafka at ${address}`;
  return isRefusal(cause)
    ? `${where} (${origin}) refused the connection: ${reason(cause)}`
    : `no answer from ${where} (${origin}): ${reason(cause)}`;
}

const CODES: Record<ServiceName, { refused: ErrorCode; unreachable: ErrorCode }> = {
  redis: { refused: 'E_REDIS_REFUSED', unreachable: 'E_REDIS_UNREACHABLE' },
  kafka: { refused: 'E_KAFKA_REFUSED', unreachable: 'E_KAFKA_UNREACHABLE' },
};

export class UnreachableError extends Error {
  readonly code: ErrorCode;

  constructor(
    readonly service: ServiceName,
    address: string,
    origin: string,
    cause: unknown,
    extra = '',
  ) {
    const refused = isRefusal(cause);
    const fix = refused ? CREDENTIALS_FIX[service] : service === 'redis' ? REDIS_FIX : KAFKA_FIX;
    super(`${unreachable(service, address, origin, cause)}${extra}; ${fix}`);
    this.name = 'UnreachableError';
    this.code = CODES[service][refused ? 'refused' : 'unreachable'];
  }
}

/** Waits between connection attempts: 1 s, 2 s, 4 s, ... at most 15 s. */
export function backoffMs(attempt: number): number {
  return Math.min(15_000, 1000 * 2 ** (attempt - 1));
}
