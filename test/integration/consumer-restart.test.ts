// A consumer that crashed for good (a non-retriable error out of a handler: kafkajs does not restart it) is
// started again by the source, which reports its state meanwhile; the record is delivered again and taken in.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import kafkajs from 'kafkajs';

import type { RawRecord } from '../../pipelines/ports.ts';
import { KafkaSource, type ConsumerState } from '../../services/adapters/kafka/record-source.ts';
import { silentLogger } from '../../services/log.ts';
import { useDeployment } from './helpers/deployment.ts';
import { kafkaClient } from './helpers/services.ts';

const deployment = useDeployment('consumer-restart', { producer: true });

test('a consumer that crashed for good is started again and the record is taken in', { timeout: 120_000 }, async () => {
  const { producer, topics } = deployment;
  const source = new KafkaSource(
    kafkaClient(deployment.brokers),
    { groupId: deployment.groupId, documentsTopic: topics.documents, eventsTopic: topics.events },
    silentLogger(),
  );
  const taken: RawRecord[] = [];
  const states = new Set<ConsumerState>();
  let thrown = 0;
  const watch = setInterval(() => states.add(source.state), 20);
  try {
    await source.start({
      documents: async (record) => {
        if (thrown++ === 0) throw new kafkajs.KafkaJSNonRetriableError('a handler failure kafkajs does not retry');
        taken.push(record);
      },
      events: async () => {},
    });
    await producer.send({ topic: topics.documents, messages: [{ key: 'd', value: 'once' }] });
    const deadline = Date.now() + 60_000;
    while (taken.length === 0 && Date.now() < deadline) await sleep(50);
    assert.equal(taken.length, 1, 'delivered again after the restart');
    assert.equal(taken[0]!.value?.toString(), 'once');
    assert.ok(states.has('crashed'), `reported as crashed meanwhile: ${[...states].join(', ')}`);
    assert.equal(source.restarts, 1);
    assert.equal(source.state, 'running');
  } finally {
    clearInterval(watch);
    await source.stop();
  }
});
