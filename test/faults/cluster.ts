// A small deployment for fault scenarios: its own key prefix, topics and consumer group, `rwkvstream worker`
// processes on the tiny model (added, killed and restarted at will), documents submitted straight to Kafka,
// and the check that matters: every document has its reference result, byte for byte, no other result, and an
// audit trail with each chunk committed once, in order. Everything it made is removed by `close`, even after
// a failure and even when its Redis is down (then the keys die with that Redis's data directory).
import { setTimeout as sleep } from 'node:timers/promises';

import { DOCUMENT_SCHEMA_V1, DocumentMessageSchema } from '../../schemas/documents.ts';
import type { DocumentTaskInput } from '../../schemas/tasks.ts';
import type { RedisAccess } from '../../services/adapters/redis/access.ts';
import { Deployment } from '../integration/helpers/deployment.ts';
import type { KafkaSecurity } from '../integration/helpers/services.ts';
import type { StartingWorker, WorkerProcess } from '../integration/helpers/worker-process.ts';
import { onInterrupt } from './interrupt.ts';
import { referenceResult } from './reference.ts';

export { stopWorker } from '../integration/helpers/deployment.ts';

export interface FaultDocument {
  id: string;
  text: string;
  task: DocumentTaskInput;
}

export interface ClusterOptions {
  brokers: string[];
  redisUrl: string;
  /** Part of the unique prefix (the scenario's name). */
  name: string;
  chunkTokens: number;
  /** More `rwkvstream worker` flags (short --lock-ms/--stalled-ms for quick takeovers). */
  workerArgs?: string[];
  /** Extra environment of the worker processes. */
  env?: NodeJS.ProcessEnv;
  /** A secured or clustered Redis (see DeploymentOptions). */
  redisAccess?: RedisAccess;
  /** TLS and SASL of a secured broker. */
  kafkaSecurity?: KafkaSecurity;
}

export interface AuditEntry {
  chunk: number;
  version: number;
  tokens: number;
  writer: string;
  /** When the commit ran (the writer's clock, ms). */
  at: number;
}

/** How the documents' outcomes compare with their references. */
export interface Verdict {
  identical: number;
  lost: number;
  /** Extra, byte-identical copies of a result on the results topic (at-least-once delivery). */
  duplicates: number;
  /** Consecutive commits of a document by different workers: chunks taken over. */
  handovers: number;
  /** What was wrong, per document (empty when nothing was). */
  problems: string[];
}

/** Documents of a few paragraphs, half summarize and half classify. */
export function mixedDocuments(count: number, paragraphs: number, idPrefix = 'doc'): FaultDocument[] {
  const topics = [
    'the harbour',
    'the orchard',
    'the league final',
    'the bond market',
    'the observatory',
    'the rail line',
  ];
  return Array.from({ length: count }, (_, d) => {
    const text = Array.from(
      { length: paragraphs },
      (_, p) =>
        `Report ${d}.${p}: ${topics[(d + p) % topics.length]} saw ${(d * 31 + p * 7) % 97} visitors; ` +
        `the ${p % 2 === 0 ? 'morning' : 'evening'} shift noted ${(d + p) % 5} delays and a ${p % 3 === 0 ? 'calm' : 'busy'} day.\n`,
    ).join('');
    const task: DocumentTaskInput =
      d % 2 === 0
        ? { kind: 'summarize', maxTokens: 16 + (d % 3) * 8 }
        : { kind: 'classify', labels: ['sports', 'finance', 'science', 'travel'].slice(0, 2 + (d % 3)) };
    return { id: `${idPrefix}-${d}`, text, task };
  });
}

/** A deployment (`redis` commands wait out a Redis restart) with fault-scenario documents and their checks. */
export class Cluster extends Deployment {
  readonly #options: ClusterOptions;

  private constructor(options: ClusterOptions) {
    super(options.name, {
      brokers: options.brokers,
      redisUrl: options.redisUrl,
      producer: true,
      workerArgs: ['--chunk-tokens', String(options.chunkTokens), ...(options.workerArgs ?? [])],
      ...(options.env ? { env: options.env } : {}),
      ...(options.redisAccess ? { redisAccess: options.redisAccess } : {}),
      ...(options.kafkaSecurity ? { kafkaSecurity: options.kafkaSecurity } : {}),
    });
    this.#options = options;
  }

  /** Topics, the results collector and a producer; no worker yet. Closed even when this throws. */
  static async open(options: ClusterOptions, use: (cluster: Cluster) => Promise<void>): Promise<void> {
    const cluster = new Cluster(options);
    // An interrupted run stops the workers before the services they use (steps run newest first).
    const forget = onInterrupt(`the workers of ${cluster.prefix}`, () => cluster.close());
    try {
      await cluster.start();
      await use(cluster);
    } finally {
      // Whatever the tear-down could not remove dies with the scenario's broker or Redis.
      await cluster.close().catch(() => {});
      forget();
    }
  }

  get chunkTokens(): number {
    return this.#options.chunkTokens;
  }

  /** Worker processes that have not exited, ready or still starting (a paused one counts). */
  get live(): StartingWorker[] {
    return this.processes.filter((w) => w.running());
  }

  async submit(docs: FaultDocument[]): Promise<void> {
    await this.producer.send({
      topic: this.topics.documents,
      acks: -1,
      messages: docs.map((doc) => ({
        key: doc.id,
        value: JSON.stringify(
          DocumentMessageSchema.parse({
            schema: DOCUMENT_SCHEMA_V1,
            id: doc.id,
            task: doc.task,
            body: { kind: 'text', text: doc.text },
          }),
        ),
      })),
    });
  }

  resultsOf(id: string): string[] {
    return (this.collector.records.get(this.topics.results) ?? []).filter((r) => r.key === id).map((r) => r.value);
  }

  deadLettersOf(id: string): string[] {
    return (this.collector.records.get(this.topics.deadLetter) ?? [])
      .filter((r) => r.value.includes(JSON.stringify(id)))
      .map((r) => r.value);
  }

  /** Documents with neither a result nor a dead letter yet. */
  pending(docs: FaultDocument[]): FaultDocument[] {
    return docs.filter((d) => this.resultsOf(d.id).length === 0 && this.deadLettersOf(d.id).length === 0);
  }

  /** Waits until every document has a result or a dead letter; false when the time ran out. */
  async settled(docs: FaultDocument[], timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending(docs).length > 0) {
      if (Date.now() > deadline) return false;
      await sleep(100);
    }
    return true;
  }

  async audit(id: string): Promise<AuditEntry[]> {
    return (await this.redis.lrange(this.keys.audit({ kind: 'document', id }), 0, -1)).map(
      (e) => JSON.parse(e) as AuditEntry,
    );
  }

  /** Compares every document's outcome with its reference and its audit trail with one commit per chunk. */
  async verify(docs: FaultDocument[]): Promise<Verdict> {
    const verdict: Verdict = { identical: 0, lost: 0, duplicates: 0, handovers: 0, problems: [] };
    for (const doc of docs) {
      const problem = await this.#check(doc, verdict);
      if (problem === null) verdict.identical++;
      else {
        verdict.lost++;
        verdict.problems.push(`${doc.id}: ${problem}`);
      }
    }
    return verdict;
  }

  async #check(doc: FaultDocument, verdict: Verdict): Promise<string | null> {
    const letters = this.deadLettersOf(doc.id);
    if (letters.length > 0) return `dead-lettered: ${letters[0]!.slice(0, 300)}`;
    const results = this.resultsOf(doc.id);
    if (results.length === 0) return 'no result';
    const reference = await referenceResult({ ...doc, chunkTokens: this.#options.chunkTokens });
    const different = results.filter((r) => r !== reference);
    if (different.length > 0)
      return `result differs from the reference: ${different[0]!.slice(0, 300)} vs ${reference.slice(0, 300)}`;
    verdict.duplicates += results.length - 1;
    const { chunks, tokens } = JSON.parse(reference) as { chunks: number; tokens: number };
    const trail = await this.audit(doc.id);
    const expected = Array.from({ length: chunks }, (_, k) => k + 1);
    if (JSON.stringify(trail.map((e) => e.chunk)) !== JSON.stringify(expected)) {
      return `audit trail commits chunks [${trail.map((e) => e.chunk).join(',')}], expected 1..${chunks} once each`;
    }
    if (trail.some((e) => e.version !== e.chunk)) return 'audit trail versions do not follow the chunks';
    if (trail.at(-1)!.tokens !== tokens) return `the last commit read ${trail.at(-1)!.tokens} tokens of ${tokens}`;
    for (let i = 1; i < trail.length; i++) if (trail[i]!.writer !== trail[i - 1]!.writer) verdict.handovers++;
    return null;
  }

  /** Ids of the chunk jobs a worker is running now (BullMQ records who took each active job). */
  async activeChunkJobs(worker: StartingWorker): Promise<string[]> {
    const ids = await this.redis.lrange(`${this.keys.queuePrefix}:chunks:active`, 0, -1);
    const owners = await Promise.all(ids.map((id) => this.redis.hget(`${this.keys.queuePrefix}:chunks:${id}`, 'pb')));
    return ids.filter((_, i) => owners[i] === worker.name);
  }

  /** Where a chunk job stands in the queue: its list or set, who took it last, how often it stalled or failed. */
  async chunkJobState(jobId: string): Promise<Record<string, unknown>> {
    const base = `${this.keys.queuePrefix}:chunks`;
    const [fields, active, wait, stalled, failed, locked] = await Promise.all([
      this.redis.hmget(`${base}:${jobId}`, 'pb', 'stc', 'ats', 'atm', 'failedReason', 'finishedOn'),
      this.redis.lpos(`${base}:active`, jobId),
      this.redis.lpos(`${base}:wait`, jobId),
      this.redis.sismember(`${base}:stalled`, jobId),
      this.redis.zscore(`${base}:failed`, jobId),
      this.redis.exists(`${base}:${jobId}:lock`),
    ]);
    const [takenBy, stalls, started, attempts, failedReason, finishedOn] = fields;
    return {
      takenBy,
      stalls,
      started,
      attempts,
      failedReason,
      finishedOn,
      active: active !== null,
      waiting: wait !== null,
      markedStalled: stalled === 1,
      failed: failed !== null,
      locked: locked === 1,
    };
  }

  /** Log lines of every worker started whose message is `msg`. */
  logged(msg: string): Record<string, unknown>[] {
    return this.processes.flatMap((w) => w.logs.filter((entry) => entry.msg === msg));
  }
}

/** A counter's value on a worker's /metrics (0 when the counter has not been created yet). */
export async function metricValue(worker: WorkerProcess, name: string): Promise<number> {
  const body = await (await fetch(`http://127.0.0.1:${worker.metricsPort}/metrics`)).text();
  const line = body.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}
