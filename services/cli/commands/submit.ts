// `rwkvstream submit --task summarize|classify [--labels a,b] (--file F | --url U) [--id ID] [--prompt-format F]`:
// publishes a document and prints its id. With Kafka brokers configured (--kafka, KAFKA_BROKERS, the config file)
// it goes to the documents topic (missing topics are created as a worker would create them); without them, to the
// Redis inbox queue of the deployment's prefix (--redis, REDIS_URL), which a worker without Kafka reads.
import { randomUUID } from 'node:crypto';

import type { Command } from 'commander';

import { ConfigError } from '../../config/errors.ts';
import { addCommandSettings } from '../../config/flags.ts';
import type { ConfigFlags, LoadedConfig } from '../../config/index.ts';
import type { RecordPublisher, SubmitOptions } from '../../submit/submit-document.ts';
import { addSectionFlags } from '../command-flags.ts';
import { UsageError, numberFlag, parseFlags } from '../output.ts';
import type { SectionFlags } from '../task-flags.ts';

interface SubmitFlags extends ConfigFlags, SectionFlags {
  task: string;
  labels?: string;
  file?: string;
  url?: string;
  id?: string;
  template?: string;
  maxTokens?: string;
  stop: string[];
  temperature?: string;
  topP?: string;
  topK?: string;
  presencePenalty?: string;
  frequencyPenalty?: string;
  seed?: string;
  labelPrefix?: string;
  score?: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function taskFromFlags(flags: SubmitFlags): Promise<Record<string, unknown>> {
  const { sectionsFromFlags } = await import('../task-flags.ts');
  const sections = sectionsFromFlags(flags);
  const common = {
    kind: flags.task,
    ...(flags.template === undefined ? {} : { template: flags.template }),
    ...(sections === undefined ? {} : { sections }),
  };
  if (flags.task === 'classify') {
    if (flags.labels === undefined) throw new UsageError('--task classify needs --labels a,b,...');
    if (flags.sectionMaxTokens !== undefined)
      throw new UsageError('--section-max-tokens is for --task summarize (classify generates nothing)');
    if (flags.reduceFanIn !== undefined)
      throw new UsageError(
        '--reduce-fan-in is for --task summarize (classify reduces its sections without generating)',
      );
    return {
      ...common,
      labels: flags.labels
        .split(',')
        .map((l) => l.trim())
        .filter((l) => l.length > 0),
      ...(flags.labelPrefix === undefined ? {} : { labelPrefix: flags.labelPrefix }),
      ...(flags.score === undefined ? {} : { score: flags.score }),
    };
  }
  if (flags.task === 'summarize') {
    const numbers = {
      maxTokens: numberFlag('max-tokens', flags.maxTokens),
      temperature: numberFlag('temperature', flags.temperature),
      topP: numberFlag('top-p', flags.topP),
      topK: numberFlag('top-k', flags.topK),
      presencePenalty: numberFlag('presence-penalty', flags.presencePenalty),
      frequencyPenalty: numberFlag('frequency-penalty', flags.frequencyPenalty),
      seed: numberFlag('seed', flags.seed),
    };
    return {
      ...common,
      ...Object.fromEntries(Object.entries(numbers).filter(([, v]) => v !== undefined)),
      ...(flags.stop.length > 0 ? { stop: flags.stop } : {}),
    };
  }
  throw new UsageError(`--task must be summarize or classify, got "${flags.task}"`);
}

export function submitCommand(program: Command): void {
  const cmd = program
    .command('submit')
    .description(
      'publish a document (a file, or a file:// or http(s):// reference) to Kafka, or to the Redis inbox queue without Kafka, and print its id',
    )
    .requiredOption('--task <task>', 'summarize or classify')
    .option('--labels <list>', 'classify: comma-separated labels')
    .option('--file <file>', "send this file's content (in parts when it is large)")
    .option('--url <url>', 'send a reference the workers read (file://, http://, https://)')
    .option('--id <id>', 'document id (default: a random UUID)')
    .option(
      '--template <text>',
      'text after the document (summarize default "\\n\\nSummary:", classify "\\n\\nCategory:")',
    )
    .option('--max-tokens <n>', 'summarize: most tokens to generate')
    .option('--stop <text>', 'summarize: stop sequence (repeatable; default "\\n\\n")', collect, [])
    .option('--temperature <t>', 'summarize: 0 is greedy (default)')
    .option('--top-p <p>', 'summarize: nucleus sampling')
    .option('--top-k <k>', 'summarize: keep the k likeliest tokens (0: all)')
    .option('--presence-penalty <x>', 'summarize: repetition penalty per token seen')
    .option('--frequency-penalty <x>', 'summarize: repetition penalty per occurrence')
    .option('--seed <n>', 'summarize: sampler seed')
    .option('--label-prefix <text>', 'classify: put before each label (default " ")')
    .option('--score <how>', 'classify: sum (label log-probability) or mean (per token)');
  addSectionFlags(cmd, 'summarize');
  addCommandSettings(cmd, 'submit').action(async (flags: SubmitFlags) => {
    if ((flags.file === undefined) === (flags.url === undefined))
      throw new UsageError('give exactly one of --file and --url');
    const { DocumentIdSchema } = await import('../../../schemas/ids.ts');
    const { DocumentTaskSchema } = await import('../../../schemas/tasks.ts');
    const { loadConfig } = await import('../../config/index.ts');
    const { submitFile, submitReference } = await import('../../submit/submit-document.ts');
    const { parseTaskFlags } = await import('../task-flags.ts');
    const id = parseFlags(DocumentIdSchema, flags.id ?? randomUUID(), '--id');
    const fields = await taskFromFlags(flags);
    const loaded = await loadConfig({ flags });
    const { config } = loaded;
    // The workers' model is not known here: without --prompt-format (or its variable or config entry) the
    // task is read as raw, the schema's default.
    const task = parseTaskFlags(
      DocumentTaskSchema,
      config.promptFormat === undefined ? fields : { ...fields, promptFormat: config.promptFormat },
    );
    const options: SubmitOptions = { id, task, partBytes: config.partBytes, maxMessageBytes: config.maxMessageBytes };
    const send = (publisher: RecordPublisher) =>
      flags.url !== undefined
        ? submitReference(publisher, options, flags.url)
        : submitFile(publisher, options, flags.file!);
    if (config.kafkaBrokers !== undefined) await submitToKafka(loaded, send);
    else await submitToInbox(loaded, send);
    process.stdout.write(`${id}\n`);
  });
}

async function submitToKafka(
  loaded: LoadedConfig,
  send: (publisher: RecordPublisher) => Promise<unknown>,
): Promise<void> {
  const { createKafka, createProducer, requireKafka } = await import('../../adapters/kafka/client.ts');
  const { kafkaAccessFrom } = await import('../../adapters/kafka/security.ts');
  const { ensureDocumentTopics } = await import('../../adapters/kafka/topics.ts');
  const { silentLogger } = await import('../../log.ts');
  const { config } = loaded;
  const access = await kafkaAccessFrom(loaded);
  await requireKafka(access);
  const kafka = createKafka(access, 'rwkvstream-submit', silentLogger());
  await ensureDocumentTopics(kafka, config.topics, config.partitions);
  const producer = createProducer(kafka);
  await producer.connect();
  try {
    await send({
      publish: async (key, value) =>
        void (await producer.send({ topic: config.topics.documents, acks: -1, messages: [{ key, value }] })),
    });
  } finally {
    await producer.disconnect();
  }
}

/** Without Kafka: the Redis inbox queue; with neither configured, one message naming both settings. */
async function submitToInbox(
  loaded: LoadedConfig,
  send: (publisher: RecordPublisher) => Promise<unknown>,
): Promise<void> {
  if (loaded.config.redisUrl === undefined) {
    throw new ConfigError([
      {
        source: 'not set',
        path: 'kafkaBrokers',
        message:
          'no Kafka brokers or Redis configured: give --kafka HOST:PORT (KAFKA_BROKERS) for the documents topic, ' +
          'or --redis URL (REDIS_URL) for the Redis inbox queue of a worker without Kafka',
      },
    ]);
  }
  const { InboxPublisher } = await import('../../adapters/bullmq/inbox.ts');
  const { redisAccessFrom } = await import('../../adapters/redis/access.ts');
  const { openRedis } = await import('../../adapters/redis/connection.ts');
  const { Keys } = await import('../../adapters/redis/keys.ts');
  const access = await redisAccessFrom(loaded);
  const redis = await openRedis(access, 'rwkvstream-submit');
  // The queue prefix, as a worker's: the hash tag {<prefix>} on a Redis Cluster.
  const inbox = new InboxPublisher(redis, new Keys(loaded.config.prefix, { cluster: access.cluster }).queuePrefix);
  try {
    await send(inbox);
  } finally {
    await inbox.close();
    await redis.quit();
  }
}
