// `rwkvstream worker --model M [--vocab V] [--redis URL] [--kafka BROKERS]`: runs the ingest role (Kafka
// consumer and planning) and the chunk role (model work) until SIGTERM or SIGINT; `--roles` splits them.
import type { Command } from 'commander';

import { PipelineSettingsSchema, RoleSchema, ServiceConfigSchema } from '../../../schemas/config.ts';
import { FLAG_BINDINGS, loadConfig } from '../../config/index.ts';
import { createLogger } from '../../log.ts';
import { startWorker } from '../../worker/runtime.ts';
import { addEngineFlags, engineOptions, type EngineFlags } from '../engine-options.ts';
import { addKafkaFlags, addRedisFlags, brokers, numberFlag, parseFlags, topics, type ServiceFlags } from '../pipeline-options.ts';
import { UsageError } from '../output.ts';

interface WorkerFlags extends EngineFlags, ServiceFlags {
  model: string;
  roles: string;
  name?: string;
  chunkTokens?: string;
  segmentTokens?: string;
  concurrency?: string;
  metricsPort: string;
  metricsHost?: string;
  groupId?: string;
  partitions?: string;
  lockMs?: string;
  stalledMs?: string;
  attempts?: string;
  backoffMs?: string;
  resultTtl?: string;
  fileRoot: string[];
  fetchAllow?: string;
  maxMessageBytes?: string;
  maxDocumentBytes?: string;
  maxDocumentTokens?: string;
  maxEventBytes?: string;
  anomalyThreshold?: string;
  batchEvents?: string;
  batchMs?: string;
  separator?: string;
  windowEvents?: string;
  topEvents?: string;
  batchStreams?: string;
  batchWaitMs?: string;
  batchTokens?: string;
  batchSliceTokens?: string;
  logLevel?: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function defined<T extends object>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function workerCommand(program: Command): void {
  const cmd = program
    .command('worker')
    .description('run the pipeline: consume documents and events from Kafka, run chunk jobs, publish results')
    .requiredOption('--model <file>', 'model file');
  addEngineFlags(cmd);
  addRedisFlags(cmd);
  addKafkaFlags(cmd);
  cmd
    .option('--roles <list>', 'what runs here: ingest (Kafka consumer, planning), chunks (model work)', 'ingest,chunks')
    .option('--name <name>', 'worker name in logs and audit trails (default host:pid)')
    .option('--chunk-tokens <n>', 'tokens per chunk job (the checkpoint interval)')
    .option('--segment-tokens <n>', 'token ids per stored Redis string of a planned document')
    .option('--concurrency <n>', 'chunk jobs at once in this process')
    .option('--metrics-port <n|off>', 'port of /metrics and /healthz (0: any free port)', '9464')
    .option('--metrics-host <host>', 'address the metrics endpoint listens on')
    .option('--group-id <id>', 'Kafka consumer group')
    .option('--partitions <n>', 'partitions of topics this worker creates')
    .option('--lock-ms <ms>', 'job lock duration: a job whose worker stops renewing it is taken over after this long')
    .option('--stalled-ms <ms>', 'how often to look for jobs whose lock expired')
    .option('--attempts <n>', 'attempts per job before it fails for good')
    .option('--backoff-ms <ms>', 'first retry delay (doubling)')
    .option('--result-ttl <seconds>', 'how long results stay readable by id')
    .option('--file-root <dir>', 'directory file:// references may read from (repeatable)', collect, [])
    .option(FLAG_BINDINGS.fetchAllow.flag, FLAG_BINDINGS.fetchAllow.description)
    .option('--max-message-bytes <n>', 'largest input record accepted')
    .option('--max-document-bytes <n>', 'largest document accepted (parts or reference)')
    .option('--max-document-tokens <n>', 'most tokens a document may have (refused while it is tokenized; default 16777216)')
    .option('--max-event-bytes <n>', 'largest event text accepted')
    .option('--anomaly-threshold <nats>', 'surprise (mean nats per token) above which an event is an alert')
    .option('--batch-events <n>', 'events per anomaly batch')
    .option('--batch-ms <ms>', 'longest an event waits for its batch')
    .option('--separator <text>', 'fed before each event (its logits predict the event\'s first token)')
    .option('--window-events <n>', 'events per window summary of each stream, by sequence number (default 0: no windows)')
    .option('--top-events <n>', 'most surprising events listed in each window summary (default 5)')
    .option('--batch-streams <n>', 'jobs whose model calls share one batched forward (1: off, each job alone)')
    .option('--batch-wait-ms <ms>', 'longest a ready model call waits for others to join its batch')
    .option('--batch-tokens <n>', 'tokens per batched forward, all streams together')
    .option('--batch-slice-tokens <n>', 'tokens one job puts into a batch before the others get their turn')
    .option('--log-level <level>', 'pino log level', process.env.RWKVSTREAM_LOG_LEVEL ?? 'info')
    .action(async (flags: WorkerFlags) => {
      const metricsPort = flags.metricsPort === 'off' ? null : numberFlag('metrics-port', flags.metricsPort);
      const roles = flags.roles.split(',').map((r) => r.trim()).filter((r) => r.length > 0);
      for (const role of roles) {
        if (!RoleSchema.safeParse(role).success) throw new UsageError(`--roles: unknown role "${role}" (ingest, chunks)`);
      }
      const service = parseFlags(ServiceConfigSchema, defined({
        redisUrl: flags.redis,
        kafkaBrokers: brokers(flags),
        prefix: flags.prefix,
        topics: topics(flags),
        partitions: numberFlag('partitions', flags.partitions),
        groupId: flags.groupId,
        roles,
        concurrency: numberFlag('concurrency', flags.concurrency),
        lockMs: numberFlag('lock-ms', flags.lockMs),
        stalledIntervalMs: numberFlag('stalled-ms', flags.stalledMs),
        attempts: numberFlag('attempts', flags.attempts),
        backoffMs: numberFlag('backoff-ms', flags.backoffMs),
        metricsPort,
        metricsHost: flags.metricsHost,
        resultTtlSeconds: numberFlag('result-ttl', flags.resultTtl),
        workerName: flags.name,
        batch: defined({
          streams: numberFlag('batch-streams', flags.batchStreams),
          waitMs: numberFlag('batch-wait-ms', flags.batchWaitMs),
          tokens: numberFlag('batch-tokens', flags.batchTokens),
          sliceTokens: numberFlag('batch-slice-tokens', flags.batchSliceTokens),
        }),
      }), 'worker setting');
      const anomaly = defined({
        threshold: numberFlag('anomaly-threshold', flags.anomalyThreshold),
        batchEvents: numberFlag('batch-events', flags.batchEvents),
        batchMs: numberFlag('batch-ms', flags.batchMs),
        separator: flags.separator,
        windowEvents: numberFlag('window-events', flags.windowEvents),
        topEvents: numberFlag('top-events', flags.topEvents),
      });
      // The fetch settings come through the one configuration path (flag, RWKVSTREAM_FETCH_*, config file `fetch`).
      const { config } = await loadConfig({ flags: { fetchAllow: flags.fetchAllow } });
      const settings = parseFlags(PipelineSettingsSchema, defined({
        chunkTokens: numberFlag('chunk-tokens', flags.chunkTokens),
        segmentTokens: numberFlag('segment-tokens', flags.segmentTokens),
        maxMessageBytes: numberFlag('max-message-bytes', flags.maxMessageBytes),
        maxDocumentBytes: numberFlag('max-document-bytes', flags.maxDocumentBytes),
        maxDocumentTokens: numberFlag('max-document-tokens', flags.maxDocumentTokens),
        maxEventBytes: numberFlag('max-event-bytes', flags.maxEventBytes),
        fileRoots: flags.fileRoot,
        fetch: config.fetch,
        anomaly: Object.keys(anomaly).length > 0 ? anomaly : undefined,
      }), 'pipeline setting');

      const log = createLogger('rwkvstream-worker', flags.logLevel);
      const worker = await startWorker({ service, settings, engine: engineOptions(flags.model, flags), log });
      await new Promise<void>((resolve) => {
        const shutdown = (signal: string) => {
          log.info({ signal }, 'stopping');
          resolve();
        };
        process.once('SIGTERM', () => shutdown('SIGTERM'));
        process.once('SIGINT', () => shutdown('SIGINT'));
      });
      await worker.stop();
      log.info({}, 'stopped');
      process.exit(0);
    });
}
