// In-memory implementations of the pipeline ports, with the same contracts as the Redis/BullMQ/Kafka adapters
// (fenced commits, create-once documents, id-deduplicated jobs; test/ports holds them to it), so the pipelines
// are tested on their own. The event log is the embedded mode's in-memory one.
import { Checkpointer } from '../../pipelines/checkpoints.ts';
import { segmentSlices, tokenNonce } from '../../pipelines/chunking.ts';
import type { IngestDeps, PipelineDeps } from '../../pipelines/context.ts';
import { permanent } from '../../pipelines/errors.ts';
import { jobId } from '../../pipelines/job-ids.ts';
import { runJob } from '../../pipelines/run-job.ts';
import type {
  BodyReader,
  CheckpointHead,
  CheckpointWrite,
  JobQueue,
  CommitOutcome,
  DeadLetterSink,
  DocumentStore,
  JobContext,
  Log,
  PartOutcome,
  PlannedDocument,
  ResultSink,
  ResultStore,
  StateKey,
  StateStore,
  StoredResult,
  Telemetry,
  TokenWriter,
} from '../../pipelines/ports.ts';
import { PipelineSettingsSchema, type PipelineSettingsInput } from '../../schemas/config.ts';
import type { DeadLetter } from '../../schemas/dead-letter.ts';
import type { PipelineJob } from '../../schemas/jobs.ts';
import type { DocumentRecord, DocumentStatus } from '../../schemas/records.ts';
import type { DocumentTask } from '../../schemas/tasks.ts';
import { MemoryEventLog } from '../../services/adapters/memory/event-log.ts';
import type { Engine } from '../../engine/index.ts';

const name = (key: StateKey) => `${key.kind}/${key.id}`;

export class MemoryStateStore implements StateStore {
  readonly heads = new Map<string, CheckpointHead>();
  readonly blobs = new Map<string, Buffer>();
  readonly commits: { key: string; chunk: number; version: number; writer: string }[] = [];
  /** The last version of each dropped state (Redis keeps it in the state's audit trail). */
  readonly #dropped = new Map<string, number>();
  #serial = 0;

  async head(key: StateKey): Promise<CheckpointHead | null> {
    const h = this.heads.get(name(key));
    return h ? { ...h } : null;
  }

  async blob(_key: StateKey, head: CheckpointHead): Promise<Buffer | null> {
    return this.blobs.get(head.ref) ?? null;
  }

  async commit(key: StateKey, expectedVersion: number, write: CheckpointWrite): Promise<CommitOutcome> {
    const current = this.heads.get(name(key));
    // A dropped state does not come back through a writer that started before the drop (as the Redis store).
    const dropped = this.#dropped.get(name(key));
    if (!current && dropped !== undefined) return { ok: false, current: dropped };
    if ((current?.version ?? 0) !== expectedVersion) return { ok: false, current: current?.version ?? 0 };
    const ref = `${name(key)}#${++this.#serial}`;
    this.blobs.set(ref, Buffer.from(write.blob));
    if (current) this.blobs.delete(current.ref);
    const version = expectedVersion + 1;
    this.heads.set(name(key), {
      version,
      chunk: write.chunk,
      tokens: write.tokens,
      cursor: write.cursor,
      bytes: write.blob.byteLength,
      ref,
      result: write.result,
      published: write.result === null,
    });
    this.commits.push({ key: name(key), chunk: write.chunk, version, writer: write.writer });
    return { ok: true, version };
  }

  async markPublished(key: StateKey, version: number): Promise<void> {
    const h = this.heads.get(name(key));
    if (h && h.version === version) h.published = true;
  }

  async drop(key: StateKey): Promise<void> {
    const h = this.heads.get(name(key));
    if (h) {
      this.blobs.delete(h.ref);
      this.#dropped.set(name(key), h.version);
    }
    this.heads.delete(name(key));
  }

  /** Forgets a state and its history (a reopened failed document starts a new chain). */
  forget(key: StateKey): void {
    const h = this.heads.get(name(key));
    if (h) this.blobs.delete(h.ref);
    this.heads.delete(name(key));
    this.#dropped.delete(name(key));
  }
}

export class MemoryDocumentStore implements DocumentStore {
  readonly parts = new Map<string, { data: Map<number, Buffer>; final: number | null; task: DocumentTask | null }>();
  readonly docs = new Map<string, PlannedDocument>();
  readonly tokens = new Map<string, Int32Array[]>();
  readonly #maxDocumentBytes: number;

  constructor(options: { maxDocumentBytes: number }) {
    this.#maxDocumentBytes = options.maxDocumentBytes;
  }

  async putPart(id: string, index: number, final: boolean, data: Buffer, task: DocumentTask | null): Promise<PartOutcome> {
    const entry = this.parts.get(id) ?? { data: new Map(), final: null, task: null };
    this.parts.set(id, entry);
    const highest = Math.max(-1, ...entry.data.keys());
    if (final && ((entry.final !== null && entry.final !== index + 1) || highest > index)) {
      return { status: 'rejected', code: 'E_PART_CONFLICT', reason: 'conflicting final part' };
    }
    if (!final && entry.final !== null && index >= entry.final) {
      return { status: 'rejected', code: 'E_PART_CONFLICT', reason: 'part beyond the final part' };
    }
    const bytes = [...entry.data].reduce((sum, [i, part]) => sum + (i === index ? 0 : part.length), data.length);
    if (bytes > this.#maxDocumentBytes) {
      return { status: 'rejected', code: 'E_TOO_LARGE', reason: `the parts add up to more than ${this.#maxDocumentBytes} bytes` };
    }
    entry.data.set(index, data);
    if (final) {
      entry.final = index + 1;
      entry.task = task;
    }
    return entry.final !== null && entry.data.size === entry.final
      ? { status: 'complete', count: entry.final, task: entry.task! }
      : { status: 'pending' };
  }

  async *readParts(id: string, count: number): AsyncIterable<Buffer> {
    for (let i = 0; i < count; i++) {
      const part = this.parts.get(id)?.data.get(i);
      if (!part) throw permanent('E_PART_MISSING', `part ${i} of ${id} is gone`);
      yield part;
    }
  }

  async dropParts(id: string): Promise<void> {
    this.parts.delete(id);
  }

  /** What a reopened id clears beside the record (the Redis store's keys share the document's hash tag). */
  reopenHooks: ((id: string) => void)[] = [];

  async reopenFailed(id: string): Promise<boolean> {
    const doc = this.docs.get(id);
    if (doc && doc.status !== 'failed') return false;
    this.docs.delete(id);
    for (const hook of this.reopenHooks) hook(id);
    return true;
  }

  openTokenWriter(id: string, segmentTokens: number): TokenWriter {
    const nonce = tokenNonce();
    const key = `${id}/${nonce}`;
    const segments: number[][] = [];
    let written = 0;
    return {
      append: async (ids) => {
        for (const s of segmentSlices(written, written + ids.length, segmentTokens)) {
          const from = s.segment * segmentTokens + s.from - written;
          (segments[s.segment] ??= []).push(...ids.subarray(from, from + s.to - s.from));
        }
        written += ids.length;
        this.tokens.set(key, segments.map((s) => Int32Array.from(s)));
      },
      layout: () => ({ nonce, segmentTokens, segments: segments.length }),
      discard: async () => {
        this.tokens.delete(key);
      },
    };
  }

  async create(record: DocumentRecord): Promise<{ created: true } | { created: false; existing: PlannedDocument }> {
    const existing = this.docs.get(record.id);
    if (existing) return { created: false, existing: structuredClone(existing) };
    this.docs.set(record.id, { record: structuredClone(record), status: 'running' });
    return { created: true };
  }

  async get(id: string): Promise<PlannedDocument | null> {
    const doc = this.docs.get(id);
    return doc ? structuredClone(doc) : null;
  }

  async readTokens(record: DocumentRecord, start: number, end: number): Promise<Int32Array> {
    const segments = this.tokens.get(`${record.id}/${record.layout.nonce}`);
    if (!segments) throw permanent('E_TOKENS_MISSING', `no tokens for ${record.id}`);
    const out = new Int32Array(end - start);
    let at = 0;
    for (const s of segmentSlices(start, end, record.layout.segmentTokens)) {
      out.set(segments[s.segment]!.subarray(s.from, s.to), at);
      at += s.to - s.from;
    }
    return out;
  }

  async complete(record: DocumentRecord, status: Exclude<DocumentStatus, 'running'>): Promise<void> {
    const doc = this.docs.get(record.id);
    if (doc) doc.status = status;
    this.tokens.delete(`${record.id}/${record.layout.nonce}`);
  }
}

export class MemoryResultStore implements ResultStore {
  readonly documents = new Map<string, StoredResult>();
  readonly failures = new Map<string, string>();
  readonly streams = new Map<string, string>();
  /** Section results by document id, then index. */
  readonly sections = new Map<string, Map<number, string>>();
  /** saveSection calls per "<id>#<index>" (a redone chunk saves again; the first JSON must stay). */
  readonly sectionSaves = new Map<string, number>();

  async saveSection(id: string, index: number, json: string): Promise<string> {
    const stored = this.sections.get(id) ?? new Map<number, string>();
    this.sections.set(id, stored);
    if (!stored.has(index)) stored.set(index, json);
    this.sectionSaves.set(`${id}#${index}`, (this.sectionSaves.get(`${id}#${index}`) ?? 0) + 1);
    return stored.get(index)!;
  }

  async getSections(id: string, from = 0, to = Number.POSITIVE_INFINITY): Promise<string[]> {
    const stored = this.sections.get(id);
    const out: string[] = [];
    for (let i = from; i < to; i++) {
      const json = stored?.get(i);
      if (json === undefined) break;
      out.push(json);
    }
    return out;
  }

  async saveDocument(id: string, json: string): Promise<StoredResult> {
    if (!this.documents.has(id)) this.documents.set(id, { json, published: false });
    return { ...this.documents.get(id)! };
  }

  async getDocument(id: string): Promise<StoredResult | null> {
    const r = this.documents.get(id);
    return r ? { ...r } : null;
  }

  async markDocumentPublished(id: string): Promise<void> {
    const r = this.documents.get(id);
    if (r) r.published = true;
  }

  async saveFailure(id: string, json: string): Promise<void> {
    this.failures.set(id, json);
  }

  async saveStream(id: string, json: string): Promise<void> {
    this.streams.set(id, json);
  }

  async get(kind: StateKey['kind'], id: string): Promise<string | null> {
    return kind === 'document' ? (this.documents.get(id)?.json ?? this.failures.get(id) ?? null) : (this.streams.get(id) ?? null);
  }
}

/** Jobs by id, like BullMQ with custom ids: adding an id that exists changes nothing. */
export class MemoryQueue implements JobQueue {
  readonly jobs = new Map<string, { job: PipelineJob; delayMs: number; done: boolean }>();
  readonly order: string[] = [];

  async enqueue(job: PipelineJob, options: { delayMs?: number } = {}): Promise<void> {
    const id = jobId(job);
    if (this.jobs.has(id)) return;
    this.jobs.set(id, { job, delayMs: options.delayMs ?? 0, done: false });
    this.order.push(id);
  }

  async expedite(job: PipelineJob): Promise<void> {
    const entry = this.jobs.get(jobId(job));
    if (entry && !entry.done) entry.delayMs = 0;
  }

  /** The next job not yet run (delays are ignored: tests run jobs as soon as they exist). */
  next(): { id: string; job: PipelineJob } | null {
    for (const id of this.order) {
      const entry = this.jobs.get(id)!;
      if (!entry.done) return { id, job: entry.job };
    }
    return null;
  }

  markDone(id: string): void {
    this.jobs.get(id)!.done = true;
  }

  /** Forgets finished jobs, as BullMQ does once their retention ends. */
  forgetDone(): void {
    for (const [id, entry] of this.jobs) if (entry.done) this.jobs.delete(id);
    this.order.splice(0, this.order.length, ...this.order.filter((id) => this.jobs.has(id)));
  }
}

/** Sinks that keep what was published, in order. */
export class CollectingSinks {
  readonly results: { key: string; json: string }[] = [];
  readonly deadLetters: DeadLetter[] = [];
  readonly resultSink: ResultSink = { publish: async (key, json) => void this.results.push({ key, json }) };
  readonly deadLetterSink: DeadLetterSink = { publish: async (letter) => void this.deadLetters.push(letter) };
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

export const jobContext = (progress: JobContext['progress'] = async () => {}): JobContext => ({ log: quietLog, progress });

export interface MemoryPipeline {
  deps: PipelineDeps;
  states: MemoryStateStore;
  documents: MemoryDocumentStore;
  events: MemoryEventLog;
  results: MemoryResultStore;
  queue: MemoryQueue;
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
  const queue = shared?.queue ?? new MemoryQueue();
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
export function memoryIngest(settings: PipelineSettingsInput = {}): Omit<MemoryPipeline, 'deps'> & { deps: IngestDeps } {
  const states = new MemoryStateStore();
  const documents = new MemoryDocumentStore(PipelineSettingsSchema.parse(settings));
  const events = new MemoryEventLog(states);
  const results = new MemoryResultStore();
  const queue = new MemoryQueue();
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
