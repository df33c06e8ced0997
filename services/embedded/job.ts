// What the embedded jobs (documents and log scans) share: their options, how they report, how they end.
import type { Log } from '../../pipelines/ports.ts';
import type { PipelineSettings } from '../../schemas/config.ts';
import type { DeadLetter } from '../../schemas/dead-letter.ts';
import type { Engine } from '../../engine/index.ts';
import type { FileOps } from '../adapters/files/atomic-file.ts';
import type { PreparedInput } from './input.ts';

export interface JobObserver {
  /** The work is about to run: tokens already in the checkpoint, and the total when it is known. */
  start(info: { resumed: boolean; done: number; total: number | undefined }): void;
  /** Tokens the state has read so far, of `total` (when it is known). */
  progress(done: number, total?: number): void;
  /** A record that could not be processed (a log line that is not an acceptable event). */
  rejected?(letter: DeadLetter): void;
}

export interface JobOptions {
  engine: Engine;
  settings: PipelineSettings;
  /** Where job directories live. */
  checkpointDir: string;
  input: PreparedInput;
  /** The document or stream id results carry. */
  id: string;
  /** Weight type and device the engine runs with: a job's floats depend on them. */
  weights: string;
  device: string;
  /** Start over, discarding the job's checkpoints. */
  restart?: boolean;
  stop: AbortSignal;
  log: Log;
  observer: JobObserver;
  ops?: FileOps;
}

/** Hands the job's results over (printing them) before its directory is removed. */
export type Deliver = (results: AsyncIterable<string>, input: string) => Promise<void>;

export type JobEnd =
  | { status: 'done' }
  /** Stopped on request; `position` says how far the checkpoint is (for the message). */
  | { status: 'interrupted'; position: string; dir: string };
