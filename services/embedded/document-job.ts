// A document read in one process (summarize, classify): the pipelines' plan, chunk and finish steps over the
// embedded ports. What is left to do is read from the job's directory, so the same call starts a job, resumes
// one that was stopped or killed, or only prints the result of one that finished just before it was killed.
// Section results are handed over as each is made; a resumed job first hands over those made before it stopped.
import { documentKey } from '../../pipelines/document-chunk.ts';
import { permanent } from '../../pipelines/errors.ts';
import { ingestDocumentRecord } from '../../pipelines/ingest.ts';
import { resumeDocument, stepJob } from '../../pipelines/resume.ts';
import type { TextListener } from '../../pipelines/tasks/index.ts';
import { EMBEDDED_FORMAT, type DocumentJob } from '../../schemas/embedded.ts';
import { PermanentCodeSchema } from '../../schemas/error-code-schemas.ts';
import type { DocumentTask } from '../../schemas/tasks.ts';
import { adoptSpool } from './input.ts';
import type { Deliver, JobEnd, JobOptions } from './job.ts';
import { JobDir } from '../adapters/files/job-dir.ts';
import { openPipeline, type EmbeddedPipeline } from './pipeline.ts';
import { JobRunner } from './runner.ts';
import { SectionFeed, type SectionOutput } from './section-feed.ts';
import { FileSource } from './source.ts';

export interface DocumentJobOptions extends JobOptions {
  task: DocumentTask;
  /** Takes each section result (its JSON) as soon as it is made, in order, each once. */
  onSection?: SectionOutput;
  /** Takes the document's answer text as it is generated (a summary shown live). */
  liveText?: TextListener;
}

/** The published lines that are the document's own result (its sections went out as they were made). */
async function* documentResults(lines: AsyncIterable<string>): AsyncGenerator<string> {
  for await (const line of lines) {
    if ((JSON.parse(line) as { kind?: unknown }).kind !== 'section') yield line;
  }
}

export function describeDocumentJob(o: DocumentJobOptions): DocumentJob {
  return {
    format: EMBEDDED_FORMAT,
    command: o.task.kind,
    id: o.id,
    source: o.input.source,
    sha256: o.input.sha256,
    bytes: o.input.bytes,
    task: o.task,
    chunkTokens: o.settings.chunkTokens,
    model: { version: o.engine.model.info.version, fingerprint: o.engine.model.info.fingerprint },
    tokenizer: { kind: o.engine.tokenizer.info.kind, fingerprint: o.engine.tokenizer.info.fingerprint },
    weights: o.weights,
    device: o.device,
  };
}

/** Hands the document to the ingest handler as the distributed mode's consumer would. */
async function planFromInput(o: DocumentJobOptions, p: EmbeddedPipeline): Promise<void> {
  const source = new FileSource({ kind: 'document', id: o.id, task: o.task, url: p.bodies.url }, o.input.source);
  await source.start({
    documents: (record) => ingestDocumentRecord(record, p.deps),
    events: async () => {
      throw new Error('a document job has no events');
    },
  });
  const refused = p.deadLetters.letters[0];
  if (refused) throw permanent(PermanentCodeSchema.parse(refused.code), refused.reason);
}

/** Queues the document's next step, read from the job directory by the pipelines' resume rule. */
async function queueWork(
  o: DocumentJobOptions,
  p: EmbeddedPipeline,
): Promise<{ resumed: boolean; done: number; total: number | undefined }> {
  const planned = await p.documents.get(o.id);
  const head = planned?.status === 'running' ? await p.states.head(documentKey(o.id)) : null;
  const step = resumeDocument({ planned, head });
  if (step.step === 'plan' || !planned) {
    await planFromInput(o, p);
    return { resumed: false, done: 0, total: undefined };
  }
  const { record } = planned;
  if (step.step === 'failed') {
    throw permanent(
      'E_JOB_FAILED',
      `${o.id} failed in an earlier run: ${(await p.results.get('document', o.id)) ?? 'no reason was recorded'}`,
    );
  }
  // Done: the stored result is published once the queue is empty, whether or not it went out before.
  if ('committed' in step) await p.queue.enqueue(stepJob(step, record));
  return {
    resumed: true,
    done: planned.status === 'running' ? (head?.tokens ?? 0) : record.tokens,
    total: record.tokens,
  };
}

export async function runDocumentJob(o: DocumentJobOptions, deliver: Deliver): Promise<JobEnd> {
  const job = await JobDir.open(o.checkpointDir, describeDocumentJob(o), {
    restart: o.restart ?? false,
    ...(o.ops ? { ops: o.ops } : {}),
  });
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
      ...(o.ops ? { ops: o.ops } : {}),
      ...(o.liveText ? { liveText: o.liveText } : {}),
    });
    const sections =
      o.onSection && o.task.sections ? new SectionFeed((from) => p.results.getSections(o.id, from), o.onSection) : null;
    const runner = new JobRunner(p, {
      stop: o.stop,
      log: o.log,
      onProgress: (progress) => o.observer.progress(progress.tokensDone, progress.tokensTotal),
      afterJob: async (queued) => {
        if (queued.kind !== 'plan') return sections?.flush();
        const planned = await p.documents.get(o.id);
        // The job's key is the hash read before; the plan step read the file again.
        if (planned && planned.record.sha256 !== o.input.sha256) {
          throw permanent(
            'E_INPUT_CHANGED',
            `${o.input.source} changed while it was being read; run the command again`,
          );
        }
        if (planned) o.observer.progress(0, planned.record.tokens);
      },
    });
    try {
      o.observer.start(await queueWork(o, p));
      await sections?.flush();
      if (!(await runner.runRunnable())) {
        const planned = await p.documents.get(o.id);
        const head = await p.states.head(documentKey(o.id));
        const position = planned ? `chunk ${head?.chunk ?? 0} of ${planned.record.chunks}` : 'before the first chunk';
        return { status: 'interrupted', position, dir: job.path };
      }
    } catch (err) {
      // Nothing was planned (the input was refused), or the plan is of other bytes: there is nothing to resume.
      // A record that cannot be read is kept: the error names it, and the user decides.
      const planned = await p.documents.get(o.id).then(
        (doc) => doc !== null,
        () => true,
      );
      if (!planned || (err as { code?: string }).code === 'E_INPUT_CHANGED') {
        await job.remove().catch(() => {});
        removed = true;
      }
      throw err;
    }
    // The stored result is the one that counts (a finish step redone after a crash stores nothing new); it is
    // in the output already unless the process died between storing and publishing it.
    const stored = await p.results.getDocument(o.id);
    if (!stored)
      throw permanent('E_NO_RESULT', `the job in ${job.path} ended without a result; run it again with --restart`);
    await sections?.flush();
    await p.sink.publish(o.id, stored.json);
    await deliver(documentResults(p.sink.results()), input);
    await job.remove();
    removed = true;
    return { status: 'done' };
  } finally {
    if (!removed) await job.release();
  }
}
