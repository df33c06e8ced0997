// The StateStore contract: what the pipelines rely on from every checkpoint store (fenced commits, the
// outbox flag, blobs that vanish with the version that named them). Run against each adapter by ports.test.ts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';

import type { CheckpointWrite, StateKey, StateStore } from '../../pipelines/ports.ts';

export interface Fixture<T> {
  port: T;
  /** Releases what the adapter holds (connections, directories). */
  close(): Promise<void>;
}

export type Factory<T> = () => Promise<Fixture<T>>;

/** Runs `body` against a fresh adapter and always releases it. */
export async function withPort<T>(factory: Factory<T>, body: (port: T) => Promise<void>): Promise<void> {
  const fixture = await factory();
  try {
    await body(fixture.port);
  } finally {
    await fixture.close();
  }
}

function write(chunk: number, result: string | null = null, bytes = 64): CheckpointWrite {
  return {
    blob: new Uint8Array(randomBytes(bytes)),
    chunk,
    tokens: chunk * 100,
    cursor: chunk * 3,
    result,
    writer: `w${chunk}`,
  };
}

const doc: StateKey = { kind: 'document', id: 'doc-1' };

export interface StateStoreTraits {
  /**
   * After a drop, a writer expecting version 0 is refused with the last version: a worker paused in a finished
   * document's first chunk must not bring its state back. Shared stores need this; a store that only one
   * process at a time can open (the embedded mode's job lock) has no such writer.
   */
  fencesDroppedState: boolean;
}

export function stateStoreContract(adapter: string, factory: Factory<StateStore>, traits: StateStoreTraits): void {
  test(`${adapter} StateStore: no head before the first commit`, () =>
    withPort(factory, async (store) => {
      assert.equal(await store.head(doc), null);
    }));

  test(`${adapter} StateStore: a commit from version 0 makes version 1 with everything it wrote`, () =>
    withPort(factory, async (store) => {
      const w = write(1, null, 3000);
      assert.deepEqual(await store.commit(doc, 0, w), { ok: true, version: 1 });
      const head = await store.head(doc);
      assert.ok(head);
      assert.deepEqual(
        {
          version: head.version,
          chunk: head.chunk,
          tokens: head.tokens,
          cursor: head.cursor,
          bytes: head.bytes,
          result: head.result,
          published: head.published,
        },
        { version: 1, chunk: 1, tokens: 100, cursor: 3, bytes: 3000, result: null, published: true },
      );
      assert.deepEqual(await store.blob(doc, head), Buffer.from(w.blob));
    }));

  test(`${adapter} StateStore: a commit naming a stale version changes nothing and reports the current one`, () =>
    withPort(factory, async (store) => {
      const first = write(1);
      await store.commit(doc, 0, first);
      assert.deepEqual(await store.commit(doc, 0, write(7)), { ok: false, current: 1 });
      assert.deepEqual(await store.commit(doc, 5, write(7)), { ok: false, current: 1 });
      const head = await store.head(doc);
      assert.equal(head?.chunk, 1);
      assert.deepEqual(await store.blob(doc, head!), Buffer.from(first.blob));
    }));

  test(`${adapter} StateStore: the blob of a replaced version is no longer served`, () =>
    withPort(factory, async (store) => {
      await store.commit(doc, 0, write(1));
      const old = (await store.head(doc))!;
      const second = write(2);
      assert.deepEqual(await store.commit(doc, 1, second), { ok: true, version: 2 });
      assert.equal(await store.blob(doc, old), null);
      assert.deepEqual(await store.blob(doc, (await store.head(doc))!), Buffer.from(second.blob));
    }));

  test(`${adapter} StateStore: an outbox result waits unpublished until marked, and keeps its content`, () =>
    withPort(factory, async (store) => {
      await store.commit(doc, 0, write(1, '{"r":1}'));
      assert.deepEqual([(await store.head(doc))?.result, (await store.head(doc))?.published], ['{"r":1}', false]);
      await store.markPublished(doc, 1);
      const head = await store.head(doc);
      assert.deepEqual([head?.result, head?.published], ['{"r":1}', true]);
    }));

  test(`${adapter} StateStore: marking an older version published leaves the newer outbox alone`, () =>
    withPort(factory, async (store) => {
      await store.commit(doc, 0, write(1, '{"r":1}'));
      await store.commit(doc, 1, write(2, '{"r":2}'));
      await store.markPublished(doc, 1);
      const head = await store.head(doc);
      assert.deepEqual([head?.version, head?.result, head?.published], [2, '{"r":2}', false]);
    }));

  test(`${adapter} StateStore: a document and a stream of the same id are different states`, () =>
    withPort(factory, async (store) => {
      const stream: StateKey = { kind: 'stream', id: doc.id };
      await store.commit(doc, 0, write(1));
      assert.equal(await store.head(stream), null);
      await store.commit(stream, 0, write(4));
      assert.equal((await store.head(doc))?.chunk, 1);
      assert.equal((await store.head(stream))?.chunk, 4);
    }));

  test(`${adapter} StateStore: a dropped state is gone`, () =>
    withPort(factory, async (store) => {
      await store.commit(doc, 0, write(1));
      await store.commit(doc, 1, write(2));
      await store.drop(doc);
      assert.equal(await store.head(doc), null);
      await store.drop(doc);
      const outcome = await store.commit(doc, 0, write(1));
      assert.deepEqual(outcome, traits.fencesDroppedState ? { ok: false, current: 2 } : { ok: true, version: 1 });
    }));
}
