// `npm run bench:batch [-- --model FILE --vocab V --streams N --events N --documents N --document-bytes N
//   --batch-streams B --batch-wait-ms MS --batch-tokens N --batch-slice-tokens N --threads N --json]`
//
// Batched against unbatched scheduling, in one run on one machine, through the real worker (Redis checkpoints,
// BullMQ jobs): 1,000 event streams with small chunks (a few short events per drain job) and 64 concurrent
// documents (chunk chains). For each workload and mode, the work is taken in first (events appended, documents
// stored, drains and plans queued), then a worker starts and runs it all. Reported: throughput (tokens read
// into states per second, between the first job picked up and the last one finished) and chunk latency
// (p50/p99 of each chunk or drain job from being picked up to done, and from being due to done), and the
// ratio batched/unbatched. Default model: the tiny RWKV-7 of the fixtures.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';

import { Redis } from 'ioredis';

import type { IngestDeps } from '../pipelines/context.ts';
import { ingestDocumentRecord, ingestEventRecord } from '../pipelines/ingest.ts';
import type { RawRecord } from '../pipelines/ports.ts';
import { PipelineSettingsSchema, ServiceConfigSchema, type PipelineSettings } from '../schemas/config.ts';
import { DOCUMENT_SCHEMA_V1 } from '../schemas/documents.ts';
import { EVENT_SCHEMA_V1 } from '../schemas/events.ts';
import { silentLogger } from '../services/log.ts';
import { PipelineMetrics } from '../services/metrics/metrics.ts';
import { BullJobQueue, openQueues } from '../services/adapters/bullmq/job-queue.ts';
import { Keys } from '../services/adapters/redis/keys.ts';
import { RedisDocumentStore } from '../services/adapters/redis/document-store.ts';
import { RedisEventLog } from '../services/adapters/redis/event-log.ts';
import { RedisResultStore } from '../services/adapters/redis/result-store.ts';
import { startWorker } from '../services/worker/runtime.ts';
import { quantile } from './pipeline/stats.ts';

const exec = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sharedDir = process.env.RWKV_SHARED_DIR ?? path.resolve(repoRoot, '..', 'shared');

const { values: opts } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(sharedDir, 'fixtures', 'rwkv7', 'tiny-rwkv7-834K-fp32.pth') },
    vocab: { type: 'string' },
    streams: { type: 'string', default: '1000' },
    events: { type: 'string', default: '8' },
    'batch-events': { type: 'string', default: '4' },
    documents: { type: 'string', default: '64' },
    'document-bytes': { type: 'string', default: '16384' },
    'chunk-tokens': { type: 'string', default: '1024' },
    'batch-streams': { type: 'string', default: '64' },
    'batch-wait-ms': { type: 'string', default: '5' },
    'batch-tokens': { type: 'string', default: '16384' },
    'batch-slice-tokens': { type: 'string', default: '1024' },
    threads: { type: 'string', default: '0' },
    redis: { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
    kafka: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

async function kafkaBrokers(): Promise<string> {
  if (opts.kafka) return opts.kafka;
  const { stdout } = await exec(path.join(repoRoot, 'infra', 'kafka', 'start.sh'));
  return stdout.trim().split('\n').at(-1)!;
}

type Workload = 'streams' | 'documents';
type Mode = 'unbatched' | 'batched';

interface Run {
  workload: Workload;
  mode: Mode;
  jobs: number;
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
  /** From picked up to done. */
  p50Ms: number;
  p99Ms: number;
  /** From due (queued, or its delay over) to done: includes waiting behind the backlog. */
  dueP50Ms: number;
  dueP99Ms: number;
}

function record(topic: string, offset: number, key: string, value: object): RawRecord {
  return {
    topic,
    partition: 0,
    offset: String(offset),
    key: Buffer.from(key),
    value: Buffer.from(JSON.stringify(value)),
    timestamp: '0',
  };
}

function eventText(stream: number, i: number): string {
  return `GET /api/${stream % 17}/${i % 5} ${i % 11 === 0 ? 500 : 200} ${8 + ((stream * 7 + i) % 40)}ms`;
}

function documentText(d: number, bytes: number): string {
  let text = '';
  for (let i = 0; text.length < bytes; i++)
    text += `[${d}.${i}] line ${i % 13} of report ${d}: pressure ${(i * 31 + d) % 97} kPa, nominal.\n`;
  return text.slice(0, bytes);
}

/** Takes the workload in (Redis and BullMQ only), so the worker starts with all of it waiting. */
async function takeIn(workload: Workload, deps: IngestDeps): Promise<void> {
  if (workload === 'streams') {
    const streams = Number(opts.streams);
    const events = Number(opts.events);
    const pending: Promise<void>[] = [];
    for (let s = 0; s < streams; s++) {
      // One stream's events in order; streams side by side.
      pending.push(
        (async () => {
          for (let i = 0; i < events; i++) {
            const stream = `bench/s${s}`;
            await ingestEventRecord(
              record('events', s * events + i, stream, { schema: EVENT_SCHEMA_V1, stream, text: eventText(s, i) }),
              deps,
            );
          }
        })(),
      );
      if (pending.length >= 100) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
    return;
  }
  const bytes = Number(opts['document-bytes']);
  await Promise.all(
    Array.from({ length: Number(opts.documents) }, (_, d) =>
      ingestDocumentRecord(
        record('documents', d, `bench-doc-${d}`, {
          schema: DOCUMENT_SCHEMA_V1,
          id: `bench-doc-${d}`,
          task: { kind: 'classify', labels: ['ok', 'fault'] },
          body: { kind: 'text', text: documentText(d, bytes) },
        }),
        deps,
      ),
    ),
  );
}

async function run(workload: Workload, mode: Mode, brokers: string, settings: PipelineSettings): Promise<Run> {
  const prefix = `bench-batch-${workload}-${mode}-${process.pid}`;
  const redis = new Redis(opts.redis!, { maxRetriesPerRequest: null });
  const keys = new Keys(prefix);
  const queues = openQueues(redis, prefix);
  const ingest: IngestDeps = {
    settings,
    documents: new RedisDocumentStore(redis, keys, {
      retentionSeconds: 3600,
      partTtlSeconds: 3600,
      maxDocumentBytes: settings.maxDocumentBytes,
    }),
    events: new RedisEventLog(redis, keys),
    queue: new BullJobQueue(queues, { attempts: 3, backoffMs: 200 }),
    deadLetters: {
      publish: async (letter) => {
        throw new Error(`bench input was refused: ${letter.code} ${letter.reason}`);
      },
    },
    results: new RedisResultStore(redis, keys, 3600),
    telemetry: new PipelineMetrics(),
    log: silentLogger(),
  };
  try {
    await takeIn(workload, ingest);
    const batchStreams = mode === 'batched' ? Number(opts['batch-streams']) : 1;
    const worker = await startWorker({
      service: ServiceConfigSchema.parse({
        redisUrl: opts.redis,
        kafkaBrokers: brokers.split(','),
        prefix,
        topics: {
          documents: 'bench-batch.documents',
          events: 'bench-batch.events',
          results: 'bench-batch.results',
          deadLetter: 'bench-batch.dead-letter',
        },
        groupId: prefix,
        partitions: 1,
        metricsPort: null,
        // A benchmark's Redis is throw-away; it may run without persistence.
        allowVolatileRedis: true,
        batch: {
          streams: batchStreams,
          waitMs: Number(opts['batch-wait-ms']),
          tokens: Number(opts['batch-tokens']),
          sliceTokens: Number(opts['batch-slice-tokens']),
        },
      }),
      settings,
      engine: { model: opts.model!, ...(opts.vocab ? { vocab: opts.vocab } : {}), threads: Number(opts.threads) },
      log: silentLogger(),
    });
    try {
      await untilIdle(queues.chunks, queues.ingest);
    } finally {
      await worker.stop();
    }
    const jobs = (await queues.chunks.getJobs(['completed'], 0, -1)).filter(
      (j) => j.name === 'chunk' || j.name === 'drain',
    );
    const failed = await queues.chunks.getJobCountByTypes('failed');
    if (failed > 0) throw new Error(`${failed} jobs failed`);
    const started = Math.min(...jobs.map((j) => j.processedOn!));
    const ended = Math.max(...jobs.map((j) => j.finishedOn!));
    const tokens = await tokensRead(redis, keys, workload);
    const service = jobs.map((j) => j.finishedOn! - j.processedOn!);
    const due = jobs.map((j) => j.finishedOn! - (j.timestamp + (j.opts.delay ?? 0)));
    const seconds = (ended - started) / 1000;
    return {
      workload,
      mode,
      jobs: jobs.length,
      tokens,
      seconds,
      tokensPerSecond: tokens / seconds,
      p50Ms: quantile(service, 0.5),
      p99Ms: quantile(service, 0.99),
      dueP50Ms: quantile(due, 0.5),
      dueP99Ms: quantile(due, 0.99),
    };
  } finally {
    await Promise.all(Object.values(queues).map((q) => q.obliterate({ force: true }).catch(() => {})));
    await clearPrefix(redis, prefix);
    await Promise.all(Object.values(queues).map((q) => q.close()));
    await redis.quit();
  }
}

/** Waits until no job waits, runs or is delayed in either lane. */
async function untilIdle(
  ...queues: ReturnType<typeof openQueues>[keyof ReturnType<typeof openQueues>][]
): Promise<void> {
  for (;;) {
    const counts = await Promise.all(
      queues.map((q) => q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children')),
    );
    if (counts.every((c) => Object.values(c).every((n) => n === 0))) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Tokens read into every state of the workload: the checkpoints say. */
async function tokensRead(redis: Redis, keys: Keys, workload: Workload): Promise<number> {
  const kind = workload === 'streams' ? 'stream' : 'document';
  const count = workload === 'streams' ? Number(opts.streams) : Number(opts.documents);
  const ids = Array.from({ length: count }, (_, i) => (workload === 'streams' ? `bench/s${i}` : `bench-doc-${i}`));
  if (kind === 'document') {
    // Finished documents drop their state; their audit trail keeps the tokens of the last commit.
    const last = await Promise.all(ids.map((id) => redis.lindex(keys.audit({ kind, id }), -1)));
    return last.reduce((n, e) => n + (e ? (JSON.parse(e) as { tokens: number }).tokens : 0), 0);
  }
  const tokens = await Promise.all(ids.map((id) => redis.hget(keys.checkpoint({ kind, id }), 'tokens')));
  return tokens.reduce((n, t) => n + Number(t ?? 0), 0);
}

async function clearPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (found.length > 0) await redis.unlink(...found);
  } while (cursor !== '0');
}

async function main(): Promise<void> {
  const brokers = await kafkaBrokers();
  const settings = PipelineSettingsSchema.parse({
    chunkTokens: Number(opts['chunk-tokens']),
    anomaly: { batchEvents: Number(opts['batch-events']), batchMs: 50 },
  });
  const runs: Run[] = [];
  for (const workload of ['streams', 'documents'] as const) {
    for (const mode of ['unbatched', 'batched'] as const) {
      log(`${workload}, ${mode}`);
      runs.push(await run(workload, mode, brokers, settings));
    }
  }
  const ratio = (w: Workload) =>
    runs.find((r) => r.workload === w && r.mode === 'batched')!.tokensPerSecond /
    runs.find((r) => r.workload === w && r.mode === 'unbatched')!.tokensPerSecond;
  const report = {
    model: path.basename(opts.model!),
    batchStreams: Number(opts['batch-streams']),
    batchWaitMs: Number(opts['batch-wait-ms']),
    runs,
    ratio: { streams: ratio('streams'), documents: ratio('documents') },
  };
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const f = (n: number, digits = 1) => n.toFixed(digits);
  console.log(
    `model ${report.model}; batched: --batch-streams ${report.batchStreams} --batch-wait-ms ${report.batchWaitMs}`,
  );
  console.log(
    'workload   mode        jobs   tokens    seconds  tokens/s   picked→done p50/p99 ms   due→done p50/p99 ms',
  );
  for (const r of runs) {
    console.log(
      `${r.workload.padEnd(10)} ${r.mode.padEnd(10)} ${String(r.jobs).padStart(5)} ${String(r.tokens).padStart(8)} ${f(r.seconds, 2).padStart(9)} ` +
        `${f(r.tokensPerSecond, 0).padStart(9)}   ${`${f(r.p50Ms)} / ${f(r.p99Ms)}`.padStart(20)}   ${`${f(r.dueP50Ms)} / ${f(r.dueP99Ms)}`.padStart(20)}`,
    );
  }
  console.log(
    `throughput batched/unbatched: streams ${f(report.ratio.streams, 2)}x, documents ${f(report.ratio.documents, 2)}x`,
  );
}

await main();
process.exit(0);
