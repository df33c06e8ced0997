// The pipelines' ports wired for one process and one job directory: the stores in the directory, the queue
// and event log in memory, results into the directory until they are printed.
import { Checkpointer } from '../../pipelines/checkpoints.ts';
import type { PipelineDeps } from '../../pipelines/context.ts';
import type { Log, ResultSink } from '../../pipelines/ports.ts';
import type { TextListener } from '../../pipelines/tasks/index.ts';
import type { PipelineSettings } from '../../schemas/config.ts';
import type { DeadLetter } from '../../schemas/dead-letter.ts';
import type { Engine } from '../../engine/index.ts';
import { nodeFileOps, sweepTemporaryFiles, type FileOps } from '../adapters/files/atomic-file.ts';
import { InputBodyReader } from './body-reader.ts';
import { MemoryDeadLetterSink } from '../adapters/memory/dead-letters.ts';
import { FileDocumentStore } from '../adapters/files/document-store.ts';
import { MemoryEventLog } from '../adapters/memory/event-log.ts';
import { MemoryJobQueue } from '../adapters/memory/queue.ts';
import { FileResultSink } from '../adapters/files/result-sink.ts';
import { FileResultStore } from '../adapters/files/result-store.ts';
import { FileStateStore } from '../adapters/files/state-store.ts';
import { NoTelemetry } from '../adapters/memory/telemetry.ts';

export interface EmbeddedPipelineOptions {
  engine: Engine;
  settings: PipelineSettings;
  /** The job's directory. */
  dir: string;
  /** The input file: the only body the plan step may read. */
  input: string;
  log: Log;
  /** Who commits, in the checkpoints (the distributed mode names the worker). */
  writer: string;
  onDeadLetter?: (letter: DeadLetter) => void;
  /** Where results go instead of the job directory's file (a live scan prints each batch as it is made). */
  resultSink?: ResultSink;
  ops?: FileOps;
  /** Takes the document's answer text as it is generated. */
  liveText?: TextListener;
}

export interface EmbeddedPipeline {
  deps: PipelineDeps;
  queue: MemoryJobQueue;
  events: MemoryEventLog;
  states: FileStateStore;
  documents: FileDocumentStore;
  results: FileResultStore;
  sink: FileResultSink;
  deadLetters: MemoryDeadLetterSink;
  bodies: InputBodyReader;
  telemetry: NoTelemetry;
}

export async function openPipeline(options: EmbeddedPipelineOptions): Promise<EmbeddedPipeline> {
  const ops = options.ops ?? nodeFileOps;
  await sweepTemporaryFiles(ops, options.dir);
  const states = await FileStateStore.open(options.dir, ops);
  const documents = await FileDocumentStore.open(options.dir, {
    maxDocumentBytes: options.settings.maxDocumentBytes,
    ops,
  });
  const results = new FileResultStore(options.dir, ops);
  const sink = await FileResultSink.open(options.dir, ops);
  const queue = new MemoryJobQueue();
  const deadLetters = new MemoryDeadLetterSink(options.onDeadLetter);
  const bodies = new InputBodyReader(options.input);
  const telemetry = new NoTelemetry();
  const events = new MemoryEventLog(states);
  const deps: PipelineDeps = {
    engine: options.engine,
    settings: options.settings,
    states,
    checkpoints: new Checkpointer(options.engine, states, telemetry, options.writer),
    documents,
    events,
    results,
    queue,
    resultSink: options.resultSink ?? sink,
    deadLetters,
    bodies,
    telemetry,
    log: options.log,
    ...(options.liveText ? { liveText: options.liveText } : {}),
  };
  return { deps, queue, events, states, documents, results, sink, deadLetters, bodies, telemetry };
}
