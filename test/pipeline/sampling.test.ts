// The sampler against the official rules (spec §11): greedy, penalties, top-p, top-k, temperature, seeds.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { argmax, Sampler, XorShift32, type SamplerOptions } from '../../pipelines/tasks/sampling.ts';

const GREEDY: SamplerOptions = {
  temperature: 0,
  topP: 1,
  topK: 0,
  presencePenalty: 0,
  frequencyPenalty: 0,
  penaltyDecay: 0.996,
  seed: 0,
};
const decodeAsLetters = (token: number) => (token < 10 ? String(token) : String.fromCharCode(97 + (token % 26)));

test('greedy picks the largest logit, the lowest id on ties', () => {
  const s = new Sampler(GREEDY, decodeAsLetters);
  assert.equal(s.pick(Float32Array.from([0.1, 2, 1.5, 2, -1])), 1);
  assert.equal(argmax(Float32Array.from([-3, -3, -3])), 0);
});

test('presence and frequency penalties move greedy decoding off a repeated token', () => {
  const logits = Float32Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 2.5]);
  const plain = new Sampler(GREEDY, decodeAsLetters);
  plain.accept(10);
  assert.equal(plain.pick(logits), 10, 'no penalties: the same token again');

  const penalised = new Sampler({ ...GREEDY, presencePenalty: 0.4, frequencyPenalty: 0.3 }, decodeAsLetters);
  penalised.accept(10);
  // 3 - (0.4 + 1 * 0.3) = 2.3 < 2.5
  assert.equal(penalised.pick(logits), 11);
});

test('digit and whitespace tokens get the presence penalty but count nothing toward frequency', () => {
  const logits = Float32Array.from([0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 4.9]);
  const s = new Sampler({ ...GREEDY, presencePenalty: 0.05, frequencyPenalty: 10 }, decodeAsLetters);
  s.accept(3); // "3": weight 0
  // 5 - (0.05 + 0 * 10) = 4.95 > 4.9
  assert.equal(s.pick(logits), 3);
  const letters = new Sampler({ ...GREEDY, presencePenalty: 0.05, frequencyPenalty: 10 }, decodeAsLetters);
  letters.accept(10); // a letter: weight 1
  assert.equal(letters.pick(Float32Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 4.9])), 11);
});

test('counts decay by penaltyDecay at every accepted token', () => {
  const s = new Sampler({ ...GREEDY, frequencyPenalty: 1, penaltyDecay: 0.5 }, decodeAsLetters);
  s.accept(10);
  s.accept(11); // count of 10 is now 0.5, of 11 is 1
  const pick = s.pick(Float32Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1.2, 1.6]));
  // 10: 1.2 - 0.5 = 0.7; 11: 1.6 - 1 = 0.6
  assert.equal(pick, 10);
});

test('top-k 1 and a tiny top-p both reduce sampling to the argmax, whatever the temperature', () => {
  const logits = Float32Array.from([1, 3, 2, 0.5]);
  for (const opts of [{ topK: 1 }, { topP: 0.01 }]) {
    const s = new Sampler({ ...GREEDY, temperature: 2, seed: 7, ...opts }, decodeAsLetters);
    for (let i = 0; i < 50; i++) assert.equal(s.pick(logits), 1);
  }
});

test('top-p keeps the smallest head of the distribution reaching p', () => {
  // softmax of [ln 0.5, ln 0.3, ln 0.2] = [0.5, 0.3, 0.2]; top-p 0.75 keeps 0.5 and 0.3.
  const logits = Float32Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.2)]);
  const s = new Sampler({ ...GREEDY, temperature: 1, topP: 0.75, seed: 3 }, decodeAsLetters);
  const counts = [0, 0, 0];
  for (let i = 0; i < 4000; i++) counts[s.pick(logits)]!++;
  assert.equal(counts[2], 0);
  assert.ok(Math.abs(counts[0]! / 4000 - 0.625) < 0.03, `token 0 share ${counts[0]! / 4000}`);
});

test('temperature reshapes probabilities as p^(1/T)', () => {
  const logits = Float32Array.from([Math.log(0.8), Math.log(0.2)]);
  const s = new Sampler({ ...GREEDY, temperature: 2, seed: 11 }, decodeAsLetters);
  let zeros = 0;
  for (let i = 0; i < 6000; i++) if (s.pick(logits) === 0) zeros++;
  const want = Math.sqrt(0.8) / (Math.sqrt(0.8) + Math.sqrt(0.2)); // 2/3
  assert.ok(Math.abs(zeros / 6000 - want) < 0.025, `share ${zeros / 6000}, want ${want}`);
});

test('the same seed reproduces the same draws; another seed does not', () => {
  const logits = Float32Array.from(Array.from({ length: 50 }, (_, i) => Math.sin(i)));
  const draw = (seed: number) => {
    const s = new Sampler({ ...GREEDY, temperature: 1, seed }, decodeAsLetters);
    return Array.from({ length: 40 }, () => s.pick(logits));
  };
  assert.deepEqual(draw(5), draw(5));
  assert.notDeepEqual(draw(5), draw(6));
});

test('XorShift32 stays in [0, 1) and is not stuck', () => {
  const rng = new XorShift32(0);
  const values = Array.from({ length: 1000 }, () => rng.next());
  assert.ok(values.every((v) => v >= 0 && v < 1));
  assert.ok(new Set(values).size > 990);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05);
});
