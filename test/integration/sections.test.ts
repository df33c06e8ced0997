// Sections against real Kafka, Redis and worker processes: section results reach the results topic while the
// document is still being read, and a worker killed with SIGKILL mid-document, with another one finishing it,
// yields the same section results (by index, identical JSON) and the same final result as an undisturbed run.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';

import { DOCUMENT_SCHEMA_V1 } from '../../schemas/documents.ts';
import { SectionResultSchema, type SectionResult } from '../../schemas/results.ts';
import type { DocumentTaskInput } from '../../schemas/tasks.ts';
import { useDeployment } from './helpers/deployment.ts';
import type { Collected } from './helpers/services.ts';

const CHUNK_TOKENS = 256;
// Short locks, so the killed worker's job is taken over within seconds.
const WORKER_ARGS = ['--chunk-tokens', String(CHUNK_TOKENS), '--lock-ms', '2000', '--stalled-ms', '1000'];
const TEXT = Array.from(
  { length: 900 },
  (_, i) =>
    `${i % 40 === 0 ? `# Report ${i / 40}\n` : ''}[${i}] sensor ${i % 7} reports ${(i * 13) % 97} units. The operator notes nothing unusual.\n${i % 9 === 8 ? '\n' : ''}`,
).join('');
const TOKENS = Buffer.byteLength(TEXT); // the tiny model's vocabulary is bytes
const CHUNKS = Math.ceil(TOKENS / CHUNK_TOKENS);
const TASK: DocumentTaskInput = {
  kind: 'summarize',
  maxTokens: 8,
  sections: { every: 1024, maxTokens: 4, final: 'both', reduce: { fanIn: 8 } },
};
const SECTIONS = Math.floor((TOKENS - 1) / 1024) + 1;

const deployment = useDeployment('sections', { producer: true, workerArgs: WORKER_ARGS });
const { topics, keys, collector, redis } = deployment;

async function submit(id: string): Promise<void> {
  const value = JSON.stringify({ schema: DOCUMENT_SCHEMA_V1, id, task: TASK, body: { kind: 'text', text: TEXT } });
  await deployment.producer.send({ topic: topics.documents, messages: [{ key: id, value }] });
}

const parsed = (r: Collected) => JSON.parse(r.value) as { kind: string };
const sectionsOf = (id: string): SectionResult[] =>
  collector.records
    .get(topics.results)!
    .filter((r) => r.key === id && parsed(r).kind === 'section')
    .map((r) => SectionResultSchema.parse(parsed(r)));
const documentOf = (id: string) =>
  collector.records.get(topics.results)!.find((r) => r.key === id && parsed(r).kind === 'document');

test('section results reach the results topic while the document is still being read', {
  timeout: 240_000,
}, async () => {
  await deployment.spawn('worker-a');
  await submit('sections-ref');
  await collector.waitFor(topics.results, () => sectionsOf('sections-ref').length > 0, 120_000);
  // Read at once: the document is far from its end (a section every 4 of its chunks).
  const [status] = await redis.hmget(keys.record('sections-ref'), 'status');
  const chunk = Number((await redis.hget(keys.checkpoint({ kind: 'document', id: 'sections-ref' }), 'chunk')) ?? 0);
  assert.equal(status, 'running', 'the document is still running when its first section is out');
  assert.ok(chunk < CHUNKS, `its last chunk is not committed yet (${chunk} of ${CHUNKS})`);
  assert.equal(documentOf('sections-ref'), undefined);

  await collector.waitFor(topics.results, () => documentOf('sections-ref') !== undefined, 180_000);
  const all = collector.records.get(topics.results)!.filter((r) => r.key === 'sections-ref');
  assert.equal(parsed(all.at(-1)!).kind, 'document', 'the document result comes after every section');
  const sections = sectionsOf('sections-ref');
  assert.deepEqual(
    sections.map((s) => s.section),
    Array.from({ length: SECTIONS }, (_, i) => i),
    'each section once, in order',
  );
  assert.equal(sections.at(-1)!.end, TOKENS);
  const result = JSON.parse(documentOf('sections-ref')!.value);
  assert.equal(result.coverage.sections, SECTIONS);
  assert.ok(result.stateSummary, "final: both carries the final state's summary too");
  // The stored sections are what was published.
  const stored = await redis.hmget(keys.sections('sections-ref'), ...sections.map((s) => String(s.section)));
  assert.deepEqual(
    stored,
    all.slice(0, -1).map((r) => r.value),
  );
  assert.ok((await redis.ttl(keys.sections('sections-ref'))) > 0, 'the sections expire with the result');
});

test('SIGKILL mid-document: another worker finishes it with the same sections and the same result', {
  timeout: 300_000,
}, async () => {
  const a = deployment.workers[0]!;
  await submit('sections-crash');
  const checkpoint = keys.checkpoint({ kind: 'document', id: 'sections-crash' });
  for (let i = 0; ; i++) {
    const chunk = Number((await redis.hget(checkpoint, 'chunk')) ?? 0);
    if (chunk >= 14) break;
    assert.ok(i < 6000, 'worker A made no progress');
    await sleep(10);
  }
  a.kill('SIGKILL');
  await a.exited;
  const reached = Number(await redis.hget(checkpoint, 'chunk'));
  assert.ok(reached < CHUNKS, `killed before the end (${reached} of ${CHUNKS} chunks)`);

  await deployment.spawn('worker-b');
  await collector.waitFor(topics.results, () => documentOf('sections-crash') !== undefined, 180_000);

  const reference = new Map(sectionsOf('sections-ref').map((s) => [s.section, JSON.stringify({ ...s, id: null })]));
  const crashed = sectionsOf('sections-crash');
  // At least once: a copy published twice (killed between a publish and its mark) has the same bytes.
  for (const s of crashed)
    assert.equal(JSON.stringify({ ...s, id: null }), reference.get(s.section), `section ${s.section}`);
  assert.deepEqual(
    [...new Set(crashed.map((s) => s.section))].sort((x, y) => x - y),
    [...reference.keys()],
  );
  const result = JSON.parse(documentOf('sections-crash')!.value);
  assert.deepEqual(
    { ...result, id: null },
    { ...JSON.parse(documentOf('sections-ref')!.value), id: null },
    'identical result',
  );
  assert.equal(
    collector.records.get(topics.results)!.filter((r) => r.key === 'sections-crash' && parsed(r).kind === 'document')
      .length,
    1,
  );

  const trail = (await redis.lrange(keys.audit({ kind: 'document', id: 'sections-crash' }), 0, -1)).map(
    (e) => JSON.parse(e) as { chunk: number; writer: string },
  );
  assert.deepEqual(
    trail.map((e) => e.chunk),
    Array.from({ length: CHUNKS }, (_, k) => k + 1),
    'every chunk committed once, in order',
  );
  assert.ok(trail.some((e) => e.writer === 'worker-b'));
  assert.deepEqual(collector.records.get(topics.deadLetter), []);
});
