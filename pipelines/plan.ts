// Planning a document: its bytes (assembled parts, or a referenced file or URL read as a stream) are
// tokenized once (after the prompt format's prefix, folded as its family requires), the token ids stored, the document recorded with its chunk plan, and chunk 0 enqueued.
// Memory stays flat in the document's length: bytes stream through the tokenizer into the token store.
import { createHash } from 'node:crypto';

import type { ChunkJob, PlanJob } from '../schemas/jobs.ts';
import type { DocumentRecord } from '../schemas/records.ts';
import { chunkCount, tokenNonce } from './chunking.ts';
import type { PipelineDeps } from './context.ts';
import { DocumentTextCheck } from './document-text.ts';
import { PipelineError, permanent } from './errors.ts';
import { checkPlannedLimits } from './limits.ts';
import type { JobContext, PlannedDocument } from './ports.ts';
import { DocumentTokenizer } from './document-tokens.ts';

export type PlanOutcome = 'planned' | 'duplicate';

function body(job: PlanJob, deps: PipelineDeps): AsyncIterable<Uint8Array> {
  return job.source.kind === 'parts'
    ? deps.documents.readParts(job.doc, job.source.count)
    : deps.bodies.open(job.source.url);
}

function sameTask(a: PlanJob['task'], b: PlanJob['task']): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * A document with this id exists. The same document delivered again (or this very plan job redone after a
 * crash) only makes sure its chain has started; another document under a taken id is refused.
 */
async function resumeExisting(
  job: PlanJob,
  existing: PlannedDocument,
  deps: PipelineDeps,
  ctx: JobContext,
): Promise<void> {
  const record = existing.record;
  let same = sameTask(record.task, job.task);
  if (same && job.source.kind === 'ref') {
    same = record.url === job.source.url;
  } else if (same) {
    try {
      const hash = createHash('sha256');
      for await (const piece of body(job, deps)) hash.update(piece);
      same = hash.digest('hex') === record.sha256;
    } catch (err) {
      // The parts are gone: they are dropped right after planning, so this is the planning job itself, redone.
      if (!(err instanceof PipelineError && err.code === 'E_PART_MISSING')) throw err;
    }
  }
  if (!same) {
    throw permanent(
      'E_DUPLICATE_ID',
      `document id ${job.doc} is already taken by another document (other content or task); submit under a new id`,
    );
  }
  ctx.log.info({ status: existing.status }, 'document delivered again; continuing the existing one');
  if (existing.status === 'running') await deps.queue.enqueue(firstChunk(existing.record));
}

function firstChunk(record: DocumentRecord): ChunkJob {
  return { kind: 'chunk', doc: record.id, chunk: 0, ...(record.chain === undefined ? {} : { chain: record.chain }) };
}

/** Refused as soon as the count passes the limit, before more ids are stored (the caller discards those written). */
function checkTokenLimit(doc: string, tokens: number, limit: number): void {
  if (tokens > limit) {
    throw permanent(
      'E_TOO_LARGE',
      `document ${doc} has more than the limit of ${limit} tokens (refused after reading ${tokens})`,
    );
  }
}

export async function planDocument(job: PlanJob, deps: PipelineDeps, ctx: JobContext): Promise<PlanOutcome> {
  const { settings, engine } = deps;
  let existing = await deps.documents.get(job.doc);
  // A failed document submitted again is read again from the start, as a new chain (what the failure left,
  // its commit history included, is cleared); likewise what a refused plan left under the id.
  let chain: string | undefined;
  if ((!existing || existing.status === 'failed') && (await deps.documents.reopenFailed?.(job.doc))) {
    if (existing) {
      ctx.log.info({ doc: job.doc }, 'failed document submitted again; reading it anew');
      chain = tokenNonce();
    }
    existing = null;
  }
  if (existing) {
    await resumeExisting(job, existing, deps, ctx);
    if (job.source.kind === 'parts') await deps.documents.dropParts(job.doc, job.source.count);
    return 'duplicate';
  }

  const writer = deps.documents.openTokenWriter(job.doc, settings.segmentTokens);
  let created: Awaited<ReturnType<typeof deps.documents.create>>;
  let record: DocumentRecord;
  try {
    const hash = createHash('sha256');
    const tokenizer = new DocumentTokenizer(engine.tokenizer, job.task);
    const text = new DocumentTextCheck(job.doc);
    let bytes = 0;
    let tokens = 0;
    const started = performance.now();
    for await (const piece of body(job, deps)) {
      bytes += piece.length;
      if (bytes > settings.maxDocumentBytes) {
        throw permanent(
          'E_TOO_LARGE',
          `document ${job.doc} is larger than the limit of ${settings.maxDocumentBytes} bytes`,
        );
      }
      text.push(piece);
      hash.update(piece);
      const ids = await tokenizer.push(piece);
      tokens += ids.length;
      checkTokenLimit(job.doc, tokens, settings.maxDocumentTokens);
      checkPlannedLimits(job.doc, job.task, tokens, settings.limits);
      if (ids.length > 0) await writer.append(ids);
    }
    text.end();
    if (bytes === 0) throw permanent('E_EMPTY_DOCUMENT', `document ${job.doc} is empty`);
    if (!text.hasContent) throw permanent('E_EMPTY_DOCUMENT', `document ${job.doc} has only whitespace`);
    const rest = await tokenizer.end();
    tokens += rest.length;
    checkTokenLimit(job.doc, tokens, settings.maxDocumentTokens);
    checkPlannedLimits(job.doc, job.task, tokens, settings.limits);
    if (rest.length > 0) await writer.append(rest);
    if (tokens === 0) throw permanent('E_EMPTY_DOCUMENT', `document ${job.doc} is empty`);

    record = {
      id: job.doc,
      task: job.task,
      bytes,
      sha256: hash.digest('hex'),
      tokens,
      chunkTokens: settings.chunkTokens,
      chunks: chunkCount(tokens, settings.chunkTokens),
      layout: writer.layout(),
      tokenizer: { kind: engine.tokenizer.info.kind, fingerprint: engine.tokenizer.info.fingerprint },
      ...(job.source.kind === 'ref' ? { url: job.source.url } : {}),
      ...(job.origin ? { origin: job.origin } : {}),
      ...(chain === undefined ? {} : { chain }),
    };
    created = await deps.documents.create(record);
    ctx.log.info(
      { bytes, tokens, chunks: record.chunks, ms: Math.round(performance.now() - started) },
      'document tokenized',
    );
  } catch (err) {
    await writer.discard();
    throw err;
  }
  if (!created.created) {
    // Another planning attempt of this id won the race to create it.
    await writer.discard();
    await resumeExisting(job, created.existing, deps, ctx);
  } else {
    await deps.queue.enqueue(firstChunk(record!));
  }
  if (job.source.kind === 'parts') await deps.documents.dropParts(job.doc, job.source.count);
  return created.created ? 'planned' : 'duplicate';
}
