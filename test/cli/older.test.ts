// The CLI on RWKV-4/5/6 models: inspect reports each version with the fields documented for it, and
// `logits --state-out` writes the official state layout of each version (fixtures/older); --tuned-state starts
// from a state-tuning file.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { maxAbsDiff } from '../helpers/fixtures.ts';
import { cliEntry, fixture } from '../helpers/paths.ts';

const run = promisify(execFile);
const cli = async (...args: string[]) =>
  (await run(process.execPath, [cliEntry, ...args], { maxBuffer: 64 << 20 })).stdout;
const dir = mkdtempSync(path.join(tmpdir(), 'rwkvstream-cli-older-'));

test('inspect reports every older version with its own fields', async () => {
  assert.deepEqual(JSON.parse(await cli('inspect', fixture('older', 'random-v6-L2-C128.pth'))), {
    version: 'x060',
    n_layer: 2,
    n_embd: 128,
    n_head: 2,
    head_size: 64,
    vocab_size: 512,
    ffn: 448,
    ranks: { decay: 64, mix: 32 },
    dtype: 'bf16',
  });
  assert.deepEqual(JSON.parse(await cli('inspect', fixture('older', 'random-v5.2-L2-C128.pth'))), {
    version: 'x052',
    n_layer: 2,
    n_embd: 128,
    n_head: 2,
    head_size: 64,
    vocab_size: 512,
    ffn: 512,
    dtype: 'bf16',
  });
  assert.deepEqual(JSON.parse(await cli('inspect', fixture('older', 'random-v4-L2-C128.pth'))), {
    version: 'v4',
    n_layer: 2,
    n_embd: 128,
    vocab_size: 512,
    ffn: 512,
    dtype: 'bf16',
  });
  const v51 = JSON.parse(await cli('inspect', fixture('older', 'tiny-rwkv-5v1-730K-FP32.bin')));
  assert.equal(v51.version, 'x050');
  assert.equal(v51.n_head * v51.head_size, v51.n_embd);
  assert.equal(JSON.parse(await cli('inspect', fixture('older', 'tiny-rwkv-5v2-730K-FP16.bin'))).dtype, 'f16');
});

for (const stem of ['random-v4-L2-C128', 'random-v5.2-L2-C128', 'random-v6-L2-C128']) {
  test(`logits --state-out writes ${stem}'s official state layout`, async () => {
    const expected = JSON.parse(readFileSync(fixture('older', `${stem}.expected.json`), 'utf8')) as {
      tokens: number[];
      logits: number[];
    };
    const wantState = readFileSync(fixture('older', `${stem}.expected.state.f32`));
    const stateFile = path.join(dir, `${stem}.f32`);
    const out = JSON.parse(
      await cli(
        'logits',
        fixture('older', `${stem}.pth`),
        '--tokens',
        expected.tokens.join(','),
        '--state-out',
        stateFile,
      ),
    );
    // The official outputs to fp32 compute's 1e-4 (test/engine/older.test.ts).
    assert.ok(
      maxAbsDiff(out.logits, expected.logits) <= 1e-4,
      `logits max |Δ| ${maxAbsDiff(out.logits, expected.logits)}`,
    );
    const got = readFileSync(stateFile);
    assert.equal(got.length, wantState.length);
    const f32 = (b: Buffer) => new Float32Array(b.buffer, b.byteOffset, b.length / 4);
    assert.ok(maxAbsDiff(f32(got), f32(wantState)) <= 1e-4, `state max |Δ| ${maxAbsDiff(f32(got), f32(wantState))}`);
    // The written state continues a document exactly: --state-in resumes where --state-out stopped.
    const half = expected.tokens.length / 2;
    const first = path.join(dir, `${stem}-half.f32`);
    await cli(
      'logits',
      fixture('older', `${stem}.pth`),
      '--tokens',
      expected.tokens.slice(0, half).join(','),
      '--state-out',
      first,
    );
    const resumed = JSON.parse(
      await cli(
        'logits',
        fixture('older', `${stem}.pth`),
        '--tokens',
        expected.tokens.slice(half).join(','),
        '--state-in',
        first,
        '--one-by-one',
      ),
    );
    assert.ok(maxAbsDiff(resumed.logits, out.logits) <= 1e-5);
  });
}

test('logits --tuned-state starts from a state-tuning file', async () => {
  const H = 2,
    N = 64;
  const data = Float32Array.from({ length: H * N * N }, (_, i) => Math.cos(i * 0.11) * 0.7);
  const header = JSON.stringify({
    'blocks.0.att.time_state': { dtype: 'F32', shape: [H, N, N], data_offsets: [0, data.byteLength] },
    'blocks.1.att.time_state': { dtype: 'F32', shape: [H, N, N], data_offsets: [data.byteLength, 2 * data.byteLength] },
  });
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(header)));
  const tuning = path.join(dir, 'tuning.safetensors');
  writeFileSync(tuning, Buffer.concat([len, Buffer.from(header), Buffer.from(data.buffer), Buffer.from(data.buffer)]));
  const model = fixture('older', 'random-v6-L2-C128.pth');
  const plain = JSON.parse(await cli('logits', model, '--tokens', '5'));
  const tuned = JSON.parse(await cli('logits', model, '--tokens', '5', '--tuned-state', tuning));
  assert.ok(maxAbsDiff(plain.logits, tuned.logits) > 0.1);
  await assert.rejects(
    cli('logits', model, '--tokens', '5', '--tuned-state', tuning, '--state-in', tuning),
    /not both/,
  );
});
