// Parts of a document whose final part (or some earlier one) never came: their keys expire after the part
// TTL, and without this nothing would say so. Each such document gets a failure record under its id (so
// `status` and a waiting `result` learn why) and a dead letter, unless it was planned or refused after all.
import type { ErrorCode } from '../schemas/error-codes.ts';
import type { FailureRecord } from '../schemas/results.ts';
import type { IngestDeps } from './context.ts';
import { deadLetter } from './dead-letters.ts';

export const PARTS_EXPIRED = 'E_PARTS_EXPIRED' satisfies ErrorCode;

/** Reports one abandoned document; false when it needs no report (planned, or already has a record). */
export async function reportAbandonedParts(id: string, partTtlSeconds: number, deps: IngestDeps): Promise<boolean> {
  if (await deps.documents.get(id)) return false;
  if (await deps.results.get('document', id)) return false;
  const message =
    `parts of document ${id} arrived, but not all of them (with the final part) within ${partTtlSeconds} s ` +
    'of the last one; the parts taken in were dropped: send the whole document again';
  const failure: FailureRecord = {
    schema: 'rwkvstream.failure.v1',
    kind: 'failure',
    id,
    stage: 'ingest',
    code: PARTS_EXPIRED,
    message,
  };
  await deps.results.saveFailure(id, JSON.stringify(failure));
  await deps.deadLetters.publish(deadLetter('ingest', PARTS_EXPIRED, message, { subject: { kind: 'document', id } }));
  deps.telemetry.deadLetter('ingest', PARTS_EXPIRED);
  deps.log.warn({ doc: id, code: PARTS_EXPIRED }, 'parts expired before the document was complete');
  return true;
}
