// Everything a pipeline step needs, bundled once per process by whoever wires the ports (the distributed
// worker, an embedded runner, or a test).
import type { PipelineSettings } from '../schemas/config.ts';
import type { Engine } from '../engine/index.ts';
import type { Checkpointer } from './checkpoints.ts';
import type { Forward } from './tasks/forward.ts';
import type { TextListener } from './tasks/summarize.ts';
import type {
  BodyReader,
  JobQueue,
  DeadLetterSink,
  DocumentStore,
  EventLog,
  Log,
  ResultSink,
  ResultStore,
  StateStore,
  Telemetry,
} from './ports.ts';

export interface PipelineDeps {
  engine: Engine;
  settings: PipelineSettings;
  states: StateStore;
  checkpoints: Checkpointer;
  documents: DocumentStore;
  events: EventLog;
  results: ResultStore;
  queue: JobQueue;
  resultSink: ResultSink;
  deadLetters: DeadLetterSink;
  bodies: BodyReader;
  telemetry: Telemetry;
  log: Log;
  /** Where chunk and drain jobs send their model calls when the worker batches them (absent: engine.model.forward). */
  forward?: Forward;
  /** Takes the document's answer text as it is generated (a terminal that shows it live); absent: not needed. */
  liveText?: TextListener;
}

/** What the ingest handlers need: no engine (validation and enqueueing only). */
/** `results` keeps the failure record of a document refused as it is taken in, for `status` and `result`. */
export type IngestDeps = Pick<
  PipelineDeps,
  'settings' | 'documents' | 'events' | 'queue' | 'deadLetters' | 'results' | 'telemetry' | 'log'
>;
