// Long engine calls run off the event loop: timers keep firing while a forward is in flight, and several
// calls can be awaited together.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Model, Tokenizer } from '../../engine/index.ts';
import { tinyModel } from '../helpers/fixtures.ts';
import { worldVocab } from '../helpers/paths.ts';

test('a timer keeps firing during a long forward', async () => {
  const model = await Model.load({ model: tinyModel, threads: 1 });
  try {
    const tokens = new Int32Array(60_000).map((_, i) => 32 + (i % 90));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    await model.forward(tokens, model.newState(), 'none');
    const elapsed = performance.now() - started;
    clearInterval(timer);
    assert.ok(elapsed > 50, `forward took only ${elapsed.toFixed(1)} ms; make the input longer`);
    // A blocked loop would give 0 ticks; allow for a slow, loaded machine.
    assert.ok(ticks >= Math.floor(elapsed / 5 / 4), `${ticks} ticks in ${elapsed.toFixed(0)} ms`);
  } finally {
    model.dispose();
  }
});

test('two calls in flight together both complete with the results of running them alone', async () => {
  const tokenizer = await Tokenizer.world(worldVocab);
  const text = 'Streaming logs, documents and 多语言 text through an RNN. '.repeat(70_000);
  const [a, b] = await Promise.all([tokenizer.encode(text), tokenizer.encode(text.slice(0, 1000))]);
  assert.ok(a.length > 500_000);
  assert.equal(tokenizer.decode(a), text);
  assert.deepEqual(b, tokenizer.encodeSync(text.slice(0, 1000)));
});
