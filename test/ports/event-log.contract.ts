// The EventLog contract: one sequence per stream, redeliveries and retried ids dropped in the same atomic step as
// the append, reads and backlog after a sequence number, trimming what the state has read. Run against each
// adapter by ports.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { EVENT_ID_HORIZON, type EventLog } from '../../pipelines/ports.ts';
import type { StoredEvent } from '../../schemas/events.ts';
import { withPort, type Factory } from './state-store.contract.ts';

function event(offset: number, extra: Partial<StoredEvent> = {}): Omit<StoredEvent, 'seq'> {
  return {
    text: `line ${offset}`,
    topic: 'events',
    partition: 0,
    offset: String(offset),
    receivedAt: 1_000 + offset,
    ...extra,
  };
}

export function eventLogContract(adapter: string, factory: Factory<EventLog>): void {
  test(`${adapter} EventLog: events of a stream get sequence numbers 1, 2, 3… in the order appended`, () =>
    withPort(factory, async (log) => {
      const outcomes = [];
      for (const offset of [10, 11, 12]) outcomes.push(await log.append('s', event(offset)));
      assert.deepEqual(
        outcomes,
        [1, 2, 3].map((pending) => ({ appended: true, pending, batch: 0 })),
      );
      const read = await log.read('s', 0, 10);
      assert.deepEqual(
        read.map((e) => [e.seq, e.text, e.offset]),
        [
          [1, 'line 10', '10'],
          [2, 'line 11', '11'],
          [3, 'line 12', '12'],
        ],
      );
      assert.deepEqual(await log.read('other', 0, 10), []);
    }));

  test(`${adapter} EventLog: a redelivered record (same partition, offset not above the last) is dropped`, () =>
    withPort(factory, async (log) => {
      await log.append('s', event(10));
      await log.append('s', event(11));
      assert.deepEqual(await log.append('s', event(11)), { appended: false, pending: 2, batch: 0 });
      assert.deepEqual(await log.append('s', event(5)), { appended: false, pending: 2, batch: 0 });
      // Another partition keeps its own offsets.
      assert.equal((await log.append('s', event(5, { partition: 1 }))).appended, true);
    }));

  test(`${adapter} EventLog: an id seen within the horizon is a producer's retry; events without ids are distinct`, () =>
    withPort(factory, async (log) => {
      assert.equal((await log.append('s', event(1, { id: 'a' }))).appended, true);
      assert.equal((await log.append('s', event(2, { id: 'a' }))).appended, false);
      assert.equal((await log.append('s', event(3, { text: 'same' }))).appended, true);
      assert.equal((await log.append('s', event(4, { text: 'same' }))).appended, true);
      // The same id in another stream is another event.
      assert.equal((await log.append('t', event(1, { id: 'a' }))).appended, true);
      assert.deepEqual(
        (await log.read('s', 0, 10)).map((e) => e.offset),
        ['1', '3', '4'],
      );
    }));

  test(`${adapter} EventLog: ids older than the horizon are forgotten`, () =>
    withPort(factory, async (log) => {
      for (let i = 0; i <= EVENT_ID_HORIZON; i++) await log.append('s', event(i, { id: `id-${i}` }));
      assert.equal((await log.append('s', event(EVENT_ID_HORIZON + 1, { id: 'id-0' }))).appended, true);
      assert.equal(
        (await log.append('s', event(EVENT_ID_HORIZON + 2, { id: `id-${EVENT_ID_HORIZON}` }))).appended,
        false,
      );
    }));

  test(`${adapter} EventLog: reads start after a sequence number and stop at a maximum; backlog counts the rest`, () =>
    withPort(factory, async (log) => {
      for (let i = 1; i <= 5; i++) await log.append('s', event(i));
      assert.deepEqual(
        (await log.read('s', 2, 2)).map((e) => e.seq),
        [3, 4],
      );
      assert.deepEqual(await log.backlog('s', 2), { count: 3, oldestAt: 1_003 });
      assert.deepEqual(await log.backlog('s', 5), { count: 0, oldestAt: null });
      assert.deepEqual(await log.backlog('none', 0), { count: 0, oldestAt: null });
    }));

  test(`${adapter} EventLog: trimmed events are no longer read; the sequence goes on`, () =>
    withPort(factory, async (log) => {
      for (let i = 1; i <= 4; i++) await log.append('s', event(i));
      await log.trim('s', 2);
      assert.deepEqual(
        (await log.read('s', 0, 10)).map((e) => e.seq),
        [3, 4],
      );
      await log.append('s', event(5));
      assert.deepEqual(
        (await log.read('s', 0, 10)).map((e) => e.seq),
        [3, 4, 5],
      );
    }));
}
