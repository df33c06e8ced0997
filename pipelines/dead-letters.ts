// Dead letters: the reason, the stage, and what is needed to replay — the original record's bytes and where
// it came from.
import {
  DEAD_LETTER_SCHEMA_V1,
  type DeadLetter,
  type DeadLetterStage,
  type SourceRecord,
} from '../schemas/dead-letter.ts';
import type { RawRecord } from './ports.ts';

export function sourceOf(record: RawRecord): SourceRecord {
  return {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    keyBase64: record.key === null ? null : record.key.toString('base64'),
    timestamp: record.timestamp,
  };
}

export interface DeadLetterDetails {
  record?: RawRecord;
  source?: SourceRecord;
  originalBase64?: string;
  subject?: DeadLetter['subject'];
  attempts?: number;
}

export function deadLetter(
  stage: DeadLetterStage,
  code: string,
  reason: string,
  details: DeadLetterDetails = {},
): DeadLetter {
  const letter: DeadLetter = { schema: DEAD_LETTER_SCHEMA_V1, stage, code, reason, failedAt: new Date().toISOString() };
  if (details.subject) letter.subject = details.subject;
  const source = details.record ? sourceOf(details.record) : details.source;
  if (source) letter.source = source;
  if (details.record) {
    const value = details.record.value;
    letter.original = value === null ? null : { base64: value.toString('base64'), bytes: value.length };
  } else if (details.originalBase64 !== undefined) {
    letter.original = { base64: details.originalBase64, bytes: Buffer.from(details.originalBase64, 'base64').length };
  }
  if (details.attempts !== undefined) letter.attempts = details.attempts;
  return letter;
}
