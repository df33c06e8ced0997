// The pipelines on the in-memory adapters (services/adapters/memory, held to the same contracts as the Redis,
// BullMQ and Kafka ones by test/ports), wired for tests: a queue stepped by hand, telemetry that counts, a
// silent log, and a second "worker" that shares the stores.
import { Checkpointer } from '../../pipelines/checkpoints.ts';
import type { IngestDeps, PipelineDeps } from '../../pipelines/context.ts';
import { permanent } from '../../pipelines/errors.ts';
import { runJob } from '../../pipelines/run-job.ts';
import type { BodyReader, JobContext, Log, StateKey, Telemetry } from '../../pipelines/ports.ts';
import { PipelineSettingsSchema, type PipelineSettingsInput } from '../../schemas/config.ts';
import { MemoryDeadLetterSink } from '../../services/adapters/memory/dead-letters.ts';
import { MemoryDocumentStore } from '../../services/adapters/memory/document-store.ts';
import { MemoryEventLog } from '../../services/adapters/memory/event-log.ts';
import { MemoryJobQueue } from '../../services/adapters/memory/queue.ts';
import { MemoryResultSink } from '../../services/adapters/memory/result-sink.ts';
import { MemoryResultStore } from '../../services/adapters/memory/result-store.ts';
import { MemoryStateStore } from '../../services/adapters/memory/state-store.ts';
import type { Engine } from '../../engine/index.ts';

/**
 * The queue as tests step through it: next() shows the job, markDone() finishes it; a delayed job can run at
 * once (tests have no clock to wait on), and finished jobs are remembered until forgetDone().
 */
const testQueue = () => new MemoryJobQueue({ delays: 'ignore', keepDone: Infinity });

/** The memory sinks, with what was published readable in order. */
export class CollectingSinks {
  readonly resultSink = new MemoryResultSink();
  readonly deadLetterSink = new MemoryDeadLetterSink();
  readonly results = this.resultSink.results;
  readonly deadLetters = this.deadLetterSink.letters;
}

export class CountingTelemetry implements Telemetry {
  tokens = 0;
  rejected = 0;
  loads = 0;
  commits = 0;
  chunk(_kind: StateKey['kind'], tokens: number): void {
    this.tokens += tokens;
  }
  checkpoint(op: 'load' | 'commit'): void {
    if (op === 'load') this.loads++;
    else this.commits++;
  }
  commitRejected(): void {
    this.rejected++;
  }
  record(): void {}
  deadLetter(): void {}
}

export const quietLog: Log = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return quietLog;
  },
};

export const jobContext = (progress: JobContext['progress'] = async () => {}): JobContext => ({
  log: quietLog,
  progress,
});

export interface MemoryPipeline {
  deps: PipelineDeps;
  states: MemoryStateStore;
  documents: MemoryDocumentStore;
  events: MemoryEventLog;
  results: MemoryResultStore;
  queue: MemoryJobQueue;
  sinks: CollectingSinks;
  telemetry: CountingTelemetry;
}

/** A pipeline on memory ports; `shared` lets a second "worker" (own engine, own cache) use the same stores. */
export function memoryPipeline(
  engine: Engine,
  settings: PipelineSettingsInput = {},
  shared?: Omit<MemoryPipeline, 'deps' | 'telemetry'>,
  writer = 'worker-a',
): MemoryPipeline {
  const states = shared?.states ?? new MemoryStateStore();
  const documents = shared?.documents ?? new MemoryDocumentStore(PipelineSettingsSchema.parse(settings));
  const events = shared?.events ?? new MemoryEventLog(states);
  const results = shared?.results ?? new MemoryResultStore();
  if (!shared) {
    documents.reopenHooks.push((id) => {
      states.forget({ kind: 'document', id });
      results.failures.delete(id);
      results.documents.delete(id);
      results.sections.delete(id);
    });
  }
  const queue = shared?.queue ?? testQueue();
  const sinks = shared?.sinks ?? new CollectingSinks();
  const telemetry = new CountingTelemetry();
  const bodies: BodyReader = {
    open() {
      throw permanent('E_REF', 'references are not readable in this test');
    },
  };
  const deps: PipelineDeps = {
    engine,
    settings: PipelineSettingsSchema.parse(settings),
    states,
    checkpoints: new Checkpointer(engine, states, telemetry, writer),
    documents,
    events,
    results,
    queue,
    resultSink: sinks.resultSink,
    deadLetters: sinks.deadLetterSink,
    bodies,
    telemetry,
    log: quietLog,
  };
  return { deps, states, documents, events, results, queue, sinks, telemetry };
}

/** The ingest side alone (no engine): validation, part assembly, event log and scheduling. */
export function memoryIngest(
  settings: PipelineSettingsInput = {},
): Omit<MemoryPipeline, 'deps'> & { deps: IngestDeps } {
  const states = new MemoryStateStore();
  const documents = new MemoryDocumentStore(PipelineSettingsSchema.parse(settings));
  const events = new MemoryEventLog(states);
  const results = new MemoryResultStore();
  const queue = testQueue();
  const sinks = new CollectingSinks();
  const telemetry = new CountingTelemetry();
  const deps: IngestDeps = {
    settings: PipelineSettingsSchema.parse(settings),
    documents,
    events,
    queue,
    deadLetters: sinks.deadLetterSink,
    results,
    telemetry,
    log: quietLog,
  };
  return { deps, states, documents, events, results, queue, sinks, telemetry };
}

/** Runs queued jobs in order until none is left (or `max` ran); returns [job id, outcome] per run. */
export async function runQueued(p: Pick<MemoryPipeline, 'deps' | 'queue'>, max = 100_000): Promise<[string, string][]> {
  const ran: [string, string][] = [];
  for (let n = 0; n < max; n++) {
    const next = p.queue.next();
    if (!next) break;
    const outcome = await runJob(next.job, p.deps, jobContext());
    p.queue.markDone(next.id);
    ran.push([next.id, outcome]);
  }
  return ran;
}
