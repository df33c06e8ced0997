// The fault suite's reference results are what a real, undisturbed distributed run publishes: one worker
// process, Kafka and Redis, a summarize and a classify document of several chunks each, compared byte for byte.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { kafkaBrokers, redisUrl } from '../integration/helpers/services.ts';
import { Cluster, mixedDocuments } from './cluster.ts';
import { disposeReferenceEngine, referenceResult } from './reference.ts';

test('referenceResult is byte-identical to the result a worker publishes', { timeout: 300_000 }, async () => {
  const docs = mixedDocuments(2, 12, 'reference');
  assert.deepEqual(
    docs.map((d) => d.task.kind),
    ['summarize', 'classify'],
  );
  await Cluster.open(
    { brokers: await kafkaBrokers(), redisUrl, name: 'reference', chunkTokens: 96 },
    async (cluster) => {
      await cluster.spawn('reference-worker');
      await cluster.submit(docs);
      assert.ok(await cluster.settled(docs, 120_000), 'the worker published every result');
      for (const doc of docs) {
        const published = cluster.resultsOf(doc.id);
        assert.equal(published.length, 1, `${doc.id} published once`);
        const reference = await referenceResult({ ...doc, chunkTokens: 96 });
        assert.ok(JSON.parse(reference).chunks > 3, 'several chunks');
        assert.equal(reference, published[0]);
      }
      // The same document under another chunk size is another reference.
      const other = await referenceResult({ ...docs[0]!, chunkTokens: 128 });
      assert.notEqual(other, await referenceResult({ ...docs[0]!, chunkTokens: 96 }));
      const verdict = await cluster.verify(docs);
      assert.deepEqual(verdict.problems, []);
      assert.equal(verdict.identical, 2);
    },
  );
  await disposeReferenceEngine();
});
