// The project's secured services, as a managed deployment would have them: Kafka over SASL_SSL
// (infra/kafka/start-secure.sh) and a TLS-only Redis with an ACL user (infra/redis/start-secure.sh), both
// started on first use and left running like the shared broker. What a test gets: the environment a command
// or worker needs (Kafka's password as a variable, Redis's as a file: both ways in), the secrets to search
// outputs for, and the access of the test's own clients, built by the same configuration path the commands use.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

import { loadConfig } from '../../../services/config/index.ts';
import { kafkaAccessFrom, type KafkaAccess } from '../../../services/adapters/kafka/security.ts';
import { redisAccessFrom, type RedisAccess } from '../../../services/adapters/redis/access.ts';
import { repoRoot } from '../../helpers/paths.ts';

const run = promisify(execFile);

export interface SecuredServices {
  /** REDIS_URL, REDIS_USERNAME, REDIS_PASSWORD_FILE, REDIS_TLS_CA_FILE, KAFKA_BROKERS, KAFKA_TLS_CA_FILE, KAFKA_SASL_*. */
  env: Record<string, string>;
  /** The Kafka and Redis passwords. */
  secrets: string[];
  redis: RedisAccess;
  kafka: KafkaAccess;
}

/** VARIABLE=value lines, as the start-secure.sh scripts print them. */
function settingsOf(stdout: string): Record<string, string> {
  return Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((line) => {
        const at = line.indexOf('=');
        return [line.slice(0, at), line.slice(at + 1)];
      }),
  );
}

let started: Promise<SecuredServices> | null = null;

export function securedServices(): Promise<SecuredServices> {
  started ??= (async () => {
    const kafkaOut = await run(path.join(repoRoot, 'infra', 'kafka', 'start-secure.sh'), [], { timeout: 180_000 });
    const redisOut = await run(path.join(repoRoot, 'infra', 'redis', 'start-secure.sh'), [], { timeout: 60_000 });
    const settings = { ...settingsOf(kafkaOut.stdout), ...settingsOf(redisOut.stdout) };
    const kafkaPassword = readFileSync(settings.KAFKA_SASL_PASSWORD_FILE!, 'utf8').trim();
    const redisPassword = readFileSync(settings.REDIS_PASSWORD_FILE!, 'utf8').trim();
    const { KAFKA_SASL_PASSWORD_FILE: _file, ...rest } = settings;
    const env = { ...rest, KAFKA_SASL_PASSWORD: kafkaPassword };
    const loaded = await loadConfig({ env: { HOME: process.env.HOME ?? '/tmp', ...env } });
    return {
      env,
      secrets: [kafkaPassword, redisPassword],
      redis: await redisAccessFrom(loaded),
      kafka: await kafkaAccessFrom(loaded),
    };
  })();
  return started;
}
