// The task heads on the tiny real model, each checked against a direct computation with the engine.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import { logSumExp } from '../../pipelines/tasks/logprob.ts';
import { argmax } from '../../pipelines/tasks/sampling.ts';
import { classify, scoreEvents, summarize } from '../../pipelines/tasks/index.ts';
import { ClassifyTaskSchema, SummarizeTaskSchema } from '../../schemas/tasks.ts';
import { Engine, type RnnState } from '../../engine/index.ts';
import { maxAbsDiff, tinyModel } from '../helpers/fixtures.ts';

let engine: Engine;
let docState: RnnState;
const doc = 'The quick brown fox jumps over the lazy dog. The dog sleeps in the sun while the fox runs away.';

before(async () => {
  engine = await Engine.load({ model: tinyModel, threads: 1 });
  docState = engine.model.newState();
  await engine.model.forward(engine.tokenizer.encodeSync(doc), docState, 'none');
});

test('summarize (greedy) generates exactly what argmax decoding from the same state gives', async () => {
  const task = SummarizeTaskSchema.parse({ kind: 'summarize', template: '\nSummary:', maxTokens: 24, stop: [] });
  const out = await summarize(engine, docState.clone(), task);

  const s = docState.clone();
  let logits = (await engine.model.forward(engine.tokenizer.encodeSync(task.template), s, 'last'))!;
  const ids: number[] = [];
  while (ids.length < 24) {
    const t = argmax(logits);
    if (t === 0) break;
    ids.push(t);
    logits = (await engine.model.forward([t], s, 'last'))!;
  }
  assert.equal(out.text, engine.tokenizer.decode(ids));
  assert.equal(out.generatedTokens, ids.length);
  assert.equal(out.stopReason, ids.length === 24 ? 'max_tokens' : 'end_of_text');
  assert.deepEqual(await summarize(engine, docState.clone(), task), out, 'reproducible');
});

test('summarize stops before a stop sequence, even one spanning tokens', async () => {
  const free = await summarize(
    engine,
    docState.clone(),
    SummarizeTaskSchema.parse({ kind: 'summarize', template: '\nSummary:', maxTokens: 40, stop: [] }),
  );
  assert.ok(free.text.length >= 4, `need some generated text, got ${JSON.stringify(free.text)}`);
  const stop = free.text.slice(2, 4);
  const cut = await summarize(
    engine,
    docState.clone(),
    SummarizeTaskSchema.parse({ kind: 'summarize', template: '\nSummary:', maxTokens: 40, stop: [stop] }),
  );
  assert.equal(cut.stopReason, 'stop');
  assert.equal(cut.text, free.text.slice(0, free.text.indexOf(stop)));
});

test('summarize with sampling is reproducible by seed', async () => {
  const task = (seed: number) =>
    SummarizeTaskSchema.parse({ kind: 'summarize', maxTokens: 30, stop: [], temperature: 1, topP: 0.9, seed });
  const a = await summarize(engine, docState.clone(), task(1));
  assert.deepEqual(await summarize(engine, docState.clone(), task(1)), a);
  const others = await Promise.all(
    [2, 3, 4].map(async (seed) => (await summarize(engine, docState.clone(), task(seed))).text),
  );
  assert.ok(
    others.some((t) => t !== a.text),
    'other seeds give other text',
  );
});

test('classify scores each label by its continuation log-probability, from a fork of the state', async () => {
  const task = ClassifyTaskSchema.parse({
    kind: 'classify',
    labels: ['animals', 'finance', 'x'],
    template: '\nTopic:',
  });
  const before = docState.data.slice();
  const out = await classify(engine, docState, task);
  assert.deepEqual(docState.data, before, 'the document state is not changed');

  for (const label of out.labels) {
    // One token at a time from the document state: the log-probability of each label byte in turn.
    const s = docState.clone();
    let logits = (await engine.model.forward(engine.tokenizer.encodeSync(task.template), s, 'last'))!;
    let lp = 0;
    for (const t of engine.tokenizer.encodeSync(` ${label.label}`)) {
      lp += logits[t]! - logSumExp(logits);
      logits = (await engine.model.forward([t], s, 'last'))!;
    }
    assert.ok(Math.abs(lp - label.logprob) < 1e-3, `${label.label}: ${label.logprob} vs ${lp}`);
    assert.equal(label.tokens, label.label.length + 1);
  }
  const total = out.labels.reduce((a, l) => a + l.probability, 0);
  assert.ok(Math.abs(total - 1) < 1e-9);
  assert.equal(out.best, out.labels.reduce((a, b) => (b.probability > a.probability ? b : a)).label);

  const mean = await classify(engine, docState, { ...task, score: 'mean' });
  const shares = mean.labels.map((l) => Math.exp(l.logprob / l.tokens));
  const norm = shares.reduce((a, b) => a + b, 0);
  mean.labels.forEach((l, i) => assert.ok(Math.abs(l.probability - shares[i]! / norm) < 1e-9));
});

test('anomaly: surprise is the mean NLL of the event tokens after the separator, however the positions are split', async () => {
  const events = ['the cat sat on the mat', 'GET /index.html 200', '\u00ff\u00fe#%!~~QZXJ'].map((e) =>
    engine.tokenizer.encodeSync(e),
  );
  const sep = engine.tokenizer.encodeSync('\n');
  const whole = docState.clone();
  const scores = await scoreEvents(engine, whole, events, sep, 10_000);
  const split = docState.clone();
  const scoresSplit = await scoreEvents(engine, split, events, sep, 3);
  scores.forEach((s, i) => assert.ok(Math.abs(s.surprise - scoresSplit[i]!.surprise) < 1e-4));
  assert.ok(maxAbsDiff(whole.data, split.data) < 1e-4, 'the same state either way');
  assert.equal(whole.tokens, docState.tokens + events.reduce((n, e) => n + e.length + 1, 0));

  // Direct: one token at a time.
  const s = docState.clone();
  let logits = (await engine.model.forward(sep, s, 'last'))!;
  let nll = 0;
  for (const t of events[0]!) {
    nll -= logits[t]! - logSumExp(logits);
    logits = (await engine.model.forward([t], s, 'last'))!;
  }
  assert.ok(Math.abs(nll / events[0]!.length - scores[0]!.surprise) < 1e-3);
  assert.equal(scores[0]!.tokens, events[0]!.length);
  assert.ok(scores[2]!.surprise > scores[0]!.surprise + 1, 'noise is far more surprising than plain English');
});
