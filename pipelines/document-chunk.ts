// One chunk of a document: load the last checkpoint, run the chunk's tokens in sequence mode, commit the new
// state fenced on the version it started from, then enqueue the successor under its deterministic id.
//
// A chunk job can run more than once (a retry after a crash, a lock that expired while the model ran, a
// duplicate add). The checkpoint decides what is left to do:
//   next chunk > k + 1  the successor has committed too: nothing to do;
//   next chunk = k + 1  this chunk is applied, its successor may not be enqueued yet: enqueue it (no-op if it is);
//   next chunk = k      run it; if another run commits first, this commit is rejected and changes nothing;
//   next chunk < k      cannot happen (a chunk is enqueued only after its predecessor committed): refused.
import type { ChunkJob } from '../schemas/jobs.ts';
import type { DocumentRecord } from '../schemas/records.ts';
import { chunkRange } from './chunking.ts';
import type { PipelineDeps } from './context.ts';
import { permanent } from './errors.ts';
import { forwardOf } from './forward-batcher.ts';
import type { JobContext, StateKey } from './ports.ts';

export type ChunkOutcome = 'applied' | 'already-applied' | 'superseded' | 'skipped';

export function documentKey(id: string): StateKey {
  return { kind: 'document', id };
}

/** The tokenizer the document was planned with must be this engine's: token ids mean nothing in another vocabulary. */
export function checkTokenizer(record: DocumentRecord, deps: PipelineDeps): void {
  const mine = deps.engine.tokenizer.info;
  if (record.tokenizer.fingerprint !== mine.fingerprint) {
    throw permanent('E_TOKENIZER_MISMATCH', `document ${record.id} was tokenized with tokenizer ${record.tokenizer.kind} ` +
      `${record.tokenizer.fingerprint}; this worker has ${mine.kind} ${mine.fingerprint}`);
  }
}

export async function enqueueSuccessor(record: DocumentRecord, chunk: number, deps: PipelineDeps): Promise<void> {
  const next = chunk + 1;
  await deps.queue.enqueue(next < record.chunks ? { kind: 'chunk', doc: record.id, chunk: next } : { kind: 'finish', doc: record.id });
}

export async function runChunk(job: ChunkJob, deps: PipelineDeps, ctx: JobContext): Promise<ChunkOutcome> {
  const planned = await deps.documents.get(job.doc);
  if (!planned || planned.status !== 'running') {
    // Finished, failed, or expired long ago: a late duplicate of a job that has done its work.
    ctx.log.info({ status: planned?.status ?? 'unknown' }, 'document is not running; nothing to do');
    return 'skipped';
  }
  const record = planned.record;
  checkTokenizer(record, deps);
  const key = documentKey(record.id);
  const loadStarted = performance.now();
  const { head, state, cached } = await deps.checkpoints.load(key);
  const loadMs = performance.now() - loadStarted;
  const next = head?.chunk ?? 0;
  if (next > job.chunk + 1) return 'skipped';
  if (next === job.chunk + 1) {
    await enqueueSuccessor(record, job.chunk, deps);
    return 'already-applied';
  }
  if (next < job.chunk) {
    throw permanent('E_CHECKPOINT_GAP', `chunk ${job.chunk} of ${record.id} was queued but the checkpoint is at chunk ${next}`);
  }

  const { start, end } = chunkRange(job.chunk, record.tokens, record.chunkTokens);
  if (state.tokens !== start) {
    throw permanent('E_CHECKPOINT_TOKENS', `the checkpoint of ${record.id} has read ${state.tokens} tokens; chunk ${job.chunk} starts at ${start}`);
  }
  const tokens = await deps.documents.readTokens(record, start, end);
  const started = performance.now();
  await forwardOf(deps)(tokens, state, 'none');
  const forwardMs = performance.now() - started;
  deps.telemetry.chunk('document', tokens.length, forwardMs / 1000);

  const outcome = await deps.checkpoints.commit(key, head, state, { chunk: job.chunk + 1 });
  if (!outcome.ok) {
    ctx.log.warn({ chunk: job.chunk, expected: head?.version ?? 0, current: outcome.current }, 'checkpoint moved on; this run is discarded');
    return 'superseded';
  }
  await ctx.progress({ tokensDone: end, tokensTotal: record.tokens, chunk: job.chunk + 1, chunks: record.chunks });
  await enqueueSuccessor(record, job.chunk, deps);
  ctx.log.debug({
    chunk: job.chunk,
    tokens: end,
    version: outcome.version,
    cached,
    loadMs: round(loadMs),
    forwardMs: round(forwardMs),
    commitMs: round(outcome.ms),
    bytes: outcome.bytes,
  }, 'chunk committed');
  return 'applied';
}

const round = (ms: number) => Math.round(ms * 100) / 100;
