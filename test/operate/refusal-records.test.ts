// A document refused as it is taken in leaves a failure record under its id (what `status` and a waiting
// `result` read), unless the refusal says nothing about the document (a conflicting part) or the id could
// not be trusted (no id read, a key that disagrees with it).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ingestDocumentRecord } from '../../pipelines/ingest.ts';
import type { RawRecord } from '../../pipelines/ports.ts';
import { DOCUMENT_SCHEMA_V1 } from '../../schemas/documents.ts';
import { FailureRecordSchema } from '../../schemas/results.ts';
import { memoryIngest } from '../pipeline/memory-ports.ts';

let offset = 0;
function record(value: unknown, key: string | null): RawRecord {
  return {
    topic: 'docs',
    partition: 0,
    offset: String(offset++),
    key: key === null ? null : Buffer.from(key),
    value: Buffer.from(JSON.stringify(value)),
    timestamp: '0',
  };
}
const task = { kind: 'summarize' } as const;

test('a whitespace-only document or one with too many parts gets a failure record; a conflicting part or an untrusted id gets none', async () => {
  const p = memoryIngest({ maxParts: 2 });
  await ingestDocumentRecord(
    record({ schema: DOCUMENT_SCHEMA_V1, id: 'blank', task, body: { kind: 'text', text: ' \n\t ' } }, 'blank'),
    p.deps,
  );
  const blank = FailureRecordSchema.parse(JSON.parse(p.results.failures.get('blank')!));
  assert.deepEqual(blank, {
    schema: 'rwkvstream.failure.v1',
    kind: 'failure',
    id: 'blank',
    stage: 'ingest',
    code: 'E_EMPTY_DOCUMENT',
    message: 'the document has only whitespace',
  });

  const part = (id: string, index: number, final: boolean, data: string) => ({
    schema: DOCUMENT_SCHEMA_V1,
    id,
    ...(final ? { task } : {}),
    body: { kind: 'part', index, final, encoding: 'utf8', data },
  });
  await ingestDocumentRecord(record(part('big', 5, true, 'abcdefgh'), 'big'), p.deps);
  assert.equal(FailureRecordSchema.parse(JSON.parse(p.results.failures.get('big')!)).code, 'E_TOO_MANY_PARTS');

  await ingestDocumentRecord(record(part('parts', 0, true, 'a'), 'parts'), p.deps);
  await ingestDocumentRecord(record(part('parts', 1, false, 'b'), 'parts'), p.deps);
  assert.equal(
    p.results.failures.has('parts'),
    false,
    'E_PART_CONFLICT: the parts taken in may still make the document',
  );

  await ingestDocumentRecord(
    record({ schema: DOCUMENT_SCHEMA_V1, id: 'victim', task, body: { kind: 'text', text: ' ' } }, 'someone-else'),
    p.deps,
  );
  assert.equal(p.results.failures.has('victim'), false, 'E_KEY_MISMATCH: the id is not trusted');
  assert.equal(p.results.failures.has('someone-else'), false);

  // Every refusal is dead-lettered all the same.
  assert.deepEqual(
    new Set(p.sinks.deadLetters.map((l) => l.code)),
    new Set(['E_EMPTY_DOCUMENT', 'E_TOO_MANY_PARTS', 'E_PART_CONFLICT', 'E_KEY_MISMATCH']),
  );
});
