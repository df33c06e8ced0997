// Streaming tokenization gives exactly the ids of tokenizing the whole text, whatever the window and however
// the bytes arrive (including pieces that split UTF-8 characters and invalid UTF-8).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { StreamTokenizer } from '../../pipelines/tokenize-stream.ts';
import { Tokenizer } from '../../engine/index.ts';
import { dataFile, sharedDir, worldVocab } from '../helpers/paths.ts';

async function streamed(tokenizer: Tokenizer, bytes: Buffer, window: number, piece: number): Promise<number[]> {
  const st = new StreamTokenizer(tokenizer, window);
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i += piece) out.push(...(await st.push(bytes.subarray(i, i + piece))));
  out.push(...(await st.end()));
  return out;
}

test('World tokenizer: streamed ids equal whole-text ids for every window and piece size', async () => {
  const tokenizer = await Tokenizer.world(worldVocab);
  const text = Buffer.concat([
    readFileSync(`${sharedDir}/docs/rwkv7-spec.md`),
    Buffer.from('日本語のテキスト、émigré naïve — 😀😀 '.repeat(40)),
    Buffer.from([0xff, 0xc3, 0x28, 0xe2, 0x82]),
    Buffer.from('\n\n\n    indented    spaces\t\t\n'.repeat(30)),
  ]);
  const whole = Array.from(await tokenizer.encode(text));
  for (const [window, piece] of [
    [512, 100],
    [777, 333],
    [4096, 1],
    [1 << 20, 65536],
    [600, 7000],
  ] as const) {
    assert.deepEqual(await streamed(tokenizer, text, window, piece), whole, `window ${window}, piece ${piece}`);
  }
});

test('byte tokenizer: streamed ids are the bytes', async () => {
  const tokenizer = Tokenizer.bytes();
  const bytes = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 31) % 256));
  assert.deepEqual(await streamed(tokenizer, bytes, 100, 37), Array.from(bytes));
});

test('a BPE tokenizer (20B) is not cut into windows: the ids are those of the whole text', async () => {
  const tokenizer = await Tokenizer.huggingFace(dataFile('20B_tokenizer.json'));
  const text = Buffer.from('Hello   world,\n\n  the quick brown fox — jumps; ünïcödé 12345 '.repeat(300));
  assert.deepEqual(await streamed(tokenizer, text, 512, 100), Array.from(await tokenizer.encode(text)));
});
