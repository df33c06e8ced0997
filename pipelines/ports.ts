// The ports the pipelines run over. The distributed adapters (Redis, BullMQ, Kafka) are the services layer's; an
// embedded mode supplies in-process ones. Nothing in pipelines/ imports a broker, queue or database client.
import type { DeadLetter } from '../schemas/dead-letter.ts';
import type { PermanentCode } from '../schemas/error-codes.ts';
import type { StoredEvent } from '../schemas/events.ts';
import type { PipelineJob } from '../schemas/jobs.ts';
import type { DocumentRecord, DocumentStatus, TokenLayout } from '../schemas/records.ts';
import type { DocumentTask } from '../schemas/tasks.ts';

/** Whose state: one document, or one event stream (carried indefinitely). */
export interface StateKey {
  kind: 'document' | 'stream';
  id: string;
}

/** The committed checkpoint of a state, without the blob. */
export interface CheckpointHead {
  /** Fencing token: the number of commits so far. A commit must name the version it started from. */
  version: number;
  /** Chunks (documents) or batches (streams) applied: the index of the next one. */
  chunk: number;
  /** Tokens the state has read. */
  tokens: number;
  /** Events consumed (streams): the sequence number of the last event read into the state. */
  cursor: number;
  /** Size of the state blob. */
  bytes: number;
  /** Where the adapter keeps the blob (opaque to the pipelines). */
  ref: string;
  /**
   * Outbox: the result produced by the commit that made this checkpoint. Marking it published keeps it: a
   * stream's next drain continues its open window from it.
   */
  result: string | null;
  published: boolean;
}

export interface CheckpointWrite {
  blob: Uint8Array;
  chunk: number;
  tokens: number;
  cursor: number;
  result: string | null;
  /** Who committed (for the audit trail). */
  writer: string;
}

export type CommitOutcome = { ok: true; version: number } | { ok: false; current: number };

export interface StateStore {
  head(key: StateKey): Promise<CheckpointHead | null>;
  /** The blob `head` points at; null when a newer commit has replaced it since (read the head again). */
  blob(key: StateKey, head: CheckpointHead): Promise<Buffer | null>;
  /**
   * Commits a new checkpoint if the current version is still `expectedVersion` (0: none yet); otherwise
   * nothing changes and the outcome says so. The blob is written before, and becomes visible atomically with, the head.
   */
  commit(key: StateKey, expectedVersion: number, write: CheckpointWrite): Promise<CommitOutcome>;
  /** Marks the outbox of `version` published, keeping its content (no-op if a newer commit exists). */
  markPublished(key: StateKey, version: number): Promise<void>;
  /** Removes the state (a finished document); a history of its commits may outlive it for a while. */
  drop(key: StateKey): Promise<void>;
}

export type PartOutcome =
  | { status: 'pending' }
  | { status: 'complete'; count: number; task: DocumentTask }
  | { status: 'rejected'; code: PermanentCode; reason: string };

export interface TokenWriter {
  append(ids: Int32Array): Promise<void>;
  /** The layout so far (segments written). */
  layout(): TokenLayout;
  /** Removes everything written (the attempt lost, or failed). */
  discard(): Promise<void>;
}

export interface PlannedDocument {
  record: DocumentRecord;
  status: DocumentStatus;
}

export interface DocumentStore {
  /** Stores one part; says when the document is complete (the final part and every earlier one arrived). */
  putPart(id: string, index: number, final: boolean, data: Buffer, task: DocumentTask | null): Promise<PartOutcome>;
  /** The parts in order; throws E_PART_MISSING when one has expired. */
  readParts(id: string, count: number): AsyncIterable<Buffer>;
  dropParts(id: string, count: number): Promise<void>;
  /**
   * Lets a failed document's id be planned again: its record, failure record, sections and commit history go
   * (that history would fence the new chain's first commit as a late writer of the old one). False, with
   * nothing changed, when a document under the id is running or done. (The embedded mode's store has no
   * such ids: its documents resume from their checkpoints.)
   */
  reopenFailed?(id: string): Promise<boolean>;
  /** Token ids are written under a fresh nonce, so a crashed or concurrent attempt never mixes with this one. */
  openTokenWriter(id: string, segmentTokens: number): TokenWriter;
  /** Creates the document once; a second create returns the existing one and changes nothing. */
  create(record: DocumentRecord): Promise<{ created: true } | { created: false; existing: PlannedDocument }>;
  get(id: string): Promise<PlannedDocument | null>;
  /** Token ids [start, end) of a planned document. */
  readTokens(record: DocumentRecord, start: number, end: number): Promise<Int32Array>;
  /** Sets the final status, frees the token ids, and lets the record expire after the retention period. */
  complete(record: DocumentRecord, status: Exclude<DocumentStatus, 'running'>): Promise<void>;
}

export interface StoredResult {
  json: string;
  published: boolean;
}

export interface ResultStore {
  /** Keeps the first result stored for a document (a redone finish step keeps the original) and returns it. */
  saveDocument(id: string, json: string): Promise<StoredResult>;
  getDocument(id: string): Promise<StoredResult | null>;
  markDocumentPublished(id: string): Promise<void>;
  /** Records why a document failed; readable until a result exists, and never taken for one. */
  saveFailure(id: string, json: string): Promise<void>;
  /**
   * Keeps the first result stored for section `index` of a document (a redone chunk keeps the original) and
   * returns what is stored. Sections live as long as the document's result.
   */
  saveSection(id: string, index: number, json: string): Promise<string>;
  /**
   * A document's sections from `from` on, in order, up to `to` (exclusive) or the first one not stored,
   * whichever comes first: every section stored so far when `to` is not given.
   */
  getSections(id: string, from?: number, to?: number): Promise<string[]>;
  /** The latest batch result of a stream. */
  saveStream(id: string, json: string): Promise<void>;
  /** The result, else the failure record, of a document; the latest batch of a stream. */
  get(kind: StateKey['kind'], id: string): Promise<string | null>;
}

/**
 * How many event ids an event log remembers per stream. A producer that retries writes the same event again
 * within moments, so the last ids of a stream are the ones a duplicate can repeat; a bounded count (not a
 * TTL) keeps a replayed input deduplicated exactly as it was the first time.
 */
export const EVENT_ID_HORIZON = 1000;

export interface AppendOutcome {
  /** False for a record already taken in (a redelivery) or an event whose id the stream took in before. */
  appended: boolean;
  /** Events not yet read into the stream's committed state. */
  pending: number;
  /** The index of the stream's next batch. */
  batch: number;
}

export interface Backlog {
  count: number;
  /** receivedAt of the oldest waiting event; null when none waits. */
  oldestAt: number | null;
}

export interface EventLog {
  /**
   * Appends an event unless its record (topic, partition, offset) was taken in before, or it carries an id
   * among the last EVENT_ID_HORIZON ids the stream took in (a producer's retry). Events without an id are
   * distinct by definition. The check and the append are one atomic step.
   */
  append(stream: string, event: Omit<StoredEvent, 'seq'>): Promise<AppendOutcome>;
  /** Up to `max` events after sequence number `afterSeq`, in order. */
  read(stream: string, afterSeq: number, max: number): Promise<StoredEvent[]>;
  backlog(stream: string, afterSeq: number): Promise<Backlog>;
  /** Forgets events up to and including `throughSeq` (they are in the state). */
  trim(stream: string, throughSeq: number): Promise<void>;
}

export interface JobQueue {
  /**
   * Adds the job under its deterministic id (see job-ids.ts). A job with that id that still exists is left
   * as it is, so a retried step can never fork a document's chain.
   */
  enqueue(job: PipelineJob, options?: { delayMs?: number }): Promise<void>;
  /** Makes a delayed job with this id runnable now (no-op if there is none, or it is not delayed). */
  expedite(job: PipelineJob): Promise<void>;
}

export interface ResultSink {
  /** Publishes one result (at least once; consumers deduplicate by id and batch). */
  publish(key: string, json: string): Promise<void>;
}

export interface DeadLetterSink {
  publish(letter: DeadLetter): Promise<void>;
}

/** A record as it came off an input topic. */
export interface RawRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
}

export type RecordHandler = (record: RawRecord) => Promise<void>;

/** Where submissions come from (Kafka topics; files or stdin when embedded). */
export interface RecordSource {
  /** Delivers records until stopped; a handler that throws gets the record again (at least once). */
  start(handlers: { documents: RecordHandler; events: RecordHandler }): Promise<void>;
  stop(): Promise<void>;
}

/** Reads a referenced document (file://, http(s)://) as a stream of bytes. */
export interface BodyReader {
  open(url: string): AsyncIterable<Uint8Array>;
}

/** What the pipelines report for metrics. */
export interface Telemetry {
  chunk(kind: StateKey['kind'], tokens: number, seconds: number): void;
  checkpoint(op: 'load' | 'commit', bytes: number, seconds: number): void;
  commitRejected(kind: StateKey['kind']): void;
  record(topic: 'documents' | 'events', outcome: 'accepted' | 'duplicate' | 'dead_letter'): void;
  deadLetter(stage: string, code: string): void;
}

/** The logging surface the pipelines use (pino's loggers fit it). */
export interface Log {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Log;
}

/** Progress of the job being run. */
export interface JobProgress {
  tokensDone: number;
  tokensTotal: number;
  chunk: number;
  chunks: number;
}

export interface JobContext {
  progress(p: JobProgress): Promise<void>;
  log: Log;
}
