// A document through the pipeline (memory ports, every job kind through runJob) on a model of each older
// version: RWKV-4, RWKV-5.0 and RWKV-5.2 (rwkv.cpp's tiny byte-level models), RWKV-5.1 and RWKV-6 (random
// byte-level models). The chunked read must leave the state of reading the whole document at once, and the result must
// carry the model's identity.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import { ingestDocumentRecord } from '../../pipelines/ingest.ts';
import type { RawRecord } from '../../pipelines/ports.ts';
import { DOCUMENT_SCHEMA_V1 } from '../../schemas/documents.ts';
import { DocumentResultSchema } from '../../schemas/results.ts';
import { Engine } from '../../engine/index.ts';
import { maxAbsDiff } from '../helpers/fixtures.ts';
import { fixture } from '../helpers/paths.ts';
import { writeRandomOlderModel } from '../helpers/random-older.ts';
import { memoryPipeline, runQueued } from './memory-ports.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'rwkvstream-older-pipeline-'));
const v6 = path.join(dir, 'random-x060-bytes.safetensors');
writeRandomOlderModel(v6, { version: 'x060', embd: 64, headSize: 32, layers: 2, vocab: 256 });
const v51 = path.join(dir, 'random-x051-bytes.safetensors');
writeRandomOlderModel(v51, { version: 'x051', embd: 64, headSize: 32, layers: 2, vocab: 256 });

const TEXT = Array.from({ length: 12 }, (_, i) => `Line ${i}: the fox and the dog walk along the river.\n`).join('');

const MODELS = [
  ['v4', fixture('older', 'tiny-rwkv-4v0-660K-FP32.bin')],
  ['x050', fixture('older', 'tiny-rwkv-5v1-730K-FP32.bin')],
  ['x051', v51],
  ['x052', fixture('older', 'tiny-rwkv-5v2-730K-FP16.bin')],
  ['x060', v6],
] as const;

let offset = 0;
for (const [version, model] of MODELS) {
  describe(`a document on an ${version} model`, async () => {
    const engine = await Engine.load({ model, threads: 1 });
    after(() => engine.dispose());

    test('is planned, read chunk by chunk, finished, and its state equals reading it whole', async () => {
      assert.equal(engine.model.info.version, version);
      const p = memoryPipeline(engine, { chunkTokens: 128 });
      const id = `doc-${version}`;
      const value = Buffer.from(
        JSON.stringify({
          schema: DOCUMENT_SCHEMA_V1,
          id,
          task: { kind: 'summarize', maxTokens: 8 },
          body: { kind: 'text', text: TEXT },
        }),
      );
      const record: RawRecord = {
        topic: 'docs',
        partition: 0,
        offset: String(offset++),
        key: Buffer.from(id),
        value,
        timestamp: '0',
      };
      await ingestDocumentRecord(record, p.deps);

      while (p.queue.next() && !p.queue.next()!.id.startsWith('finish')) await runQueued(p, 1);
      const head = (await p.states.head({ kind: 'document', id }))!;
      const chained = engine.stateFromBuffer((await p.states.blob({ kind: 'document', id }, head))!);
      const whole = engine.model.newState();
      await engine.model.forward(engine.tokenizer.encodeSync(TEXT), whole, 'none');
      assert.equal(chained.tokens, whole.tokens);
      assert.ok(maxAbsDiff(chained.data, whole.data) < 1e-4, `max diff ${maxAbsDiff(chained.data, whole.data)}`);

      await runQueued(p);
      assert.equal(p.sinks.results.length, 1);
      const result = DocumentResultSchema.parse(JSON.parse(p.sinks.results[0]!.json));
      assert.equal(result.tokens, Buffer.byteLength(TEXT));
      assert.equal(result.model.fingerprint, engine.model.info.fingerprint);
    });
  });
}
