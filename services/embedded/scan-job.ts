// A log scanned in one process: every non-empty line is an event of one stream, taken in by the same ingest
// handler as a Kafka record and scored in batches by the same drain step, its state checkpointed after each
// batch together with the batch's scores. A resumed run reads the log again from the top; the lines up to the
// checkpoint's cursor are recognised as taken in and skipped, so the batches come out exactly as they would
// have without the interruption.
import { ingestEventRecord } from '../../pipelines/ingest.ts';
import type { StateKey } from '../../pipelines/ports.ts';
import { EMBEDDED_FORMAT, type ScanJob } from '../../schemas/embedded.ts';
import type { Tokenizer } from '../engine/index.ts';
import { adoptSpool } from './input.ts';
import type { Deliver, JobEnd, JobOptions } from './job.ts';
import { JobDir } from './job-dir.ts';
import { readLines } from './lines.ts';
import { openPipeline } from './pipeline.ts';
import { JobRunner } from './runner.ts';
import { FileSource } from './source.ts';

export function describeScanJob(o: JobOptions): ScanJob {
  const { batchMs: _clock, ...anomaly } = o.settings.anomaly;
  return {
    format: EMBEDDED_FORMAT,
    command: 'scan',
    id: o.id,
    source: o.input.source,
    sha256: o.input.sha256,
    bytes: o.input.bytes,
    anomaly,
    maxEventBytes: o.settings.maxEventBytes,
    model: { version: o.engine.model.info.version, fingerprint: o.engine.model.info.fingerprint },
    tokenizer: { kind: o.engine.tokenizer.info.kind, fingerprint: o.engine.tokenizer.info.fingerprint },
    weights: o.weights,
    device: o.device,
  };
}

/**
 * Tokens the stream's state will have read after the whole log: the separator and the text of every line that
 * is an acceptable event. Only for the progress report (its total and ETA).
 */
export async function scanTokens(file: string, tokenizer: Tokenizer, separator: string, maxEventBytes: number): Promise<number> {
  const separatorTokens = tokenizer.encodeSync(separator).length;
  let total = 0;
  for await (const line of readLines(file)) {
    if (line.bytes.length === 0) continue;
    const text = line.bytes.toString('utf8');
    if (Buffer.byteLength(text) > maxEventBytes) continue;
    total += separatorTokens + tokenizer.encodeSync(text).length;
  }
  return total;
}

export async function runScanJob(o: JobOptions, deliver: Deliver): Promise<JobEnd> {
  const job = await JobDir.open(o.checkpointDir, describeScanJob(o), { restart: o.restart ?? false, ...(o.ops ? { ops: o.ops } : {}) });
  let removed = false;
  try {
    const input = await adoptSpool(o.input, job.file('input'));
    const p = await openPipeline({
      engine: o.engine,
      settings: o.settings,
      dir: job.path,
      input,
      log: o.log,
      writer: `pid ${process.pid}`,
      ...(o.observer.rejected ? { onDeadLetter: o.observer.rejected } : {}),
      ...(o.ops ? { ops: o.ops } : {}),
    });
    const key: StateKey = { kind: 'stream', id: o.id };
    const total = await scanTokens(input, o.engine.tokenizer, o.settings.anomaly.separator, o.settings.maxEventBytes);
    const head = await p.states.head(key);
    const runner = new JobRunner(p, {
      stop: o.stop,
      log: o.log,
      afterJob: async (queued) => {
        // A drain reports no progress of its own: the state's token count after it is the measure.
        if (queued.kind === 'drain') o.observer.progress((await p.states.head(key))?.tokens ?? 0, total);
      },
    });
    o.observer.start({ resumed: head !== null, done: head?.tokens ?? 0, total });

    const source = new FileSource({ kind: 'lines', stream: o.id, file: input }, o.input.source);
    await source.start({
      documents: async () => {
        throw new Error('a scan has no documents');
      },
      events: async (record) => {
        await ingestEventRecord(record, p.deps);
        await runner.runRunnable();
        if (runner.stopped) await source.stop();
      },
    });
    let finished = !runner.stopped;
    if (finished) {
      // The log has ended: the last, partial batch need not wait for more lines. A drain of the next batch also
      // publishes a batch a killed run committed but did not get to publish.
      p.queue.release();
      await p.queue.enqueue({ kind: 'drain', stream: o.id, batch: (await p.states.head(key))?.chunk ?? 0 });
      finished = await runner.runRunnable();
    }
    if (!finished) {
      const at = await p.states.head(key);
      return { status: 'interrupted', position: `${at?.cursor ?? 0} events scored in ${at?.chunk ?? 0} batches`, dir: job.path };
    }
    await deliver(p.sink.results(), input);
    await job.remove();
    removed = true;
    return { status: 'done' };
  } finally {
    if (!removed) await job.release();
  }
}
