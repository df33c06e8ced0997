// The catalog against release file names as BlinkDL publishes them: the newest G1 release of a size wins,
// other architectures (rwkv7a) and other sizes never match, and a file of the wrong size is refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { formatFromFileName } from '../../schemas/prompt-formats.ts';
import type { HfTreeEntry } from '../../schemas/models.ts';
import {
  DEFAULT_MODEL_NAME,
  MODEL_CATALOG,
  ModelsError,
  catalogMarkdown,
  findCatalogModel,
  parsePullSpec,
  pickModelFile,
} from '../../services/models/index.ts';

const file = (path: string, size: number): HfTreeEntry => ({
  type: 'file',
  path,
  size,
  lfs: { oid: 'a'.repeat(64), size },
});

const g1Listing: HfTreeEntry[] = [
  file('rwkv7-g1-0.1b-20250307-ctx4096.pth', 382_000_000),
  file('rwkv7-g1a-0.1b-20250728-ctx4096.pth', 382_000_000),
  file('rwkv7a-g1b-0.1b-20250819-ctx4096.pth', 420_000_000),
  file('rwkv7-g1-0.4b-20250324-ctx4096.pth', 902_000_000),
  file('rwkv7-g1a-0.4b-20250905-ctx4096.pth', 902_000_000),
  file('rwkv7-g1-1.5b-20250429-ctx4096.pth', 3_055_000_000),
  file('rwkv7-g1a2-1.5b-20251005-ctx8192.pth', 3_055_000_000),
  file('rwkv7-g1-2.9b-20250519-ctx4096.pth', 5_900_000_000),
  file('rwkv7-g0-7.2b-20250722-ctx4096.pth', 14_400_000_000),
  file('rwkv7-g1c-7.2b-20251231-ctx8192.pth', 14_400_000_000),
  file('README.md', 3000),
];

const worldListing: HfTreeEntry[] = [
  file('RWKV-x070-World-0.1B-v2.8-20241210-ctx4096.pth', 382_000_000),
  file('RWKV-x070-World-0.4B-v2.9-20250107-ctx4096.pth', 902_000_000),
  file('RWKV-x070-World-1.5B-v3-20250127-ctx4096.pth', 3_055_000_000),
  file('RWKV-x070-World-2.9B-v3-20250211-ctx4096.pth', 5_900_000_000),
];

test('every catalog model picks the newest release of its size and family', () => {
  const want: Record<string, string> = {
    'g1-0.1b': 'rwkv7-g1a-0.1b-20250728-ctx4096.pth',
    'g1-0.4b': 'rwkv7-g1a-0.4b-20250905-ctx4096.pth',
    'g1-1.5b': 'rwkv7-g1a2-1.5b-20251005-ctx8192.pth',
    'g1-2.9b': 'rwkv7-g1-2.9b-20250519-ctx4096.pth',
    'g1-7.2b': 'rwkv7-g1c-7.2b-20251231-ctx8192.pth',
    'world-0.1b': 'RWKV-x070-World-0.1B-v2.8-20241210-ctx4096.pth',
    'world-0.4b': 'RWKV-x070-World-0.4B-v2.9-20250107-ctx4096.pth',
    'world-1.5b': 'RWKV-x070-World-1.5B-v3-20250127-ctx4096.pth',
    'world-2.9b': 'RWKV-x070-World-2.9B-v3-20250211-ctx4096.pth',
  };
  for (const [name, expected] of Object.entries(want)) {
    const model = findCatalogModel(name)!;
    const listing = model.family === 'g1' ? g1Listing : worldListing;
    assert.equal(pickModelFile(listing, model).path, expected, name);
  }
});

test('the catalog: every size of the G series (0.1B to 13.3B), World models, and the RWKV-6/5/4 releases the engine reads', () => {
  const names = MODEL_CATALOG.map((m) => m.name);
  for (const size of ['0.1b', '0.4b', '1.5b', '2.9b', '7.2b', '13.3b']) assert.ok(names.includes(`g1-${size}`), size);
  for (const family of ['world', 'world6', 'world5', 'world4', 'raven4', 'pile4'])
    assert.ok(
      MODEL_CATALOG.some((m) => m.family === family),
      family,
    );
  // In a listing of every known release, each entry picks its own file: no pattern takes another size or family.
  const all = MODEL_CATALOG.map((m) => file(m.file, m.fileBytes));
  for (const model of MODEL_CATALOG) {
    assert.equal(pickModelFile(all, model).path, model.file, model.name);
    // The format the catalog gives is the one the release's file name implies.
    assert.equal(formatFromFileName(model.file), model.promptFormat, model.name);
    assert.equal(model.vocabSize, model.tokenizer === 'world' ? 65536 : 50277, model.name);
  }
  assert.equal(findCatalogModel('g1-13.3b')!.file, 'rwkv7-g1d-13.3b-20260131-ctx8192.pth');
  assert.equal(findCatalogModel('raven4-7b')!.promptFormat, 'raven');
  assert.equal(findCatalogModel('pile4-169m')!.repo, 'BlinkDL/rwkv-4-pile-169m');
});

test('a matching name of the wrong size is refused, naming what was found', () => {
  const model = findCatalogModel('g1-0.1b')!;
  assert.throws(
    () => pickModelFile([file('rwkv7-g1a-0.1b-20250728-ctx4096.pth', 760_000_000)], model),
    (err: unknown) =>
      err instanceof ModelsError &&
      err.code === 'E_MODEL_NOT_FOUND' &&
      /760 MB/.test(err.message) &&
      /382 MB/.test(err.message),
  );
  assert.throws(
    () => pickModelFile([file('rwkv7a-g1b-0.1b-20250819-ctx4096.pth', 382_000_000)], model),
    (err: unknown) => err instanceof ModelsError && /BlinkDL\/rwkv7-g1:FILE/.test(err.message),
  );
});

test('pull specs: catalog names (any case), the vocabulary, and OWNER/REPO:FILE', () => {
  assert.equal(parsePullSpec('G1-0.4B').kind, 'catalog');
  assert.deepEqual(parsePullSpec('vocab'), { kind: 'vocab' });
  assert.deepEqual(parsePullSpec('BlinkDL/rwkv7-g1:sub/rwkv7-g1a-0.1b-20250728-ctx4096.pth'), {
    kind: 'file',
    repo: 'BlinkDL/rwkv7-g1',
    path: 'sub/rwkv7-g1a-0.1b-20250728-ctx4096.pth',
    name: 'rwkv7-g1a-0.1b-20250728-ctx4096',
  });
  assert.throws(
    () => parsePullSpec('g2-0.1b'),
    (err: unknown) => err instanceof ModelsError && err.code === 'E_MODEL_UNKNOWN' && /g1-0\.1b/.test(err.message),
  );
});

test('the catalog table lists every model with its repository, dimensions, download and memory', () => {
  const table = catalogMarkdown().split('\n');
  assert.equal(table.length, MODEL_CATALOG.length + 2);
  const row = table.find((r) => r.includes(`\`${DEFAULT_MODEL_NAME}\``))!;
  assert.match(row, /\(default\)/);
  assert.match(row, /BlinkDL\/rwkv7-g1/);
  assert.match(row, /12 x 768/);
  assert.match(row, /382 MB/);
});
