// How to reach the Kafka brokers: the bootstrap list, TLS (CA, client certificate and key, server name) and
// SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512). Built once from the configuration, with the SASL password read
// from its variable or file, and given to every kafkajs client a command makes.
import type { ConnectionOptions } from 'node:tls';

import type { KafkaConfig, SASLOptions } from 'kafkajs';

import { ConfigError, kafkaFrom, type LoadedConfig } from '../../config/index.ts';
import { readSecret, readSettingFile } from '../../config/secrets.ts';

export interface KafkaAccess {
  brokers: string[];
  /** The setting that gave the brokers ("environment KAFKA_BROKERS"), for messages. */
  origin: string;
  /** TLS options (true: TLS with the system's CAs). */
  ssl?: ConnectionOptions | true;
  sasl?: SASLOptions;
}

/** Brokers with nothing more (tests, tools). */
export function plainKafka(brokers: string[], origin = 'worker settings'): KafkaAccess {
  return { brokers, origin };
}

/** The brokers of a distributed command, with TLS files and the SASL password read. */
export async function kafkaAccessFrom(loaded: LoadedConfig): Promise<KafkaAccess> {
  const address = kafkaFrom(loaded);
  const settings = loaded.config.kafka;
  const access: KafkaAccess = { brokers: address.value, origin: address.origin };
  const [ca, cert, key] = await Promise.all(
    ['ca', 'cert', 'key'].map((k) => readSettingFile(loaded, `kafka.tls.${k}`)),
  );
  const serverName = settings.tls?.serverName;
  if (ca || cert || key || serverName) {
    access.ssl = {
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
      ...(serverName ? { servername: serverName } : {}),
    };
  } else if (settings.tls?.enabled) {
    access.ssl = true;
  }
  if (settings.sasl) {
    const password = await readSecret(loaded, 'kafka.sasl.password');
    if (password === undefined) {
      throw new ConfigError([
        {
          source: loaded.origin('kafka.sasl.mechanism'),
          path: 'kafka.sasl.password',
          message: 'SASL is on but no password is set: set KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE',
        },
      ]);
    }
    const { mechanism, username } = settings.sasl;
    access.sasl = mechanism === 'plain' ? { mechanism, username, password } : { mechanism, username, password };
  }
  return access;
}

/** The part of a kafkajs configuration that says where the brokers are and how to log in. */
export function kafkaConnection(access: KafkaAccess): Pick<KafkaConfig, 'brokers' | 'ssl' | 'sasl'> {
  return {
    brokers: access.brokers,
    ...(access.ssl !== undefined ? { ssl: access.ssl } : {}),
    ...(access.sasl !== undefined ? { sasl: access.sasl } : {}),
  };
}

/** The SASL password, for output checks and redaction. */
export function kafkaSecrets(access: KafkaAccess): string[] {
  const sasl = access.sasl as { password?: string } | undefined;
  return sasl?.password ? [sasl.password] : [];
}
