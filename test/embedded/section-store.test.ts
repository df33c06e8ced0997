// Sections in the embedded result store: first write wins, read back in order up to the first gap, and a
// damaged section file is refused by name.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { FileResultStore } from '../../services/adapters/files/result-store.ts';

test('file result store: sections are kept once each and read in order up to the first missing one', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rwkvstream-sections-'));
  try {
    const store = new FileResultStore(dir);
    assert.equal(await store.saveSection('doc/1', 0, '{"section":0}'), '{"section":0}');
    assert.equal(await store.saveSection('doc/1', 0, '{"section":"other"}'), '{"section":0}', 'the first write wins');
    await store.saveSection('doc/1', 1, '{"section":1}');
    await store.saveSection('doc/1', 3, '{"section":3}');
    assert.deepEqual(await store.getSections('doc/1'), ['{"section":0}', '{"section":1}'], 'stops at the gap at 2');
    assert.deepEqual(await store.getSections('doc/1', 1, 2), ['{"section":1}']);
    assert.deepEqual(await store.getSections('doc/1', 3), ['{"section":3}']);
    assert.deepEqual(await store.getSections('other'), []);

    // A fresh store (a resumed process) reads the same from the files; a damaged one is refused with a code.
    const again = new FileResultStore(dir);
    assert.equal(await again.saveSection('doc/1', 1, '{"section":"late"}'), '{"section":1}');
    assert.deepEqual(await again.getSections('doc/1'), ['{"section":0}', '{"section":1}']);
    const file = readdirSync(dir).find((name) => name.startsWith('section-') && name.endsWith('-3.json'))!;
    writeFileSync(path.join(dir, file), '{"sect');
    await assert.rejects(new FileResultStore(dir).getSections('doc/1', 3), { code: 'E_CHECKPOINT_CORRUPT' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
