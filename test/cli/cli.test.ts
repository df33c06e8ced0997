// The CLI's JSON contracts: inspect, logits (+ --state-out in the fixtures' layout), tokenize, detokenize.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { maxAbsDiff, referenceCases, synthModel, tinyModel } from '../helpers/fixtures.ts';
import { cliEntry, worldVocab } from '../helpers/paths.ts';

const run = promisify(execFile);
const cli = async (...args: string[]) =>
  (await run(process.execPath, [cliEntry, ...args], { maxBuffer: 64 << 20 })).stdout;

test('inspect prints exactly the documented fields', async () => {
  const out = JSON.parse(await cli('inspect', synthModel));
  assert.deepEqual(out, {
    version: 'x070',
    n_layer: 3,
    n_embd: 256,
    n_head: 4,
    head_size: 64,
    vocab_size: 1024,
    ffn: 896,
    ranks: { w: 32, a: 48, v: 16, g: 64 },
    dtype: 'f32',
  });
  const tiny = JSON.parse(await cli('inspect', tinyModel.replace('fp32', 'bf16')));
  assert.equal(tiny.dtype, 'bf16');
  assert.deepEqual(tiny.ranks, { w: 32, a: 32, v: 32, g: 32 });
});

test('logits prints the last position, in sequence and one-by-one modes, and --state-out writes the raw state', async () => {
  const ref = referenceCases().find((r) => r.name === 'tiny_prompt_fox')!;
  const dir = mkdtempSync(path.join(tmpdir(), 'rwkvstream-cli-'));
  const want = ref.logits.subarray((ref.tokens.length - 1) * ref.vocab);
  for (const mode of [[], ['--one-by-one']]) {
    const stateFile = path.join(dir, `state${mode.length}.f32`);
    const out = JSON.parse(
      await cli('logits', tinyModel, '--tokens', ref.tokens.join(','), ...mode, '--state-out', stateFile),
    );
    assert.equal(out.logits.length, 256);
    assert.ok(maxAbsDiff(out.logits, want) <= 1e-4);
    const bytes = readFileSync(stateFile);
    assert.ok(maxAbsDiff(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4), ref.state) <= 1e-4);
  }
});

test('tokenize and detokenize round-trip text and raw bytes', async () => {
  assert.deepEqual(
    JSON.parse(await cli('tokenize', '--vocab', worldVocab, 'Today is a beautiful day. 今天是美好的一天。')),
    [33520, 4600, 332, 59219, 21509, 47, 33, 10381, 11639, 13091, 15597, 11685, 14734, 10250, 11639, 10080],
  );
  const ids = JSON.parse(await cli('tokenize', '--vocab', worldVocab, '--hex', 'ff80c328'));
  assert.equal((await cli('detokenize', '--vocab', worldVocab, '--ids', ids.join(','), '--hex')).trim(), 'ff80c328');
  assert.equal(await cli('detokenize', '--vocab', worldVocab, '--ids', '33520,4600'), 'Today is');
});

test('bad arguments exit non-zero with the reason', async () => {
  await assert.rejects(cli('logits', tinyModel, '--tokens', '1,x'), /--tokens must be/);
  await assert.rejects(cli('inspect', '/nonexistent.pth'), /E_IO/);
});
