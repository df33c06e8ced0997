// `rwkvstream models pull|list` as a user runs them, against the local hub (RWKVSTREAM_HF_ENDPOINT).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import { ModelListingSchema } from '../../schemas/models.ts';
import { MODEL_CATALOG, WORLD_VOCAB } from '../../services/models/index.ts';
import { cliEntry, worldVocab } from '../helpers/paths.ts';
import { FakeHub } from './fake-hub.ts';

const run = promisify(execFile);
const model = randomBytes(150_000);
const FILE = 'RWKV-x070-World-0.1B-v2.8-20241210-ctx4096.pth';
const hub = new FakeHub([
  { repo: 'BlinkDL/rwkv-7-world', path: FILE, content: model },
  { repo: 'BlinkDL/rwkv-7-world', path: WORLD_VOCAB.file, content: readFileSync(worldVocab) },
]);
const home = mkdtempSync(path.join(tmpdir(), 'rwkvstream-models-cli-'));

before(async () => {
  await hub.start();
});
after(async () => {
  await hub.close();
});

const cli = (...args: string[]) =>
  run(process.execPath, [cliEntry, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: home, RWKVSTREAM_HOME: home, RWKVSTREAM_HF_ENDPOINT: hub.url },
  });

test('models pull downloads a repository file and the vocabulary, with progress on stderr and JSON on stdout', async () => {
  const { stdout, stderr } = await cli('models', 'pull', `BlinkDL/rwkv-7-world:${FILE}`, '--json');
  const out = JSON.parse(stdout);
  assert.equal(out.model.file, FILE);
  assert.equal(out.model.downloaded, true);
  assert.deepEqual(readFileSync(out.model.path), model);
  assert.equal(out.vocab.sha256, WORLD_VOCAB.sha256);
  assert.match(stderr, new RegExp(`^${FILE.replaceAll('.', '\\.')}: 150 kB in \\d+s`, 'm'));
  assert.match(stderr, /^rwkv_vocab_v20230424\.txt: 1\.09 MB in /m);

  const again = await cli('models', 'pull', `BlinkDL/rwkv-7-world:${FILE}`, '--quiet');
  assert.equal(again.stderr, '');
  assert.match(again.stdout, /already cached/);
});

test('models list shows the catalog, what is cached and the vocabulary, as JSON or a table', async () => {
  const listing = ModelListingSchema.parse(JSON.parse((await cli('models', 'list', '--json')).stdout));
  assert.equal(listing.home, home);
  assert.equal(listing.models.length, MODEL_CATALOG.length + 1);
  assert.ok(listing.models.filter((m) => m.family !== null).every((m) => m.cached === null));
  assert.equal(listing.models.at(-1)?.cached?.file, FILE);
  assert.equal(listing.vocab.cached?.size, WORLD_VOCAB.size);

  const table = (await cli('models', 'list')).stdout;
  assert.match(
    table,
    /^model +params +layers x width +download +RAM f32 \/ bf16 +fits here +speed \(2-core CPU\) +format +cached$/m,
  );
  assert.match(
    table,
    /^g1-0\.1b \(default\) +191M +12 x 768 +382 MB +1\.03 GB \/ 650 MB +yes +fast \(943 tok\/s\) +rwkv7-g +-$/m,
  );
  assert.match(
    table,
    /^g1-13\.3b +13\.25B +61 x 4096 +26\.5 GB +53\.3 GB \/ 26\.8 GB +(yes|bf16|no) +slow \(14 tok\/s\) +rwkv7-g +-$/m,
  );
  assert.match(table, /^raven4-7b .* raven +-$/m);
  const g1 = listing.models.find((m) => m.name === 'g1-13.3b')!;
  assert.equal(
    g1.fits,
    g1.ramBytes!.f32 <= listing.memory ? 'yes' : g1.ramBytes!.bf16 <= listing.memory ? 'bf16' : 'no',
  );
  assert.equal(listing.models.at(-1)?.fits, null, 'a model outside the catalog has no known size');
  assert.match(table, new RegExp(`vocabulary: ${home}`));
});

test('a catalog model whose listed file is far from the expected size is refused with the reason', async () => {
  const err = await cli('models', 'pull', 'world-0.1b').then(
    () => assert.fail('expected a failure'),
    (e: { code: number; stderr: string }) => e,
  );
  assert.equal(err.code, 1);
  assert.match(
    err.stderr,
    /^rwkvstream: E_MODEL_NOT_FOUND: BlinkDL\/rwkv-7-world has RWKV-x070-World-0\.1B.* \(150 kB\), but world-0\.1b should be about 382 MB/m,
  );
});
