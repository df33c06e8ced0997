// The input side: records from the documents and events topics are validated, stored and turned into queued
// work — never model work, which would stall the source (a Kafka consumer that stops polling is evicted from
// its group). A record that cannot be accepted goes to the dead letters with the reason and its bytes;
// trouble with the stores propagates, so the source delivers the record again.
import type { z } from 'zod';

import { DocumentMessageSchema, type DocumentMessage, type PartBody } from '../schemas/documents.ts';
import { EventMessageSchema } from '../schemas/events.ts';
import type { PlanJob } from '../schemas/jobs.ts';
import type { FailureRecord } from '../schemas/results.ts';
import type { IngestDeps } from './context.ts';
import { deadLetter, sourceOf } from './dead-letters.ts';
import { DocumentTextCheck, utf8Problem } from './document-text.ts';
import { scheduleDrain } from './drain.ts';
import { PipelineError, permanent } from './errors.ts';
import { checkTaskLimits } from './limits.ts';
import type { RawRecord } from './ports.ts';

/** Size, encoding, JSON and schema checks, each with its own code. */
export function decodeRecord<S extends z.ZodType>(record: RawRecord, schema: S, maxBytes: number): z.infer<S> {
  const value = record.value;
  if (value === null) throw permanent('E_NO_VALUE', 'the record has no value');
  if (value.length > maxBytes) {
    throw permanent(
      'E_OVERSIZED',
      `the record has ${value.length} bytes; at most ${maxBytes} are accepted ` +
        '(send a large document in parts, or by reference)',
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(value);
  } catch {
    throw permanent('E_ENCODING', `the record value is not valid UTF-8: ${utf8Problem(value) ?? 'undecodable'}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw permanent('E_JSON', `the record value is not JSON: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (i) => `${i.path.length > 0 ? i.path.join('.') : '(message)'}: ${i.message}`,
    );
    throw permanent('E_SCHEMA', `the message does not match its schema: ${issues.join('; ')}`);
  }
  return parsed.data;
}

/** A record key, when present, must be the id: it is what keeps a document's parts (a stream's events) in one partition. */
function checkKey(record: RawRecord, id: string, what: string): void {
  if (record.key !== null && record.key.toString('utf8') !== id) {
    throw permanent('E_KEY_MISMATCH', `the record key "${record.key.toString('utf8')}" is not the ${what} id "${id}"`);
  }
}

function partBytes(body: PartBody): Buffer {
  return body.encoding === 'base64' ? Buffer.from(body.data, 'base64') : Buffer.from(body.data, 'utf8');
}

export async function ingestDocumentRecord(record: RawRecord, deps: IngestDeps): Promise<void> {
  const log = deps.log.child({ topic: record.topic, partition: record.partition, offset: record.offset });
  // The id once the record is known to carry one, and its key agrees: a refusal is then recorded under it.
  let id: string | undefined;
  try {
    const msg = decodeRecord(record, DocumentMessageSchema, deps.settings.maxMessageBytes);
    checkKey(record, msg.id, 'document');
    id = msg.id;
    if (msg.task) checkTaskLimits(msg.task, deps.settings.limits);
    const plan = await acceptDocument(record, msg, deps);
    if (plan) {
      await deps.queue.enqueue(plan);
      log.info({ doc: msg.id, source: plan.source.kind }, 'document accepted');
    }
    deps.telemetry.record('documents', 'accepted');
  } catch (err) {
    if (!(err instanceof PipelineError) || err.retriable) throw err;
    await rejectRecord(record, err, 'documents', deps, log);
    if (id !== undefined) await recordRefusal(id, err, deps);
  }
}

/**
 * A refused document gets a failure record under its id, so `status` and a waiting `result` learn why; a
 * document already planned under the id (a bad resubmission of it) is left as it is.
 */
async function recordRefusal(id: string, err: PipelineError, deps: IngestDeps): Promise<void> {
  // A conflicting part says nothing about the document: the parts already taken in may still complete it.
  if (err.code === 'E_PART_CONFLICT') return;
  if (await deps.documents.get(id)) return;
  const failure: FailureRecord = {
    schema: 'rwkvstream.failure.v1',
    kind: 'failure',
    id,
    stage: 'ingest',
    code: err.code,
    message: err.message,
  };
  await deps.results.saveFailure(id, JSON.stringify(failure));
}

/** Stores what arrived; returns the plan job once the whole document is there. */
async function acceptDocument(record: RawRecord, msg: DocumentMessage, deps: IngestDeps): Promise<PlanJob | null> {
  const origin = sourceOf(record);
  const body = msg.body;
  if (body.kind === 'ref') {
    return {
      kind: 'plan',
      doc: msg.id,
      task: msg.task!,
      source: { kind: 'ref', url: body.url },
      origin,
      originalBase64: record.value!.toString('base64'),
    };
  }
  if (body.kind === 'text') {
    const data = Buffer.from(body.text, 'utf8');
    if (data.length === 0) throw permanent('E_EMPTY_DOCUMENT', 'the document text is empty');
    const check = new DocumentTextCheck(msg.id);
    check.push(data);
    if (!check.hasContent) throw permanent('E_EMPTY_DOCUMENT', 'the document has only whitespace');
    return storePart(msg.id, 0, true, data, msg, origin, deps);
  }
  if (body.index >= deps.settings.maxParts) {
    throw permanent('E_TOO_MANY_PARTS', `part ${body.index} is beyond the limit of ${deps.settings.maxParts} parts`);
  }
  return storePart(msg.id, body.index, body.final, partBytes(body), msg, origin, deps);
}

async function storePart(
  id: string,
  index: number,
  final: boolean,
  data: Buffer,
  msg: DocumentMessage,
  origin: PlanJob['origin'],
  deps: IngestDeps,
): Promise<PlanJob | null> {
  const outcome = await deps.documents.putPart(id, index, final, data, final ? msg.task! : null);
  if (outcome.status === 'rejected') throw permanent(outcome.code, outcome.reason);
  if (outcome.status === 'pending') return null;
  return { kind: 'plan', doc: id, task: outcome.task, source: { kind: 'parts', count: outcome.count }, origin };
}

export async function ingestEventRecord(record: RawRecord, deps: IngestDeps): Promise<void> {
  const log = deps.log.child({ topic: record.topic, partition: record.partition, offset: record.offset });
  try {
    const msg = decodeRecord(record, EventMessageSchema, deps.settings.maxMessageBytes);
    checkKey(record, msg.stream, 'stream');
    const bytes = Buffer.byteLength(msg.text, 'utf8');
    if (bytes > deps.settings.maxEventBytes) {
      throw permanent(
        'E_OVERSIZED',
        `the event text has ${bytes} bytes; at most ${deps.settings.maxEventBytes} are accepted`,
      );
    }
    const event = {
      text: msg.text,
      ...(msg.id === undefined ? {} : { id: msg.id }),
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      receivedAt: Date.now(),
    };
    const outcome = await deps.events.append(msg.stream, event);
    if (!outcome.appended) {
      deps.telemetry.record('events', 'duplicate');
      log.debug({ stream: msg.stream }, 'event already taken in (redelivery)');
      return;
    }
    // The event just taken in is the newest, so when it is the only one waiting it is also the oldest.
    await scheduleDrain(
      deps,
      msg.stream,
      outcome.batch,
      outcome.pending,
      outcome.pending === 1 ? event.receivedAt : null,
      true,
    );
    deps.telemetry.record('events', 'accepted');
  } catch (err) {
    if (!(err instanceof PipelineError) || err.retriable) throw err;
    await rejectRecord(record, err, 'events', deps, log);
  }
}

async function rejectRecord(
  record: RawRecord,
  err: PipelineError,
  topic: 'documents' | 'events',
  deps: IngestDeps,
  log: IngestDeps['log'],
): Promise<void> {
  await deps.deadLetters.publish(deadLetter('ingest', err.code, err.message, { record }));
  deps.telemetry.record(topic, 'dead_letter');
  deps.telemetry.deadLetter('ingest', err.code);
  log.warn({ code: err.code, reason: err.message }, 'record rejected to the dead letters');
}
