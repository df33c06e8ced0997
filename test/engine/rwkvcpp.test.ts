// rwkv.cpp's own expected logits for its tiny RWKV-7 model (bytes `"in` fed one at a time), read from both
// its FP32 and FP16 ggml files and from the official-layout .pth conversions.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { Model } from '../../engine/index.ts';
import { maxAbsDiff } from '../helpers/fixtures.ts';
import { fixture } from '../helpers/paths.ts';

const bytes = readFileSync(fixture('rwkv7', 'expected-logits-7v0-834K.bin'));
const expected = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));

const cases: [string, number][] = [
  ['tiny-rwkv-7v0-834K-FP32.bin', 1e-4],
  ['tiny-rwkv7-834K-fp32.pth', 1e-4],
  ['tiny-rwkv7-834K-bf16.pth', 1e-4],
  // fp16 matrices: judged at the half-precision level, plus top-1 agreement.
  ['tiny-rwkv-7v0-834K-FP16.bin', 2e-2],
];

for (const [file, tol] of cases) {
  test(`${file} reproduces rwkv.cpp's expected logits`, async () => {
    const model = await Model.load({ model: fixture('rwkv7', file) });
    try {
      const state = model.newState();
      let logits: Float32Array | null = null;
      for (const t of [34, 105, 110]) logits = await model.forward([t], state, 'last');
      assert.ok(logits);
      const diff = maxAbsDiff(logits, expected);
      assert.ok(diff <= tol, `max |Δ| ${diff} > ${tol}`);
      const sum = logits.reduce((s, v, i) => s + (v - expected[i]!), 0);
      assert.ok(Math.abs(sum) <= 0.0058 * 1.05, `|Σ Δ| ${Math.abs(sum)}`);
      assert.equal(logits.indexOf(Math.max(...logits)), 32, 'argmax');
    } finally {
      model.dispose();
    }
  });
}
