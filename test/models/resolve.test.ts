// Which model and vocabulary a command gets: configured file or name, then the cache (default model first),
// then a download of the default; offline or failing, the error lists the three ways to give one.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { loadConfig } from '../../services/config/index.ts';
import {
  ModelsError,
  WORLD_VOCAB,
  pullModel,
  resolveEngineOptions,
  resolveModel,
  resolveVocab,
  type ResolveOptions,
} from '../../services/models/index.ts';
import { tinyModel } from '../helpers/fixtures.ts';
import { worldVocab } from '../helpers/paths.ts';
import { FakeHub, smallCatalog } from './fake-hub.ts';

const g1 = randomBytes(200_000);
const hub = new FakeHub([
  { repo: 'BlinkDL/rwkv7-g1', path: 'rwkv7-g1a-0.1b-20250728-ctx4096.pth', content: g1 },
  { repo: 'BlinkDL/rwkv7-g1', path: 'rwkv7-g1a-0.4b-20250905-ctx4096.pth', content: randomBytes(200_000) },
  { repo: 'BlinkDL/rwkv-7-world', path: WORLD_VOCAB.file, content: readFileSync(worldVocab) },
]);

before(async () => {
  await hub.start();
});
after(async () => {
  await hub.close();
});

const opts: ResolveOptions = { catalog: smallCatalog };

async function configure(flags: Record<string, string | boolean> = {}, env: NodeJS.ProcessEnv = {}) {
  const home = mkdtempSync(path.join(tmpdir(), 'rwkvstream-resolve-'));
  const loaded = await loadConfig({
    flags,
    env: {
      RWKVSTREAM_HOME: home,
      RWKVSTREAM_HF_ENDPOINT: hub.url,
      RWKVSTREAM_VOCAB_URL: `${hub.url}/raw/none`,
      ...env,
    },
  });
  return { ...loaded, home };
}

async function rejected(promise: Promise<unknown>): Promise<ModelsError> {
  const err = await promise.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ModelsError, String(err));
  return err;
}

const THREE_WAYS = [/--model FILE/, /RWKVSTREAM_MODEL=FILE/, /rwkvstream models pull g1-0\.1b/];

test('a configured model file is used as it is', async () => {
  const { config, origin } = await configure({}, { RWKVSTREAM_MODEL: tinyModel });
  assert.deepEqual(await resolveModel(config, { ...opts, origin }), { path: tinyModel, from: 'configured' });
});

test('a configured path that does not exist is an error naming its source', async () => {
  const { config, origin } = await configure({ model: '/nonexistent/model.pth' });
  const err = await rejected(resolveModel(config, { ...opts, origin }));
  assert.equal(err.code, 'E_MODEL_NOT_FOUND');
  assert.match(err.message, /^flag --model: \/nonexistent\/model\.pth is neither a model file nor/);
});

test('offline with nothing cached: the error gives the three ways to supply a model', async () => {
  const { config, origin } = await configure({ offline: true });
  const requests = hub.requests.length;
  const err = await rejected(resolveModel(config, { ...opts, origin }));
  assert.equal(err.code, 'E_MODEL_NOT_FOUND');
  assert.match(err.message, /offline mode is on/);
  for (const way of THREE_WAYS) assert.match(err.message, way);
  assert.equal(hub.requests.length, requests);
});

test('offline, a catalog name that is not cached says which pull command fetches it', async () => {
  const { config, origin } = await configure({}, { RWKVSTREAM_MODEL: 'g1-0.4b', RWKVSTREAM_OFFLINE: '1' });
  const err = await rejected(resolveModel(config, { ...opts, origin }));
  assert.match(err.message, /^environment RWKVSTREAM_MODEL names the model g1-0\.4b/);
  assert.match(err.message, /rwkvstream models pull g1-0\.4b/);
});

test('with nothing configured or cached the default model is downloaded, then found in the cache', async () => {
  const { config, home } = await configure();
  const first = await resolveModel(config, opts);
  assert.equal(first.from, 'download');
  assert.equal(first.name, 'g1-0.1b');
  assert.equal(first.catalog?.vocabSize, 65536);
  assert.deepEqual(readFileSync(first.path), g1);
  assert.ok(first.path.startsWith(home));
  const second = await resolveModel(config, opts);
  assert.deepEqual({ ...second, from: 'download' }, first);
  assert.equal(second.from, 'cache');
});

test('the cache serves any model when the default is absent, and a configured name from the cache', async () => {
  const { config } = await configure();
  await pullModel('g1-0.4b', {
    home: config.home,
    hfEndpoint: config.hfEndpoint,
    vocabUrl: config.vocabUrl,
    catalog: smallCatalog,
  });
  const any = await resolveModel({ ...config, offline: true }, opts);
  assert.equal(any.from, 'cache');
  assert.equal(any.name, 'g1-0.4b');
  const named = await resolveModel({ ...config, model: 'g1-0.4b', offline: true }, opts);
  assert.equal(named.path, any.path);
});

test('a failed download of the default model still says how to supply one', async () => {
  const { config } = await configure({}, { RWKVSTREAM_HF_ENDPOINT: `${hub.url}/nowhere` });
  const err = await rejected(resolveModel(config, opts));
  assert.match(err.message, /downloading g1-0\.1b failed: cannot list BlinkDL\/rwkv7-g1 at .*: no such repository/);
  for (const way of THREE_WAYS) assert.match(err.message, way);
});

test('the vocabulary: configured, bytes for 256-id models, cached, downloaded, or an error with the three ways', async () => {
  const { config, origin } = await configure();
  assert.deepEqual(await resolveVocab({ ...config, vocab: worldVocab }, { origin }), {
    vocab: worldVocab,
    from: 'configured',
  });
  assert.deepEqual(await resolveVocab(config, { modelVocabSize: 256 }), { vocab: 'bytes', from: 'model' });

  const missing = await rejected(resolveVocab({ ...config, vocab: '/nope/vocab.txt' }, { origin }));
  assert.equal(missing.code, 'E_VOCAB_NOT_FOUND');
  const offline = await rejected(resolveVocab({ ...config, offline: true }, { modelVocabSize: 65536 }));
  for (const way of [/--vocab FILE/, /RWKVSTREAM_VOCAB=FILE/, /rwkvstream models pull vocab/])
    assert.match(offline.message, way);

  const downloaded = await resolveVocab(config, { modelVocabSize: 65536 });
  assert.equal(downloaded.from, 'download');
  assert.deepEqual(readFileSync(downloaded.vocab), readFileSync(worldVocab));
  assert.deepEqual(await resolveVocab({ ...config, offline: true }), { vocab: downloaded.vocab, from: 'cache' });
  assert.deepEqual(await resolveVocab({ ...config, vocab: 'world', offline: true }), {
    vocab: downloaded.vocab,
    from: 'cache',
  });
});

test('engine options: a catalog model gets the World vocabulary, a byte-level file gets bytes', async () => {
  const { config } = await configure();
  const world = await resolveEngineOptions(config, opts);
  assert.equal(world.model.name, 'g1-0.1b');
  assert.equal(path.basename(world.options.vocab ?? ''), WORLD_VOCAB.file);
  assert.deepEqual(
    { weights: world.options.weights, threads: world.options.threads, device: world.options.device },
    { weights: 'f32', threads: 0, device: 'cpu' },
  );

  const bytes = await resolveEngineOptions({ ...config, model: tinyModel }, { ...opts, modelVocabSize: 256 });
  assert.deepEqual(bytes.options, { model: tinyModel, vocab: 'bytes', weights: 'f32', threads: 0, device: 'cpu' });
});
