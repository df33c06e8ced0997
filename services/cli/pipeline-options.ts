// Flags shared by the commands that reach the pipeline's services: Redis, Kafka, and the names that keep
// deployments (and test runs) apart.
import type { Command } from 'commander';
import type { z } from 'zod';

import { TopicsSchema, type Topics } from '../../schemas/config.ts';
import { UsageError } from './output.ts';

export interface ServiceFlags {
  redis: string;
  kafka: string;
  prefix: string;
  topicPrefix: string;
  topicDocuments?: string;
  topicEvents?: string;
  topicResults?: string;
  topicDeadLetter?: string;
}

export function addRedisFlags(cmd: Command): Command {
  return cmd
    .option('--redis <url>', 'Redis URL', process.env.RWKVSTREAM_REDIS ?? 'redis://127.0.0.1:6379')
    .option('--prefix <name>', 'namespace of the Redis keys and queues', process.env.RWKVSTREAM_PREFIX ?? 'rwkvstream');
}

export function addKafkaFlags(cmd: Command): Command {
  return cmd
    .option('--kafka <brokers>', 'Kafka bootstrap brokers, comma-separated', process.env.RWKVSTREAM_KAFKA ?? '127.0.0.1:39092')
    .option('--topic-prefix <name>', 'topics are <prefix>.documents, .events, .results, .dead-letter', 'rwkvstream')
    .option('--topic-documents <topic>', 'documents topic (overrides --topic-prefix)')
    .option('--topic-events <topic>', 'events topic')
    .option('--topic-results <topic>', 'results topic')
    .option('--topic-dead-letter <topic>', 'dead-letter topic');
}

export function brokers(flags: Pick<ServiceFlags, 'kafka'>): string[] {
  const list = flags.kafka.split(',').map((b) => b.trim()).filter((b) => b.length > 0);
  if (list.length === 0) throw new UsageError('--kafka needs at least one broker (host:port)');
  return list;
}

export function topics(flags: ServiceFlags): Topics {
  const p = flags.topicPrefix;
  return TopicsSchema.parse({
    documents: flags.topicDocuments ?? `${p}.documents`,
    events: flags.topicEvents ?? `${p}.events`,
    results: flags.topicResults ?? `${p}.results`,
    deadLetter: flags.topicDeadLetter ?? `${p}.dead-letter`,
  });
}

/** A number flag, or a usage error naming it. */
export function numberFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${value}"`);
  return n;
}

/** Parses with a schema, reporting the first problem as a usage error about `flag` names. */
export function parseFlags<S extends z.ZodType>(schema: S, input: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`${what} ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}
