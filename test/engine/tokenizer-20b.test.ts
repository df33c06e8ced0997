// The GPT-NeoX 20B tokenizer of the RWKV-4 Pile models (../shared/data/20B_tokenizer.json): known ids, round
// trips, its fingerprint, the name "20b" resolved by the models cache (services/models) to the file the engine
// takes, the automatic choice for 50277-id models, and the refusal of a tokenizer that does not fit the model.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';

import { writeCached } from '../../services/models/cache.ts';
import { ModelsError } from '../../services/models/errors.ts';
import { NEOX_20B_URL } from '../../services/models/neox-20b.ts';
import { resolveEngineOptions, resolveVocab } from '../../services/models/resolve.ts';
import { Engine, EngineError, inspectModel, Tokenizer } from '../../engine/index.ts';
import { NEOX_20B } from '../../engine/neox-20b.ts';
import { dataFile, fixture } from '../helpers/paths.ts';
import { writeRandomOlderModel } from '../helpers/random-older.ts';

const file = dataFile('20B_tokenizer.json');
const dir = mkdtempSync(path.join(tmpdir(), 'rwkvstream-20b-'));
let tokenizer: Tokenizer;

before(async () => {
  tokenizer = await Tokenizer.huggingFace(file);
});

// Ids of the GPT-NeoX tokenizer, checked against a separate byte-level BPE written from the merges list.
const KNOWN: [string, number[]][] = [
  ['Hello world', [12092, 1533]],
  ['The quick brown fox jumps over the lazy dog.', [510, 3158, 8516, 30013, 27287, 689, 253, 22658, 4370, 15]],
  ['naïve café 日本語', [2072, 30180, 36241, 209, 49868, 19119, 241]],
  ['1234567 + 89', [42594, 2251, 559, 11289]],
  ['and\n\nnewlines\n', [395, 187, 187, 1826, 8737, 187]],
  // Special tokens in the text become their ids, as with the official tokenizers library.
  ['you<|endoftext|>there', [5658, 0, 9088]],
  // Runs of spaces are the tokenizer's added whitespace tokens (50254 and up).
  ['  x', [50276, 89]],
];

test('the 20B tokenizer has 50277 ids and a stable 16-hex-digit fingerprint', async () => {
  assert.equal(tokenizer.info.kind, 'hf');
  assert.equal(tokenizer.info.vocabSize, 50277);
  assert.match(tokenizer.info.fingerprint, /^[0-9a-f]{16}$/);
  // The fingerprint is of the vocabulary, not of the file's formatting...
  const reformatted = path.join(dir, 'pretty.json');
  writeFileSync(reformatted, JSON.stringify(JSON.parse(readFileSync(file, 'utf8')), null, 2));
  assert.equal((await Tokenizer.huggingFace(reformatted)).info.fingerprint, tokenizer.info.fingerprint);
  // ... and changes with it.
  const edited = JSON.parse(readFileSync(file, 'utf8')) as { model: { merges: unknown[] } };
  edited.model.merges.pop();
  const other = path.join(dir, 'edited.json');
  writeFileSync(other, JSON.stringify(edited));
  assert.notEqual((await Tokenizer.huggingFace(other)).info.fingerprint, tokenizer.info.fingerprint);
});

test('known texts encode to their known ids', async () => {
  for (const [text, ids] of KNOWN) {
    assert.deepEqual(Array.from(tokenizer.encodeSync(text)), ids, JSON.stringify(text));
    assert.deepEqual(Array.from(await tokenizer.encode(text)), ids, JSON.stringify(text));
  }
});

test('text round-trips, and every token decodes to its exact bytes', () => {
  const texts = [
    'Plain ASCII, punctuation; and (brackets) [1, 2, 3].',
    'Tabs\tand   runs   of spaces  \n\n\n and newlines',
    'Ünïcödé — “quotes” · emoji 🦊🐕 · 中文字符 · עברית · русский',
    "contractions: I'll, you're, it's, we've, they'd",
    '<|endoftext|><|padding|>',
  ];
  for (const text of texts) {
    const ids = tokenizer.encodeSync(text);
    assert.equal(tokenizer.decode(ids), text);
    assert.equal(Buffer.concat(Array.from(ids, (id) => tokenizer.decodeBytes([id]))).toString('utf8'), text);
  }
  // A token may hold part of a UTF-8 character: its bytes come back exactly.
  assert.equal(tokenizer.decodeBytes([19119]).toString('hex'), 'e8aa');
  assert.equal(tokenizer.decodeBytes([187]).toString(), '\n');
  assert.throws(
    () => tokenizer.decodeBytes([50277]),
    (e: unknown) => e instanceof EngineError && e.code === 'E_TOKEN',
  );
});

test('"20b" names the tokenizer in the models cache; offline without it, the error says how to give it', async () => {
  // The engine takes files only: the name is the models cache's to resolve.
  await assert.rejects(
    Tokenizer.load('20b'),
    (e: unknown) => e instanceof EngineError && e.code === 'E_TOKENIZER' && /20B_tokenizer\.json/.test(e.message),
  );

  const empty = path.join(dir, 'empty-home');
  await assert.rejects(
    resolveVocab({
      vocab: '20b',
      home: empty,
      offline: true,
      hfEndpoint: 'https://huggingface.co',
      vocabUrl: 'https://example.invalid/v',
    }),
    (e: unknown) =>
      e instanceof ModelsError &&
      e.code === 'E_VOCAB_NOT_FOUND' &&
      /--vocab/.test(e.message) &&
      /offline/.test(e.message),
  );

  const home = path.join(dir, 'home');
  const vocabDir = path.join(home, 'vocab', NEOX_20B.name);
  mkdirSync(vocabDir, { recursive: true });
  copyFileSync(file, path.join(vocabDir, NEOX_20B.file));
  await writeCached(home, {
    kind: 'vocab',
    name: NEOX_20B.name,
    file: NEOX_20B.file,
    url: NEOX_20B_URL,
    sha256: NEOX_20B.sha256,
    size: NEOX_20B.size,
    pulledAt: new Date().toISOString(),
  });
  const config = { home, offline: true, hfEndpoint: 'https://huggingface.co', vocabUrl: 'https://example.invalid/v' };
  const resolved = await resolveVocab({ ...config, vocab: '20b' });
  assert.equal(resolved.from, 'cache');
  const named = await Tokenizer.neox20b(resolved.vocab);
  assert.equal(named.info.fingerprint, tokenizer.info.fingerprint);

  // A 50277-id model gets the 20B tokenizer without being told (its header says how many ids), and runs a text.
  const model = path.join(dir, 'v4-50277.safetensors');
  writeRandomOlderModel(model, { version: 'v4', vocab: 50277, embd: 32, layers: 1 });
  assert.equal((await inspectModel(model)).vocabSize, 50277);
  const options = await resolveEngineOptions(
    { ...config, model, weights: 'f32', threads: 1, device: 'cpu' },
    { modelVocabSize: (await inspectModel(model)).vocabSize },
  );
  assert.equal(options.vocab.vocab, resolved.vocab);
  const engine = await Engine.load(options.options);
  try {
    assert.equal(engine.model.info.version, 'v4');
    assert.equal(engine.tokenizer.info.fingerprint, tokenizer.info.fingerprint);
    const logits = await engine.model.forward(
      engine.tokenizer.encodeSync('Hello world'),
      engine.model.newState(),
      'last',
    );
    assert.equal(logits!.length, 50277);
    assert.ok(logits!.every(Number.isFinite));
  } finally {
    engine.dispose();
  }
  // The engine alone does not look for it: it says which tokenizer to give.
  await assert.rejects(
    Engine.load({ model, threads: 1 }),
    (e: unknown) =>
      e instanceof EngineError && e.code === 'E_TOKENIZER_MISMATCH' && /20B_tokenizer\.json/.test(e.message),
  );
});

test('a model whose vocabulary does not fit the 20B tokenizer is refused', async () => {
  await assert.rejects(
    Engine.load({ model: fixture('older', 'random-v4-L2-C128.pth'), vocab: file }),
    (e: unknown) =>
      e instanceof EngineError && e.code === 'E_TOKENIZER_MISMATCH' && /50277/.test(e.message) && /512/.test(e.message),
  );
});
