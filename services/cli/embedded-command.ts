// What summarize, classify and scan share (their flags are defined in command-flags.ts): the configuration and
// the model, the checkpoint directory and the input, progress on stderr, Ctrl-C, and the hints added to the
// errors a user can act on.
import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';

import type { AppConfig } from '../../schemas/app-config.ts';
import { PipelineSettingsSchema } from '../../schemas/config.ts';
import type { DeadLetter } from '../../schemas/dead-letter.ts';
import { errorCodeInfo, isErrorCode, type ErrorCode } from '../../schemas/error-codes.ts';
import { DocumentIdSchema } from '../../schemas/ids.ts';
import { loadConfig, type ConfigFlags, type LoadedConfig } from '../config/index.ts';
import {
  defaultId,
  makePrivateDir,
  prepareInput,
  spoolPath,
  sweepStaleSpools,
  unusableDir,
  type JobEnd,
  type JobObserver,
  type JobOptions,
} from '../embedded/index.ts';
import { createLogger } from '../log.ts';
import type { ShippedModel } from '../models/index.ts';
import { loadEngine } from './load-engine.ts';
import { signalExit, UsageError } from './output.ts';
import { Progress, formatAmount } from './progress.ts';

export interface EmbeddedFlags extends ConfigFlags {
  id?: string;
  json?: boolean;
  quiet?: boolean;
  restart?: boolean;
}

let stdoutClosed = false;
let stdoutWatched = false;

/**
 * Writes to stdout and waits until the text is handed over (a long scan's output fills a pipe). A reader
 * that closes the pipe early (`| head`) has taken what it wanted: the rest is dropped without an error.
 */
export function print(text: string): Promise<void> {
  if (!stdoutWatched) {
    stdoutWatched = true;
    // Write errors are handled by each write's callback; without a listener the stream's 'error' would throw.
    process.stdout.on('error', () => {});
  }
  if (stdoutClosed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (err) => {
      if (!err) resolve();
      else if ((err as NodeJS.ErrnoException).code === 'EPIPE') {
        stdoutClosed = true;
        resolve();
      } else reject(err);
    });
  });
}

/** A progress bar (a terminal) or periodic lines (a file or pipe) on stderr, and what is said around it. */
export class ProgressReporter implements JobObserver {
  readonly #label: string;
  readonly #quiet: boolean;
  #progress: Progress | undefined;

  constructor(label: string, quiet: boolean) {
    this.#label = label;
    this.#quiet = quiet;
  }

  start(info: { resumed: boolean; done: number; total: number | undefined }): void {
    if (info.resumed && !this.#quiet) {
      const total = info.total !== undefined ? ` of ${formatAmount(info.total, 'tokens')}` : '';
      process.stderr.write(`resuming from the checkpoint: ${formatAmount(info.done, 'tokens')}${total} already read\n`);
    }
    this.#progress = new Progress({
      label: this.#label,
      unit: 'tokens',
      initial: info.done,
      quiet: this.#quiet,
      ...(info.total !== undefined ? { total: info.total } : {}),
    });
  }

  progress(done: number, total?: number): void {
    this.#progress?.update(done, total);
  }

  rejected(letter: DeadLetter): void {
    if (this.#quiet) return;
    const line = letter.source ? `line ${letter.source.offset}` : 'a record';
    process.stderr.write(`rwkvstream: ${line} skipped: ${letter.code}: ${letter.reason}\n`);
  }

  /** Before a result printed while the work goes on: a terminal's bar must not share its line. */
  beforeOutput(): void {
    this.#progress?.clearLine();
  }

  /** The closing line, before the results are printed. */
  finish(): void {
    this.#progress?.finish();
  }

  stop(): void {
    this.#progress?.stop();
  }
}

/** What a job's run sees of the signal handling. */
export interface JobSignals {
  /** A file to remove when the process exits on a signal. */
  scratch: string | undefined;
  /** From now on a stop request lets the job in hand commit first (before: the process exits at once). */
  running(): void;
}

/**
 * Ctrl-C and SIGTERM. Before the job runs there is nothing to save: the process exits at once. While it runs,
 * the first signal asks it to stop after the step in hand has committed its checkpoint; a second one exits
 * at once (the last checkpoint is on the disk whatever happens).
 */
class StopOnSignal implements JobSignals {
  readonly #controller = new AbortController();
  #running = false;
  #signal: NodeJS.Signals | undefined;
  /** A file to remove when the process exits on a signal (a copy of standard input being written). */
  scratch: string | undefined;

  readonly #handler = (signal: NodeJS.Signals) => {
    const code = signalExit(signal);
    if (!this.#running || this.#signal !== undefined) {
      if (this.scratch !== undefined) rmSync(this.scratch, { force: true });
      process.stderr.write('\nrwkvstream: interrupted\n');
      process.exit(code);
    }
    this.#signal = signal;
    this.#controller.abort();
  };

  constructor() {
    process.on('SIGINT', this.#handler);
    process.on('SIGTERM', this.#handler);
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get exitCode(): number {
    return signalExit(this.#signal);
  }

  running(): void {
    this.#running = true;
  }

  dispose(): void {
    process.off('SIGINT', this.#handler);
    process.off('SIGTERM', this.#handler);
  }
}

/** The id results carry: --id, else one made from the input's name. */
export function resultId(given: string | undefined, source: string): string {
  if (given === undefined) return defaultId(source);
  const parsed = DocumentIdSchema.safeParse(given);
  if (!parsed.success) throw new UsageError(`--id: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

/** The checkpoint directory's errors say what to do next (the catalogue's hint): the user is at the command. */
const HINTED: ReadonlySet<string> = new Set([
  'E_CHECKPOINT_CORRUPT',
  'E_CHECKPOINT_WRITE',
  'E_CHECKPOINT_READ',
  'E_CHECKPOINT_DIR',
] satisfies ErrorCode[]);

function withHint(err: unknown): unknown {
  const code = (err as { code?: unknown })?.code;
  if (err instanceof Error && typeof code === 'string' && HINTED.has(code) && isErrorCode(code))
    err.message = `${err.message}; ${errorCodeInfo(code).hint}`;
  return err;
}

export interface EmbeddedContext {
  config: AppConfig;
  options: JobOptions;
  reporter: ProgressReporter;
}

export interface EmbeddedSteps<T> {
  /** The command's own options from its flags and the configuration, judged before the model is loaded. */
  prepare(config: AppConfig, loaded: LoadedConfig): T | Promise<T>;
  /** The job. */
  run(ctx: EmbeddedContext, prepared: T): Promise<JobEnd>;
  /** The command's model when none is configured (else the cached or downloaded default). */
  shippedDefault?: ShippedModel;
}

/** What a job runs with, before its input is known: the options of every embedded job but the input. */
export interface EngineContext {
  config: AppConfig;
  options: Omit<JobOptions, 'input' | 'id'>;
  reporter: ProgressReporter;
}

export interface EngineSteps<T> {
  prepare(config: AppConfig, loaded: LoadedConfig): T | Promise<T>;
  run(ctx: EngineContext, prepared: T, signals: JobSignals): Promise<JobEnd>;
  /** The command's model when none is configured (else the cached or downloaded default). */
  shippedDefault?: ShippedModel;
}

/**
 * Runs one embedded command around its job: configuration, its options, the engine, the checkpoint directory.
 * An interrupted job leaves its checkpoint and says how to resume, with exit status 130 (143 for SIGTERM).
 */
export async function runWithEngine<T>(label: string, flags: EmbeddedFlags, steps: EngineSteps<T>): Promise<void> {
  const signals = new StopOnSignal();
  const quiet = flags.quiet === true;
  const reporter = new ProgressReporter(label, quiet);
  try {
    const loaded = await loadConfig({ flags });
    const { config } = loaded;
    const prepared = await steps.prepare(config, loaded);
    const { engine } = await loadEngine(loaded, {
      quiet,
      signal: signals.signal,
      ...(steps.shippedDefault ? { shippedDefault: steps.shippedDefault } : {}),
    });
    try {
      try {
        await makePrivateDir(config.checkpointDir);
      } catch (err) {
        throw unusableDir(config.checkpointDir, err);
      }
      const options: EngineContext['options'] = {
        engine,
        settings: PipelineSettingsSchema.parse({
          chunkTokens: config.chunkTokens,
          maxDocumentTokens: config.maxDocumentTokens,
          anomaly: config.anomaly,
        }),
        checkpointDir: config.checkpointDir,
        weights: engine.model.info.weights,
        device: engine.model.info.device,
        restart: flags.restart === true,
        stop: signals.signal,
        log: createLogger('rwkvstream', {
          level: quiet ? 'silent' : (config.logLevel ?? 'warn'),
          format: config.logFormat,
        }),
        observer: reporter,
      };
      const end = await steps.run({ config, options, reporter }, prepared, signals);
      if (end.status === 'interrupted') {
        reporter.stop();
        process.stderr.write(
          `rwkvstream: interrupted; run the same command again to resume (${end.position}, in ${end.dir})\n`,
        );
        process.exitCode = signals.exitCode;
      }
    } finally {
      engine.dispose();
    }
  } catch (err) {
    reporter.stop();
    throw withHint(err);
  } finally {
    signals.dispose();
  }
}

/** Runs one embedded command on a document (or log) read whole: its input is hashed (standard input copied) first. */
export async function runEmbedded<T>(
  label: string,
  file: string,
  flags: EmbeddedFlags,
  steps: EmbeddedSteps<T>,
): Promise<void> {
  await runWithEngine(label, flags, {
    prepare: steps.prepare,
    ...(steps.shippedDefault ? { shippedDefault: steps.shippedDefault } : {}),
    run: async ({ config, options, reporter }, prepared, signals) => {
      await sweepStaleSpools(config.checkpointDir);
      signals.scratch = spoolPath(config.checkpointDir);
      const input = await prepareInput(file, signals.scratch);
      signals.scratch = undefined;
      try {
        if (input.bytes === 0) throw new UsageError(`${file === '-' ? 'standard input' : file} is empty`);
        signals.running();
        return await steps.run(
          { config, options: { ...options, input, id: resultId(flags.id, input.source) }, reporter },
          prepared,
        );
      } finally {
        // A copy of standard input that no job took over.
        if (input.spooled) await rm(input.path, { force: true });
      }
    },
  });
}
