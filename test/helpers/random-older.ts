// Small random RWKV-4 / RWKV-5.1 / RWKV-5.2 / RWKV-6 models in the official key names and shapes, written as safetensors,
// for tests that need a model of a given version with a given vocabulary (byte-level models for the pipeline,
// a 50277-id model for the 20B tokenizer). Weights are drawn from a seeded generator in ranges like trained
// models' (decays that keep the state bounded, mixes in (0, 1)), so activations stay finite.
import { writeFileSync } from 'node:fs';

export type OlderVersion = 'v4' | 'x051' | 'x052' | 'x060';

export interface OlderShape {
  version: OlderVersion;
  layers?: number;
  embd?: number;
  headSize?: number;
  vocab?: number;
  ffn?: number;
  /** x060 LoRA widths */
  rankMix?: number;
  rankDecay?: number;
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

export function writeRandomOlderModel(file: string, shape: OlderShape, seed = 1): void {
  const L = shape.layers ?? 2,
    C = shape.embd ?? 64,
    N = shape.headSize ?? 32,
    V = shape.vocab ?? 256;
  const F = shape.ffn ?? 4 * C,
    D = shape.rankMix ?? 8,
    Dw = shape.rankDecay ?? 16,
    H = C / N;
  const next = rng(seed);
  const tensors: [string, number[], Float32Array][] = [];
  const add = (name: string, dims: number[], f: (i: number) => number) => {
    const n = dims.reduce((a, b) => a * b, 1);
    tensors.push([name, dims, Float32Array.from({ length: n }, (_, i) => f(i))]);
  };
  const uniform = (lo: number, hi: number) => () => lo + (hi - lo) * next();
  const matrix = (fanIn: number) => () => (next() * 2 - 1) * Math.sqrt(3 / fanIn);
  const vec = [1, 1, C];
  add('emb.weight', [V, C], uniform(-1, 1));
  add('blocks.0.ln0.weight', [C], uniform(0.8, 1.2));
  add('blocks.0.ln0.bias', [C], uniform(-0.1, 0.1));
  for (let l = 0; l < L; l++) {
    const b = `blocks.${l}.`,
      a = `${b}att.`;
    for (const ln of ['ln1', 'ln2']) {
      add(`${b}${ln}.weight`, [C], uniform(0.8, 1.2));
      add(`${b}${ln}.bias`, [C], uniform(-0.1, 0.1));
    }
    for (const m of ['key', 'value', 'receptance', 'output']) add(`${a}${m}.weight`, [C, C], matrix(C));
    if (shape.version === 'x060') {
      for (const m of ['x', 'w', 'k', 'v', 'r', 'g']) add(`${a}time_maa_${m}`, vec, uniform(0, 1));
      add(`${a}time_maa_w1`, [C, 5 * D], matrix(C));
      add(`${a}time_maa_w2`, [5, D, C], matrix(D));
      add(`${a}time_decay`, vec, uniform(-4, 0));
      add(`${a}time_decay_w1`, [C, Dw], matrix(C));
      add(`${a}time_decay_w2`, [Dw, C], matrix(Dw));
      add(`${a}time_faaaa`, [H, N], uniform(-0.5, 0.5));
      add(`${b}ffn.time_maa_k`, vec, uniform(0, 1));
      add(`${b}ffn.time_maa_r`, vec, uniform(0, 1));
    } else {
      for (const m of ['k', 'v', 'r']) add(`${a}time_mix_${m}`, vec, uniform(0, 1));
      add(`${b}ffn.time_mix_k`, vec, uniform(0, 1));
      add(`${b}ffn.time_mix_r`, vec, uniform(0, 1));
      if (shape.version === 'v4') {
        add(`${a}time_decay`, [C], uniform(-3, 1));
        add(`${a}time_first`, [C], uniform(-1, 1));
      } else if (shape.version === 'x051') {
        // One decay and one bonus per head, the bonus stored as its logarithm (time_first).
        add(`${a}time_mix_g`, vec, uniform(0, 1));
        add(`${a}time_decay`, [H], uniform(-4, 0));
        add(`${a}time_first`, [H], uniform(-1, 0.5));
      } else {
        add(`${a}time_mix_g`, vec, uniform(0, 1));
        add(`${a}time_decay`, [H, N], uniform(-4, 0));
        add(`${a}time_faaaa`, [H, N], uniform(-0.5, 0.5));
      }
    }
    if (shape.version !== 'v4') {
      add(`${a}gate.weight`, [C, C], matrix(C));
      add(`${a}ln_x.weight`, [C], uniform(0.8, 1.2));
      add(`${a}ln_x.bias`, [C], uniform(-0.1, 0.1));
    }
    add(`${b}ffn.key.weight`, [F, C], matrix(C));
    add(`${b}ffn.receptance.weight`, [C, C], matrix(C));
    add(`${b}ffn.value.weight`, [C, F], matrix(F));
  }
  add('ln_out.weight', [C], uniform(0.8, 1.2));
  add('ln_out.bias', [C], uniform(-0.1, 0.1));
  add('head.weight', [V, C], matrix(C));

  // safetensors: u64 header length, JSON header, then the data.
  const header: Record<string, unknown> = {};
  let at = 0;
  for (const [name, dims, data] of tensors) {
    header[name] = { dtype: 'F32', shape: dims, data_offsets: [at, at + data.byteLength] };
    at += data.byteLength;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8 !== 0) json += ' ';
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileSync(
    file,
    Buffer.concat([
      head,
      Buffer.from(json),
      ...tensors.map(([, , d]) => Buffer.from(d.buffer, d.byteOffset, d.byteLength)),
    ]),
  );
}
