// The message schemas: defaults complete a task, and what is wrong is named.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DocumentMessageSchema, DOCUMENT_SCHEMA_V1 } from '../../schemas/documents.ts';
import { EventMessageSchema, EVENT_SCHEMA_V1 } from '../../schemas/events.ts';
import { DocumentIdSchema } from '../../schemas/ids.ts';

const issues = (r: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) =>
  r.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];

test('a parsed task carries every option with its default', () => {
  const msg = DocumentMessageSchema.parse({
    schema: DOCUMENT_SCHEMA_V1,
    id: 'a',
    task: { kind: 'summarize' },
    body: { kind: 'text', text: 'x' },
  });
  assert.deepEqual(msg.task, {
    kind: 'summarize',
    promptFormat: 'raw',
    think: false,
    template: '\n\nSummary:',
    maxTokens: 200,
    stop: ['\n\n'],
    temperature: 0,
    topP: 1,
    topK: 0,
    presencePenalty: 0,
    frequencyPenalty: 0,
    penaltyDecay: 0.996,
    seed: 0,
  });
});

test('document messages: wrong fields are named', () => {
  const base = { schema: DOCUMENT_SCHEMA_V1, id: 'a', task: { kind: 'summarize' } };
  const cases: [unknown, RegExp][] = [
    [{ ...base, body: { kind: 'text' } }, /^body\.text/],
    [{ ...base, body: { kind: 'ref', url: 'ftp://x/y' } }, /^body\.url/],
    [
      { ...base, task: { kind: 'classify', labels: ['a'] }, body: { kind: 'text', text: 'x' } },
      /^task\.labels: classify needs at least two/,
    ],
    [{ ...base, task: { kind: 'summarize', template: '' }, body: { kind: 'text', text: 'x' } }, /^task\.template/],
    [{ ...base, task: { kind: 'summarize', temprature: 1 }, body: { kind: 'text', text: 'x' } }, /^task/],
    [{ ...base, task: { kind: 'translate' }, body: { kind: 'text', text: 'x' } }, /^task/],
    [{ ...base, body: { kind: 'part', index: -1, final: true, data: 'x' } }, /^body\.index/],
    [{ ...base, extra: 1, body: { kind: 'text', text: 'x' } }, /extra/],
  ];
  for (const [message, pattern] of cases) {
    const r = DocumentMessageSchema.safeParse(message);
    assert.equal(r.success, false, JSON.stringify(message));
    assert.ok(
      issues(r).some((i) => pattern.test(i)),
      `${JSON.stringify(message)} -> ${issues(r).join('; ')}`,
    );
  }
});

test('ids exclude what would break keys, job ids and hash tags', () => {
  for (const good of ['doc-1', 'a.b_c@d+e/f=g', 'X'.repeat(200)])
    assert.ok(DocumentIdSchema.safeParse(good).success, good);
  for (const bad of ['', 'a:b', 'a{b}', 'a b', 'a~b', '-a', 'X'.repeat(201), 'é'])
    assert.ok(!DocumentIdSchema.safeParse(bad).success, bad);
});

test('event messages need a stream and text', () => {
  assert.ok(EventMessageSchema.safeParse({ schema: EVENT_SCHEMA_V1, stream: 's', text: 'x', id: 'e1' }).success);
  assert.ok(!EventMessageSchema.safeParse({ schema: EVENT_SCHEMA_V1, stream: 's', text: '' }).success);
  assert.ok(!EventMessageSchema.safeParse({ schema: EVENT_SCHEMA_V1, text: 'x' }).success);
});
