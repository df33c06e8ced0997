// The tokenizers through the addon: every reference case, byte-exact round trips (invalid UTF-8 too).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { EngineError, Tokenizer } from '../../engine/index.ts';
import { fixture, worldVocab } from '../helpers/paths.ts';

const { cases } = JSON.parse(readFileSync(fixture('tokenizer', 'tokenizer_cases.json'), 'utf8')) as {
  cases: { text: string | null; utf8_hex: string; ids: number[] }[];
};

test('World tokenizer: every reference case encodes to the official ids and decodes back', async () => {
  const tokenizer = await Tokenizer.world(worldVocab);
  assert.equal(tokenizer.info.kind, 'world');
  assert.equal(tokenizer.info.vocabSize, 65530);
  for (const c of cases) {
    const bytes = Buffer.from(c.utf8_hex, 'hex');
    assert.deepEqual(Array.from(await tokenizer.encode(bytes)), c.ids, c.text ?? c.utf8_hex);
    assert.deepEqual(Array.from(tokenizer.encodeSync(bytes)), c.ids);
    assert.deepEqual(tokenizer.decodeBytes(c.ids), bytes);
  }
});

test('World tokenizer: random bytes round-trip exactly', async () => {
  const tokenizer = await Tokenizer.world(worldVocab);
  for (let i = 0; i < 50; i++) {
    const bytes = Buffer.from(
      Array.from({ length: 1 + Math.floor(Math.random() * 300) }, () => Math.floor(Math.random() * 256)),
    );
    assert.deepEqual(tokenizer.decodeBytes(await tokenizer.encode(bytes)), bytes);
  }
});

test('byte tokenizer: id = byte value', () => {
  const tokenizer = Tokenizer.bytes();
  assert.deepEqual(Array.from(tokenizer.encodeSync(Buffer.from([0, 34, 255]))), [0, 34, 255]);
  assert.equal(tokenizer.decode([104, 105]), 'hi');
  assert.throws(
    () => tokenizer.decode([256]),
    (e: unknown) => e instanceof EngineError && e.code === 'E_TOKEN',
  );
});

test('a vocabulary file that does not exist is refused', async () => {
  await assert.rejects(
    Tokenizer.world('/nonexistent/vocab.txt'),
    (e: unknown) => e instanceof EngineError && e.code === 'E_IO',
  );
});
