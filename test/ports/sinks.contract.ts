// The ResultSink and DeadLetterSink contracts: what the pipelines and their consumers rely on from every sink —
// what is published comes out in order, the JSON unchanged (any text a result may hold: other scripts,
// characters JavaScript sees as line breaks, large results), under its key where the medium keeps keys;
// a result published again (a step redone after a crash) is allowed, and consumers deduplicate. Run against
// each adapter by ports.test.ts, through a driver that reads back what the medium holds.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { DeadLetterSink, ResultSink } from '../../pipelines/ports.ts';
import { DEAD_LETTER_SCHEMA_V1, type DeadLetter } from '../../schemas/dead-letter.ts';
import { withPort, type Factory } from './state-store.contract.ts';

export interface Published {
  /** null where the medium keeps no key (a job directory's file holds one job's results). */
  key: string | null;
  json: string;
}

export interface ResultSinkDriver {
  sink: ResultSink;
  /** What the medium holds, in order, once it holds at least `count` results (media that deliver later are waited on). */
  read(count: number): Promise<Published[]>;
}

export interface ResultSinkTraits {
  /** The medium keeps each result's key (topics and streams do; a job's own file needs none). */
  keepsKeys: boolean;
  /**
   * A result already published (same kind, id, and batch or section) is not written again. The job
   * directory's file does, as the consumers of the topics do; the topics and streams carry every copy.
   */
  dropsRepeats: boolean;
}

export interface DeadLetterSinkDriver {
  sink: DeadLetterSink;
  read(count: number): Promise<unknown[]>;
}

const section = (id: string, index: number, text: string) =>
  JSON.stringify({ kind: 'section', id, section: index, summary: { text, generatedTokens: 3, stopReason: 'stop' } });
const batch = (id: string, index: number) => JSON.stringify({ kind: 'stream', id, batch: index, events: [] });
const documentResult = (id: string, text: string) => JSON.stringify({ kind: 'document', id, summary: { text } });

export function resultSinkContract(
  adapter: string,
  factory: Factory<ResultSinkDriver>,
  traits: ResultSinkTraits,
): void {
  const expect = (published: Published[], want: { key: string; json: string }[]) =>
    assert.deepEqual(
      published,
      want.map((w) => ({ key: traits.keepsKeys ? w.key : null, json: w.json })),
    );

  test(`${adapter} ResultSink: results come out in order, the JSON unchanged${traits.keepsKeys ? ', under their keys' : ''}`, () =>
    withPort(factory, async (d) => {
      const want = [
        { key: 'doc-1', json: section('doc-1', 0, 'first') },
        { key: 'stream/ü', json: batch('stream/ü', 7) },
        {
          key: 'doc-1',
          json: section('doc-1', 1, 'Ünïcödé, 中文, emoji 🦊, a zero\u0000 byte, \u2028 and \u2029 line separators'),
        },
        { key: 'doc-1', json: documentResult('doc-1', 'x'.repeat(200_000)) },
      ];
      for (const w of want) await d.sink.publish(w.key, w.json);
      expect(await d.read(want.length), want);
    }));

  test(`${adapter} ResultSink: a result published again ${traits.dropsRepeats ? 'is written once' : 'is carried again (consumers deduplicate)'}`, () =>
    withPort(factory, async (d) => {
      const a = { key: 'doc-2', json: section('doc-2', 0, 'a') };
      const b = { key: 'doc-2', json: section('doc-2', 1, 'b') };
      for (const w of [a, b, a]) await d.sink.publish(w.key, w.json);
      const want = traits.dropsRepeats ? [a, b] : [a, b, a];
      expect(await d.read(want.length), want);
    }));

  test(`${adapter} ResultSink: a result written over several lines comes out as the same JSON value`, () =>
    withPort(factory, async (d) => {
      const value = {
        kind: 'section',
        id: 'doc-3',
        section: 0,
        summary: { text: 'one\ntwo', generatedTokens: 2, stopReason: 'stop' },
      };
      const pretty = JSON.stringify(value, null, 2);
      await d.sink.publish('doc-3', pretty);
      await d.sink.publish('doc-3', section('doc-3', 1, 'after'));
      const out = await d.read(2);
      assert.equal(out.length, 2);
      assert.deepEqual(JSON.parse(out[0]!.json), value);
      assert.equal(out[1]!.json, section('doc-3', 1, 'after'));
    }));
}

function letter(code: string, extra: Partial<DeadLetter> = {}): DeadLetter {
  return {
    schema: DEAD_LETTER_SCHEMA_V1,
    stage: 'ingest',
    code,
    reason: `refused: ${code} — «quoted» 🦊`,
    failedAt: '2025-01-02T03:04:05.000Z',
    ...extra,
  };
}

export function deadLetterSinkContract(adapter: string, factory: Factory<DeadLetterSinkDriver>): void {
  test(`${adapter} DeadLetterSink: letters come out in order, whole`, () =>
    withPort(factory, async (d) => {
      const letters = [
        letter('E_SCHEMA', {
          source: { topic: 'docs', partition: 1, offset: '42', keyBase64: null, timestamp: '0' },
          original: { base64: Buffer.from('{"not json\u0000').toString('base64'), bytes: 12 },
        }),
        letter('E_TOKENIZER_MISMATCH', { stage: 'chunk', subject: { kind: 'document', id: 'doc/ü' }, attempts: 3 }),
        letter('E_OVERSIZED', { subject: { kind: 'stream', id: 's' }, original: null }),
      ];
      for (const l of letters) await d.sink.publish(l);
      assert.deepEqual(await d.read(letters.length), letters);
    }));
}
