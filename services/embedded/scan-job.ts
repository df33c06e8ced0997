// A log scanned in one process, as a stream: every non-empty line is an event of one stream, taken in by the
// same ingest handler as a Kafka record and scored in batches by the same drain step, its state checkpointed
// after each batch together with the batch's scores. Lines are read as they arrive (standard input, or a file
// followed like `tail -F`), and each batch is handed to the printer as soon as it is scored. A batch is
// scored when batchEvents lines wait, or when no new line came for batchMs.
//
// The checkpoint is keyed by the stream id and the source, not by the input's content (a live input has no
// end to hash). A file's scan also records where it is — the line and byte after the last committed line —
// so a resumed run reads on from there; a resumed scan of standard input continues the stream's state with
// the lines it is given now. At the end of the input the scan is done and its checkpoint removed.
import { permanent } from '../../pipelines/errors.ts';
import { ingestEventRecord } from '../../pipelines/ingest.ts';
import type { JobContext, StateKey } from '../../pipelines/ports.ts';
import { runJob } from '../../pipelines/run-job.ts';
import type { PipelineJob } from '../../schemas/jobs.ts';
import { EMBEDDED_FORMAT, ScanPositionSchema, type ScanJob, type ScanPosition } from '../../schemas/embedded.ts';
import { readJsonFile, writeAtomic, nodeFileOps } from '../adapters/files/atomic-file.ts';
import { fileLines, type FilePosition } from './follow.ts';
import type { JobEnd, JobOptions } from './job.ts';
import { JobDir } from '../adapters/files/job-dir.ts';
import { streamLines, type PositionedLine } from '../adapters/files/lines.ts';
import { openPipeline } from './pipeline.ts';
import { JobRunner } from './runner.ts';
import { eventRecord } from './source.ts';

export type ScanSource =
  /** Standard input, or a pipe given by name (`<(command)`): read once, as it arrives. */
  | { kind: 'stream'; name: string; stream: AsyncIterable<Buffer | string> }
  /** A log file (absolute path); `follow`: keep reading as it grows and is rotated, until stopped. */
  | { kind: 'file'; path: string; name: string; follow: boolean };

export interface ScanJobOptions extends Omit<JobOptions, 'input'> {
  source: ScanSource;
  /** Takes each batch result (its JSON) as soon as it is scored, in order, each once. */
  printer: (json: string) => Promise<void>;
  /** Told when a followed file was rotated or truncated. */
  onNewFile?: (why: 'rotated' | 'truncated') => void;
}

const POSITION = 'position.json';

/** Lines read ahead of the scoring, in batches: the reader waits while this many batches are waiting. */
const READ_AHEAD_BATCHES = 2;

export function describeScanJob(o: ScanJobOptions): ScanJob {
  const { batchMs: _clock, ...anomaly } = o.settings.anomaly;
  return {
    format: EMBEDDED_FORMAT,
    command: 'scan',
    id: o.id,
    source: o.source.kind === 'stream' ? o.source.name : o.source.path,
    anomaly,
    maxEventBytes: o.settings.maxEventBytes,
    model: { version: o.engine.model.info.version, fingerprint: o.engine.model.info.fingerprint },
    tokenizer: { kind: o.engine.tokenizer.info.kind, fingerprint: o.engine.tokenizer.info.fingerprint },
    weights: o.weights,
    device: o.device,
  };
}

/**
 * Wakes the scoring loop and the reader: a line arrived, a batch was committed, the reader ended, or a stop was
 * asked for. A notice that comes while nobody waits is kept for the next wait, so none is lost between a look
 * at the state and the wait that follows it.
 */
class Wakeup {
  #waiters: (() => void)[] = [];
  #missed = false;

  notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    this.#missed = waiters.length === 0;
    for (const wake of waiters) wake();
  }

  /** Resolves at the next notify (at once when one came since the last wait), or after `ms` (when given). */
  wait(ms?: number): Promise<void> {
    if (this.#missed) {
      this.#missed = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(resolve, Math.max(0, ms));
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

export async function runScanJob(o: ScanJobOptions): Promise<JobEnd> {
  const job = await JobDir.open(o.checkpointDir, describeScanJob(o), {
    restart: o.restart ?? false,
    ...(o.ops ? { ops: o.ops } : {}),
  });
  const ops = o.ops ?? nodeFileOps;
  const { batchEvents, batchMs } = o.settings.anomaly;
  let removed = false;
  try {
    // The pipeline publishes at least once (a batch committed by a run that was killed before printing it is
    // published again); a batch printed in this process is not printed twice.
    let printedBatch = -1;
    const p = await openPipeline({
      engine: o.engine,
      settings: o.settings,
      dir: job.path,
      input: o.source.kind === 'file' ? o.source.path : job.file('no-input'),
      log: o.log,
      writer: `pid ${process.pid}`,
      resultSink: {
        publish: async (_key, json) => {
          const batch = (JSON.parse(json) as { batch: number }).batch;
          if (batch <= printedBatch) return;
          await o.printer(json);
          printedBatch = batch;
        },
      },
      ...(o.observer.rejected ? { onDeadLetter: o.observer.rejected } : {}),
      ...(o.ops ? { ops: o.ops } : {}),
    });
    const key: StateKey = { kind: 'stream', id: o.id };
    const ctx: JobContext = { log: o.log, progress: async () => {} };
    const head = await p.states.head(key);
    const cursor = head?.cursor ?? 0;

    // Where reading starts: a file at its committed position (never ahead of the checkpoint); standard input
    // with the lines it gives now, numbered after the committed ones.
    let from: FilePosition | null = null;
    if (o.source.kind === 'file') {
      const position = await readJsonFile(job.file(POSITION), ScanPositionSchema);
      if (position !== null && position.seq <= cursor) {
        from = position;
        p.events.resumeAt(o.id, position.seq);
      } else if (position !== null) {
        throw permanent('E_CHECKPOINT_CORRUPT', `${job.file(POSITION)} is ahead of the stream's checkpoint`);
      }
    } else {
      p.events.resumeAt(o.id, cursor);
    }
    o.observer.start({ resumed: head !== null, done: head?.tokens ?? 0, total: undefined });
    // A batch a killed run committed but did not print is printed first.
    if (head !== null && !head.published) await runJob({ kind: 'drain', stream: o.id, batch: head.chunk }, p.deps, ctx);

    /** seq -> where its line ends, for the lines taken in and not yet committed (file sources). */
    const positions = new Map<number, ScanPosition>();
    const savePosition = async (committed: number) => {
      const position = positions.get(committed);
      for (const seq of positions.keys()) if (seq <= committed) positions.delete(seq);
      if (position) await writeAtomic(ops, job.file(POSITION), `${JSON.stringify(position)}\n`);
    };
    const wake = new Wakeup();
    const afterDrain = async (queued: PipelineJob, outcome: string) => {
      if (queued.kind !== 'drain' || outcome !== 'applied') return;
      const now = await p.states.head(key);
      if (now) {
        await savePosition(now.cursor);
        o.observer.progress(now.tokens);
      }
      // The reader may be waiting for room.
      wake.notify();
    };
    const runner = new JobRunner(p, { stop: o.stop, log: o.log, afterJob: afterDrain });

    // The reader takes lines in as they arrive; it stops when the input ends or a stop is asked for.
    const readerStop = new AbortController();
    const stopReading = () => {
      readerStop.abort();
      wake.notify();
    };
    o.stop.addEventListener('abort', stopReading, { once: true });
    let lastLineAt = Date.now();
    let readerDone = false;
    // Whether the reader is waiting for the input (not for room, nor busy): only then is a quiet spell the
    // input's, and a reason to score a partial batch. A file read in full never waits, so its batches are full.
    let readerWaits = false;
    const source = o.source;
    const topic = source.name;
    const lines: AsyncIterable<PositionedLine & { generation?: number; file?: string }> =
      source.kind === 'stream'
        ? streamLines(source.stream, o.settings.maxEventBytes, readerStop.signal)
        : fileLines(source.path, from, {
            maxLineBytes: o.settings.maxEventBytes,
            follow: source.follow,
            signal: readerStop.signal,
            ...(o.onNewFile ? { onNewFile: o.onNewFile } : {}),
            onCaughtUp: () => {
              if (readerWaits) return;
              readerWaits = true;
              wake.notify();
            },
          });
    const backlog = async () => (await p.events.backlog(o.id, (await p.states.head(key))?.cursor ?? 0)).count;
    const stopped = new Promise<null>((resolve) =>
      readerStop.signal.addEventListener('abort', () => resolve(null), { once: true }),
    );
    const reader = (async () => {
      const it = lines[Symbol.asyncIterator]();
      try {
        for (;;) {
          // A stop does not wait for the next line of a quiet input.
          if (source.kind === 'stream') readerWaits = true;
          const next = await Promise.race([it.next(), stopped]);
          readerWaits = false;
          if (next === null || next.done === true) break;
          const line = next.value;
          // Memory holds a bounded number of waiting lines, whatever the input's size or speed.
          while (!readerStop.signal.aborted && (await backlog()) >= READ_AHEAD_BATCHES * batchEvents) await wake.wait();
          if (readerStop.signal.aborted) break;
          // An empty line is no event (an event has text); it keeps its number, so later lines keep theirs.
          if (line.bytes.length === 0) continue;
          const before = p.events.lastSeq(o.id);
          const record = eventRecord(topic, line.generation ?? 0, line.number, o.id, line.bytes.toString('utf8'));
          await ingestEventRecord(record, p.deps);
          const seq = p.events.lastSeq(o.id);
          if (seq > before && line.file !== undefined) {
            positions.set(seq, {
              format: EMBEDDED_FORMAT,
              seq,
              generation: line.generation ?? 0,
              line: line.number,
              byte: line.end,
              file: line.file,
            });
          }
          lastLineAt = Date.now();
          wake.notify();
        }
      } finally {
        // Closes the file (at once, or when a read in progress returns: the stop ends the generator too).
        readerStop.abort();
        void it.return?.(undefined)?.catch(() => {});
        readerDone = true;
        wake.notify();
      }
    })();

    /** Makes the waiting batch runnable now. */
    const closeBatch = async () => {
      p.queue.release();
      if (p.queue.size === 0) {
        // The drain of this batch ran before its events arrived (the start's publish): run it again now.
        const at = await p.states.head(key);
        const drain: PipelineJob = { kind: 'drain', stream: o.id, batch: at?.chunk ?? 0 };
        await afterDrain(drain, await runJob(drain, p.deps, ctx));
      }
    };

    // The scoring loop: full batches at once; a partial batch once no line came for batchMs, or at the end.
    let failed: unknown;
    try {
      for (;;) {
        if (!(await runner.runRunnable())) break;
        const waiting = await backlog();
        if (waiting === 0) {
          if (readerDone) break;
          await wake.wait();
          continue;
        }
        const quiet = Date.now() - lastLineAt;
        if (readerDone || waiting >= batchEvents || (readerWaits && quiet >= batchMs)) {
          await closeBatch();
          continue;
        }
        await wake.wait(quiet >= batchMs ? batchMs : batchMs - quiet);
      }
    } catch (err) {
      failed = err;
      stopReading();
    }
    await reader.catch((err) => {
      failed ??= err;
    });
    o.stop.removeEventListener('abort', stopReading);
    if (failed !== undefined) throw failed;

    if (o.stop.aborted) {
      // Lines of a stream taken in but not scored cannot be read again: they are scored before stopping.
      if (source.kind === 'stream') {
        const flush = new JobRunner(p, { stop: new AbortController().signal, log: o.log, afterJob: afterDrain });
        while ((await backlog()) > 0) {
          await closeBatch();
          await flush.runRunnable();
        }
      }
      const at = await p.states.head(key);
      if (at !== null) await savePosition(at.cursor);
      return {
        status: 'interrupted',
        position: `${at?.cursor ?? 0} lines scored in ${at?.chunk ?? 0} batches`,
        dir: job.path,
      };
    }
    await job.remove();
    removed = true;
    return { status: 'done' };
  } finally {
    if (!removed) await job.release();
  }
}
