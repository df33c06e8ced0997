// Prometheus metrics of a worker process: throughput, chunk latency, checkpoint size and latency, queue depth
// and consumer lag (the last two read on scrape), plus the process's own (memory, CPU, event loop lag).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

import type { StateKey, Telemetry } from '../../pipelines/ports.ts';

export interface QueueCounts {
  queue: string;
  counts: Record<string, number>;
}

export interface LagReading {
  topic: string;
  partition: number;
  lag: number;
}

export class PipelineMetrics implements Telemetry {
  readonly registry = new Registry();
  #queues: (() => Promise<QueueCounts[]>) | null = null;
  #lag: (() => Promise<LagReading[]>) | null = null;

  readonly #tokens = new Counter({
    name: 'rwkvstream_tokens_total',
    help: 'Tokens read into states',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly #tokensPerSecond = new Gauge({
    name: 'rwkvstream_tokens_per_second',
    help: 'Engine throughput of the last chunk or batch',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly #chunkSeconds = new Histogram({
    name: 'rwkvstream_chunk_seconds',
    help: 'Model time per chunk (documents) or batch (streams)',
    labelNames: ['kind'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly #checkpointBytes = new Histogram({
    name: 'rwkvstream_checkpoint_bytes',
    help: 'State blob size per checkpoint load or commit',
    labelNames: ['op'],
    buckets: [64e3, 256e3, 1e6, 2.5e6, 5e6, 1.5e7, 4e7, 1e8],
    registers: [this.registry],
  });
  readonly #checkpointSeconds = new Histogram({
    name: 'rwkvstream_checkpoint_seconds',
    help: 'Time to load or commit a checkpoint (serialization and Redis)',
    labelNames: ['op'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });
  readonly #batchStreams = new Histogram({
    name: 'rwkvstream_batch_streams',
    help: 'Streams (chunk and drain jobs) per batched forward',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096],
    registers: [this.registry],
  });
  readonly #batchTokens = new Histogram({
    name: 'rwkvstream_batch_tokens',
    help: 'Tokens per batched forward (all streams together)',
    buckets: [16, 64, 256, 1024, 4096, 16384, 65536, 262144],
    registers: [this.registry],
  });
  readonly #batchSeconds = new Histogram({
    name: 'rwkvstream_batch_seconds',
    help: 'Model time per batched forward',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly #rejected = new Counter({
    name: 'rwkvstream_checkpoint_commits_rejected_total',
    help: 'Commits refused by fencing (stale or duplicate runs)',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly #records = new Counter({
    name: 'rwkvstream_records_total',
    help: 'Input records by outcome',
    labelNames: ['topic', 'outcome'],
    registers: [this.registry],
  });
  readonly #deadLetters = new Counter({
    name: 'rwkvstream_dead_letters_total',
    help: 'Dead letters published',
    labelNames: ['stage', 'code'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const self = this;
    new Gauge({
      name: 'rwkvstream_queue_jobs',
      help: 'Jobs per queue and state',
      labelNames: ['queue', 'state'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const { queue, counts } of (await self.#queues?.()) ?? []) {
          for (const [state, n] of Object.entries(counts)) this.set({ queue, state }, n);
        }
      },
    });
    new Gauge({
      name: 'rwkvstream_consumer_lag',
      help: 'Records not yet consumed, per input partition',
      labelNames: ['topic', 'partition'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const { topic, partition, lag } of (await self.#lag?.()) ?? [])
          this.set({ topic, partition: String(partition) }, lag);
      },
    });
  }

  watchQueues(read: () => Promise<QueueCounts[]>): void {
    this.#queues = read;
  }

  watchLag(read: () => Promise<LagReading[]>): void {
    this.#lag = read;
  }

  chunk(kind: StateKey['kind'], tokens: number, seconds: number): void {
    this.#tokens.inc({ kind }, tokens);
    this.#chunkSeconds.observe({ kind }, seconds);
    if (seconds > 0) this.#tokensPerSecond.set({ kind }, tokens / seconds);
  }

  checkpoint(op: 'load' | 'commit', bytes: number, seconds: number): void {
    this.#checkpointBytes.observe({ op }, bytes);
    this.#checkpointSeconds.observe({ op }, seconds);
  }

  /** One batched forward of a worker that batches its jobs' model calls. */
  forwardBatch(streams: number, tokens: number, seconds: number): void {
    this.#batchStreams.observe(streams);
    this.#batchTokens.observe(tokens);
    this.#batchSeconds.observe(seconds);
  }

  commitRejected(kind: StateKey['kind']): void {
    this.#rejected.inc({ kind });
  }

  record(topic: 'documents' | 'events', outcome: 'accepted' | 'duplicate' | 'dead_letter'): void {
    this.#records.inc({ topic, outcome });
  }

  deadLetter(stage: string, code: string): void {
    this.#deadLetters.inc({ stage, code });
  }
}
