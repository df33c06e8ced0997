// The RWKV-7 reference cases of fixtures/rwkv7/expected_manifest.json, with their expected outputs loaded.
import { readFileSync } from 'node:fs';

import { fixture } from './paths.ts';

export interface ReferenceCase {
  name: string;
  tokens: number[];
  /** logits after every position, [tokens.length][vocab] */
  logits: Float32Array;
  vocab: number;
  state: Float32Array;
  /** model files holding the same weights (every dtype and container) */
  models: string[];
}

function readF32(file: string): Float32Array {
  const bytes = readFileSync(file);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

const MODEL_FILES: Record<string, string[]> = {
  tiny: ['tiny-rwkv7-834K-fp32.pth', 'tiny-rwkv7-834K-bf16.pth', 'tiny-rwkv-7v0-834K-FP32.bin'],
  synth: ['synth-rwkv7-L3-D256-H4-fp32.pth', 'synth-rwkv7-L3-D256-H4-bf16.pth'],
};

export function referenceCases(): ReferenceCase[] {
  const manifest = JSON.parse(readFileSync(fixture('rwkv7', 'expected_manifest.json'), 'utf8')) as Record<
    string,
    { tokens: number[]; logits_file: string; logits_shape: [number, number]; state_file: string }
  >;
  return Object.entries(manifest).map(([name, c]) => ({
    name,
    tokens: c.tokens,
    logits: readF32(fixture('rwkv7', c.logits_file)),
    vocab: c.logits_shape[1],
    state: readF32(fixture('rwkv7', c.state_file)),
    models: (name.startsWith('tiny') ? MODEL_FILES.tiny! : MODEL_FILES.synth!).map((f) => fixture('rwkv7', f)),
  }));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

export const tinyModel = fixture('rwkv7', 'tiny-rwkv7-834K-fp32.pth');
export const synthModel = fixture('rwkv7', 'synth-rwkv7-L3-D256-H4-fp32.pth');
