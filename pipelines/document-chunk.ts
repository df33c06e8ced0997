// One chunk of a document: load the last checkpoint, run the chunk's tokens in sequence mode, commit the new
// state fenced on the version it started from, then enqueue the successor under its deterministic id.
//
// A chunk job can run more than once (a retry after a crash, a lock that expired while the model ran, a
// duplicate add). The checkpoint decides what is left to do (resume.ts: chunkJobAction):
//   next chunk > k + 1  the successor has committed too: nothing to do;
//   next chunk = k + 1  this chunk is applied, its successor may not be enqueued yet: enqueue it (no-op if it is);
//   next chunk = k      run it; if another run commits first, this commit is rejected and changes nothing;
//   next chunk < k      cannot happen (a chunk is enqueued only after its predecessor committed): refused.
//
// With sections, the chunk runs up to each section end inside it, answers the section on a copy of the state
// (the main state goes on untouched), and commits the section results with the state as the checkpoint's
// outbox. They are stored, published and marked before the successor is enqueued; a run that finds its chunk
// applied with the outbox still unpublished does that first. So a crash neither loses nor duplicates a section.
import type { ChunkJob } from '../schemas/jobs.ts';
import type { DocumentRecord } from '../schemas/records.ts';
import { chunkRange } from './chunking.ts';
import type { PipelineDeps } from './context.ts';
import { permanent } from './errors.ts';
import { forwardOf } from './forward-batcher.ts';
import type { JobContext, StateKey } from './ports.ts';
import { chunkJobAction, runningStep } from './resume.ts';
import { publishSectionOutbox, readChunkWithSections, runSectionHeads } from './section-outbox.ts';

export type ChunkOutcome = 'applied' | 'already-applied' | 'superseded' | 'skipped';

export function documentKey(id: string): StateKey {
  return { kind: 'document', id };
}

/** The tokenizer the document was planned with must be this engine's: token ids mean nothing in another vocabulary. */
export function checkTokenizer(record: DocumentRecord, deps: PipelineDeps): void {
  const mine = deps.engine.tokenizer.info;
  if (record.tokenizer.fingerprint !== mine.fingerprint) {
    throw permanent(
      'E_TOKENIZER_MISMATCH',
      `document ${record.id} was tokenized with tokenizer ${record.tokenizer.kind} ` +
        `${record.tokenizer.fingerprint}; this worker has ${mine.kind} ${mine.fingerprint}`,
    );
  }
}

/** Whether a chunk or finish job belongs to the document's current chain (an id read again after a failure has a new one). */
export function sameChain(job: { chain?: string | undefined }, record: DocumentRecord): boolean {
  return (job.chain ?? null) === (record.chain ?? null);
}

export async function enqueueSuccessor(record: DocumentRecord, chunk: number, deps: PipelineDeps): Promise<void> {
  const next = chunk + 1;
  const chain = record.chain === undefined ? {} : { chain: record.chain };
  await deps.queue.enqueue(
    next < record.chunks
      ? { kind: 'chunk', doc: record.id, chunk: next, ...chain }
      : { kind: 'finish', doc: record.id, ...chain },
  );
}

export async function runChunk(job: ChunkJob, deps: PipelineDeps, ctx: JobContext): Promise<ChunkOutcome> {
  const planned = await deps.documents.get(job.doc);
  if (planned?.status !== 'running') {
    // Finished, failed, or expired long ago: a late duplicate of a job that has done its work.
    ctx.log.info({ status: planned?.status ?? 'unknown' }, 'document is not running; nothing to do');
    return 'skipped';
  }
  const record = planned.record;
  if (!sameChain(job, record)) {
    ctx.log.info(
      { chain: job.chain ?? null, current: record.chain ?? null },
      'job of an earlier reading of this id; nothing to do',
    );
    return 'skipped';
  }
  checkTokenizer(record, deps);
  const key = documentKey(record.id);
  const loadStarted = performance.now();
  const { head, state, cached } = await deps.checkpoints.load(key);
  const loadMs = performance.now() - loadStarted;
  const step = runningStep(planned, head);
  switch (chunkJobAction(job.chunk, step)) {
    case 'skip':
      return 'skipped';
    case 'applied':
      // The crash may have come between the commit and the publishing of its sections.
      if (step.step === 'deliver') {
        ctx.log.info({ version: step.version }, 'publishing the sections a previous run committed');
        await publishSectionOutbox(record, step.version, step.outbox, deps);
      }
      await enqueueSuccessor(record, job.chunk, deps);
      return 'already-applied';
    case 'gap':
      throw permanent(
        'E_CHECKPOINT_GAP',
        `chunk ${job.chunk} of ${record.id} was queued but the checkpoint is at chunk ${step.committed}`,
      );
    case 'run':
      break;
  }

  const { start, end } = chunkRange(job.chunk, record.tokens, record.chunkTokens);
  if (state.tokens !== start) {
    throw permanent(
      'E_CHECKPOINT_TOKENS',
      `the checkpoint of ${record.id} has read ${state.tokens} tokens; chunk ${job.chunk} starts at ${start}`,
    );
  }
  const { tokens, sections } = await readChunkWithSections(record, start, end, deps);
  const forward = forwardOf(deps);
  const started = performance.now();
  let outbox: string | null = null;
  if (sections.length === 0) {
    await forward(tokens, state, 'none');
  } else {
    // Up to each section end, then the rest: the state is split into pieces but never forked off the chain.
    let at = start;
    const answered = await runSectionHeads(record, sections, deps, async (until) => {
      if (until > at) await forward(tokens.subarray(at - start, until - start), state, 'none');
      at = until;
      return state;
    });
    if (end > at) await forward(tokens.subarray(at - start), state, 'none');
    outbox = JSON.stringify(answered);
  }
  const forwardMs = performance.now() - started;
  deps.telemetry.chunk('document', tokens.length, forwardMs / 1000);

  const outcome = await deps.checkpoints.commit(key, head, state, { chunk: job.chunk + 1, result: outbox });
  if (!outcome.ok) {
    ctx.log.warn(
      { chunk: job.chunk, expected: head?.version ?? 0, current: outcome.current },
      'checkpoint moved on; this run is discarded',
    );
    return 'superseded';
  }
  if (outbox !== null) await publishSectionOutbox(record, outcome.version, outbox, deps);
  await ctx.progress({ tokensDone: end, tokensTotal: record.tokens, chunk: job.chunk + 1, chunks: record.chunks });
  await enqueueSuccessor(record, job.chunk, deps);
  ctx.log.debug(
    {
      chunk: job.chunk,
      tokens: end,
      version: outcome.version,
      cached,
      loadMs: round(loadMs),
      forwardMs: round(forwardMs),
      commitMs: round(outcome.ms),
      bytes: outcome.bytes,
    },
    'chunk committed',
  );
  return 'applied';
}

const round = (ms: number) => Math.round(ms * 100) / 100;
