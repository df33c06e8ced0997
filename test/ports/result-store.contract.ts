// The ResultStore contract: first result wins, failures never pass for results, sections in order up to the
// first gap, streams keep their latest batch. Run against each adapter by ports.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { ResultStore } from '../../pipelines/ports.ts';
import { withPort, type Factory } from './state-store.contract.ts';

export function resultStoreContract(adapter: string, factory: Factory<ResultStore>): void {
  test(`${adapter} ResultStore: nothing is known of an id never stored`, () =>
    withPort(factory, async (store) => {
      assert.equal(await store.getDocument('nope'), null);
      assert.equal(await store.get('document', 'nope'), null);
      assert.equal(await store.get('stream', 'nope'), null);
      assert.deepEqual(await store.getSections('nope'), []);
    }));

  test(`${adapter} ResultStore: the first document result is kept, unpublished until marked`, () =>
    withPort(factory, async (store) => {
      assert.deepEqual(await store.saveDocument('d', '{"a":1}'), { json: '{"a":1}', published: false });
      assert.deepEqual(await store.saveDocument('d', '{"a":2}'), { json: '{"a":1}', published: false });
      await store.markDocumentPublished('d');
      assert.deepEqual(await store.getDocument('d'), { json: '{"a":1}', published: true });
      assert.deepEqual(await store.saveDocument('d', '{"a":3}'), { json: '{"a":1}', published: true });
      assert.equal(await store.get('document', 'd'), '{"a":1}');
    }));

  test(`${adapter} ResultStore: a failure is readable, is never taken for a result, and a later result wins`, () =>
    withPort(factory, async (store) => {
      await store.saveFailure('f', '{"error":"E_X"}');
      assert.equal(await store.get('document', 'f'), '{"error":"E_X"}');
      assert.equal(await store.getDocument('f'), null);
      assert.deepEqual(await store.saveDocument('f', '{"ok":1}'), { json: '{"ok":1}', published: false });
      assert.equal(await store.get('document', 'f'), '{"ok":1}');
    }));

  test(`${adapter} ResultStore: the first result of a section is kept`, () =>
    withPort(factory, async (store) => {
      assert.equal(await store.saveSection('s', 0, '{"i":0}'), '{"i":0}');
      assert.equal(await store.saveSection('s', 0, '{"i":"again"}'), '{"i":0}');
    }));

  test(`${adapter} ResultStore: sections come in order, from a start, up to an end or the first gap`, () =>
    withPort(factory, async (store) => {
      for (const i of [2, 0, 1, 4]) await store.saveSection('s', i, `{"i":${i}}`);
      assert.deepEqual(await store.getSections('s'), ['{"i":0}', '{"i":1}', '{"i":2}']);
      assert.deepEqual(await store.getSections('s', 1), ['{"i":1}', '{"i":2}']);
      assert.deepEqual(await store.getSections('s', 0, 2), ['{"i":0}', '{"i":1}']);
      assert.deepEqual(await store.getSections('s', 4), ['{"i":4}']);
      assert.deepEqual(await store.getSections('s', 3), []);
    }));

  test(`${adapter} ResultStore: a stream shows its latest batch, apart from a document of the same id`, () =>
    withPort(factory, async (store) => {
      await store.saveStream('x', '{"batch":0}');
      await store.saveStream('x', '{"batch":1}');
      assert.equal(await store.get('stream', 'x'), '{"batch":1}');
      assert.equal(await store.get('document', 'x'), null);
    }));
}
