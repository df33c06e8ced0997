// `models pull` end to end against a local hub: the listing picks the newest release, the model and the World
// vocabulary land verified in the cache, a second pull downloads nothing, a newer release replaces the old
// file, the vocabulary falls back to its second source, and bad names and repositories are refused.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import {
  ModelsError,
  WORLD_VOCAB,
  listModels,
  pullModel,
  pullVocab,
  type PullOptions,
} from '../../services/models/index.ts';
import { worldVocab } from '../helpers/paths.ts';
import { FakeHub, smallCatalog } from './fake-hub.ts';

const older = randomBytes(190_000);
const newer = randomBytes(200_000);
const vocab = readFileSync(worldVocab);

const hub = new FakeHub([
  { repo: 'BlinkDL/rwkv7-g1', path: 'rwkv7-g1-0.1b-20250307-ctx4096.pth', content: older },
  { repo: 'BlinkDL/rwkv7-g1', path: 'rwkv7a-g1b-0.1b-20250819-ctx4096.pth', content: randomBytes(200_000) },
  { repo: 'BlinkDL/rwkv7-g1', path: 'README.md', content: Buffer.from('# models\n') },
  { repo: 'BlinkDL/rwkv-7-world', path: WORLD_VOCAB.file, content: vocab },
  {
    repo: 'BlinkDL/rwkv-7-world',
    path: 'RWKV-x070-World-0.1B-v2.8-20241210-ctx4096.pth',
    content: randomBytes(210_000),
  },
]);

before(async () => {
  await hub.start();
});
after(async () => {
  await hub.close();
});

function options(home: string, overrides: Partial<PullOptions> = {}): PullOptions {
  return {
    home,
    hfEndpoint: hub.url,
    vocabUrl: `${hub.url}/raw/${WORLD_VOCAB.file}`,
    catalog: smallCatalog,
    retryDelayMs: 0,
    ...overrides,
  };
}

const tmpHome = (): string => mkdtempSync(path.join(tmpdir(), 'rwkvstream-pull-'));

async function rejected(promise: Promise<unknown>): Promise<ModelsError> {
  const err = await promise.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ModelsError, String(err));
  return err;
}

test('pull downloads the newest release and the vocabulary; a second pull downloads nothing; a newer release replaces it', async () => {
  const home = tmpHome();
  hub.behaviour.redirect = true;
  const first = await pullModel('g1-0.1b', options(home));
  hub.behaviour.redirect = false;
  assert.equal(first.model.downloaded, true);
  assert.equal(first.model.artifact.file, 'rwkv7-g1-0.1b-20250307-ctx4096.pth');
  assert.equal(first.model.artifact.path, path.join(home, 'models', 'g1-0.1b', 'rwkv7-g1-0.1b-20250307-ctx4096.pth'));
  assert.deepEqual(readFileSync(first.model.artifact.path), older);
  assert.equal(first.vocab.downloaded, true);
  assert.equal(first.vocab.artifact.sha256, WORLD_VOCAB.sha256);
  assert.deepEqual(readFileSync(first.vocab.artifact.path), vocab);

  const listing = await listModels(home, smallCatalog);
  assert.equal(listing.models.find((m) => m.name === 'g1-0.1b')?.cached?.path, first.model.artifact.path);
  assert.equal(listing.models.find((m) => m.name === 'world-0.1b')?.cached, null);
  assert.equal(listing.vocab.cached?.path, first.vocab.artifact.path);

  const downloadsBefore = hub.downloads().length;
  const again = await pullModel('g1-0.1b', options(home));
  assert.equal(again.model.downloaded, false);
  assert.equal(again.vocab.downloaded, false);
  assert.equal(hub.downloads().length, downloadsBefore);

  hub.files.push({ repo: 'BlinkDL/rwkv7-g1', path: 'rwkv7-g1a-0.1b-20250728-ctx4096.pth', content: newer });
  try {
    const updated = await pullModel('g1-0.1b', options(home));
    assert.equal(updated.model.downloaded, true);
    assert.equal(updated.model.replaced, 'rwkv7-g1-0.1b-20250307-ctx4096.pth');
    assert.deepEqual(readFileSync(updated.model.artifact.path), newer);
    assert.equal(existsSync(first.model.artifact.path), false);
  } finally {
    hub.files.pop();
  }
});

test('a file of a repository can be pulled by OWNER/REPO:FILE, and a missing one lists what is there', async () => {
  const home = tmpHome();
  const pulled = await pullModel('BlinkDL/rwkv-7-world:RWKV-x070-World-0.1B-v2.8-20241210-ctx4096.pth', options(home));
  assert.equal(pulled.model.artifact.name, 'RWKV-x070-World-0.1B-v2.8-20241210-ctx4096');
  const listing = await listModels(home, smallCatalog);
  const extra = listing.models.find((m) => m.name === pulled.model.artifact.name)!;
  assert.equal(extra.family, null);
  assert.equal(extra.cached?.size, 210_000);

  const err = await rejected(pullModel('BlinkDL/rwkv-7-world:nope.pth', options(home)));
  assert.equal(err.code, 'E_MODEL_NOT_FOUND');
  assert.match(err.message, /RWKV-x070-World-0\.1B-v2\.8-20241210-ctx4096\.pth/);
});

test('a paginated listing is followed to its end', async () => {
  hub.behaviour.pageSize = 1;
  try {
    const pulled = await pullModel('world-0.1b', options(tmpHome()));
    assert.equal(pulled.model.artifact.file, 'RWKV-x070-World-0.1B-v2.8-20241210-ctx4096.pth');
    assert.ok(hub.requests.filter((r) => r.url.includes('cursor=')).length >= 2);
  } finally {
    hub.behaviour.pageSize = 0;
  }
});

test('the vocabulary comes from the second source when the repository has no copy, and is checked against its pinned sha256', async () => {
  const index = hub.files.findIndex((f) => f.path === WORLD_VOCAB.file);
  const [entry] = hub.files.splice(index, 1);
  try {
    hub.behaviour.raw.set(`/raw/${WORLD_VOCAB.file}`, vocab);
    const home = tmpHome();
    const pulled = await pullVocab(options(home));
    assert.equal(pulled.artifact.url, `${hub.url}/raw/${WORLD_VOCAB.file}`);
    assert.deepEqual(readFileSync(pulled.artifact.path), vocab);

    const tampered = Buffer.from(vocab);
    tampered[100] = tampered[100]! ^ 1;
    hub.behaviour.raw.set(`/raw/${WORLD_VOCAB.file}`, tampered);
    const err = await rejected(pullVocab(options(tmpHome())));
    assert.equal(err.code, 'E_DOWNLOAD');
    assert.match(err.message, /has no rwkv_vocab_v20230424\.txt/);
    assert.match(err.message, new RegExp(`expected ${WORLD_VOCAB.sha256}`));
  } finally {
    hub.files.splice(index, 0, entry!);
    hub.behaviour.raw.clear();
  }
});

test('unknown names and repositories are refused with what to use instead', async () => {
  const home = tmpHome();
  const unknown = await rejected(pullModel('g1-9b', options(home)));
  assert.equal(unknown.code, 'E_MODEL_UNKNOWN');
  assert.match(unknown.message, /g1-0\.1b/);
  const noRepo = await rejected(pullModel('someone/nothing:x.pth', options(home)));
  assert.equal(noRepo.code, 'E_HF_API');
  assert.match(noRepo.message, /no such repository/);
  const missing = await rejected(pullModel('g1-2.9b', options(home)));
  assert.equal(missing.code, 'E_MODEL_NOT_FOUND');
  assert.match(missing.message, /no file in BlinkDL\/rwkv7-g1 looks like g1-2\.9b/);
});
