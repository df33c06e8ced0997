// The DocumentStore contract: parts assembled in any order and refused when they contradict each other or
// outgrow the byte cap, token ids written in segments and read back by any range, documents created once.
// Run against each adapter by ports.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { DocumentStore } from '../../pipelines/ports.ts';
import { DocumentRecordSchema, type DocumentRecord, type TokenLayout } from '../../schemas/records.ts';
import { DocumentTaskSchema } from '../../schemas/tasks.ts';
import { withPort, type Factory } from './state-store.contract.ts';

/** The byte cap every adapter under test is opened with. */
export const CONTRACT_MAX_DOCUMENT_BYTES = 1000;

const task = DocumentTaskSchema.parse({ kind: 'summarize' });

function record(id: string, layout: TokenLayout, tokens: number): DocumentRecord {
  return DocumentRecordSchema.parse({
    id,
    task,
    bytes: 10,
    sha256: 'a'.repeat(64),
    tokens,
    chunkTokens: 4,
    chunks: Math.ceil(tokens / 4),
    layout,
    tokenizer: { kind: 'bytes', fingerprint: '0123456789abcdef' },
  });
}

async function collect(parts: AsyncIterable<Buffer>): Promise<string[]> {
  const out: string[] = [];
  for await (const part of parts) out.push(part.toString());
  return out;
}

export function documentStoreContract(adapter: string, factory: Factory<DocumentStore>): void {
  test(`${adapter} DocumentStore: parts in any order make a document once the final part and every earlier one are in`, () =>
    withPort(factory, async (store) => {
      assert.deepEqual(await store.putPart('d', 2, true, Buffer.from('c'), task), { status: 'pending' });
      assert.deepEqual(await store.putPart('d', 0, false, Buffer.from('a'), null), { status: 'pending' });
      assert.deepEqual(await store.putPart('d', 1, false, Buffer.from('b'), null), {
        status: 'complete',
        count: 3,
        task,
      });
      assert.deepEqual(await collect(store.readParts('d', 3)), ['a', 'b', 'c']);
    }));

  test(`${adapter} DocumentStore: parts that contradict the final part are refused with E_PART_CONFLICT`, () =>
    withPort(factory, async (store) => {
      await store.putPart('d', 1, true, Buffer.from('b'), task);
      assert.equal((await store.putPart('d', 2, false, Buffer.from('x'), null)).status === 'rejected', true);
      const other = await store.putPart('d', 3, true, Buffer.from('x'), task);
      assert.deepEqual([other.status, other.status === 'rejected' && other.code], ['rejected', 'E_PART_CONFLICT']);
      await store.putPart('e', 5, false, Buffer.from('x'), null);
      const early = await store.putPart('e', 2, true, Buffer.from('x'), task);
      assert.deepEqual([early.status, early.status === 'rejected' && early.code], ['rejected', 'E_PART_CONFLICT']);
    }));

  test(`${adapter} DocumentStore: parts adding up to more than the byte cap are refused with E_TOO_LARGE`, () =>
    withPort(factory, async (store) => {
      const half = Buffer.alloc(CONTRACT_MAX_DOCUMENT_BYTES / 2 + 1, 0x61);
      assert.deepEqual(await store.putPart('big', 0, false, half, null), { status: 'pending' });
      const over = await store.putPart('big', 1, false, half, null);
      assert.deepEqual([over.status, over.status === 'rejected' && over.code], ['rejected', 'E_TOO_LARGE']);
    }));

  test(`${adapter} DocumentStore: dropped parts are gone, and reading them says E_PART_MISSING`, () =>
    withPort(factory, async (store) => {
      await store.putPart('d', 0, true, Buffer.from('a'), task);
      await store.dropParts('d', 1);
      await assert.rejects(collect(store.readParts('d', 1)), { code: 'E_PART_MISSING' });
    }));

  test(`${adapter} DocumentStore: token ids written in pieces come back for any range, across segments`, () =>
    withPort(factory, async (store) => {
      const writer = store.openTokenWriter('d', 4);
      const ids = Int32Array.from({ length: 11 }, (_, i) => i * 1000 - 3);
      await writer.append(ids.subarray(0, 3));
      await writer.append(ids.subarray(3, 10));
      await writer.append(ids.subarray(10));
      const layout = writer.layout();
      assert.deepEqual([layout.segmentTokens, layout.segments], [4, 3]);
      const doc = record('d', layout, ids.length);
      assert.deepEqual(await store.readTokens(doc, 0, 11), ids);
      assert.deepEqual(await store.readTokens(doc, 3, 9), ids.subarray(3, 9));
      assert.deepEqual(await store.readTokens(doc, 8, 9), ids.subarray(8, 9));
    }));

  test(`${adapter} DocumentStore: two planning attempts write apart, and a discarded one leaves the other`, () =>
    withPort(factory, async (store) => {
      const lost = store.openTokenWriter('d', 4);
      const kept = store.openTokenWriter('d', 4);
      assert.notEqual(lost.layout().nonce, kept.layout().nonce);
      await lost.append(Int32Array.of(9, 9, 9));
      await kept.append(Int32Array.of(1, 2, 3));
      await lost.discard();
      assert.deepEqual(await store.readTokens(record('d', kept.layout(), 3), 0, 3), Int32Array.of(1, 2, 3));
    }));

  test(`${adapter} DocumentStore: a document is created once; a second create returns the first`, () =>
    withPort(factory, async (store) => {
      const writer = store.openTokenWriter('d', 4);
      await writer.append(Int32Array.of(1, 2));
      const first = record('d', writer.layout(), 2);
      assert.equal(await store.get('d'), null);
      assert.deepEqual(await store.create(first), { created: true });
      const again = await store.create({ ...first, bytes: 99 });
      assert.deepEqual(again, { created: false, existing: { record: first, status: 'running' } });
      assert.deepEqual(await store.get('d'), { record: first, status: 'running' });
    }));

  test(`${adapter} DocumentStore: a completed document keeps its record with the final status`, () =>
    withPort(factory, async (store) => {
      const writer = store.openTokenWriter('d', 4);
      await writer.append(Int32Array.of(1, 2));
      const doc = record('d', writer.layout(), 2);
      await store.create(doc);
      await store.complete(doc, 'failed');
      assert.deepEqual(await store.get('d'), { record: doc, status: 'failed' });
    }));
}
