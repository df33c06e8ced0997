// How fast a model of a given size reads, from the project's own measurements, and whether it fits in this
// machine's memory. Measured (README "Performance", native/bench/RESULTS.md): the 0.1B shape on the 2-core CPU
// machine, fp32 weights — prefill 943 tokens/s, decode 62 tokens/s; on an H100, 0.1B / 1.5B / 7.2B shapes.
// A CPU token costs about one multiply-add per weight, so other sizes are the 0.1B figure scaled by the
// parameter count: an estimate from a measurement, which is what the speed class says.
import os from 'node:os';

/** The measured CPU reference: a random model of the official 0.1B shape (191M parameters), fp32 weights, 2 cores. */
export const CPU_MEASURED = { params: 191_000_000, prefill: 943, decode: 62 } as const;

/** Measured on one H100 (native/bench/RESULTS.md): single-stream prefill and batch-1 decode, tokens/s. */
export const H100_MEASURED = [
  { label: '0.1B', params: 191_000_000, prefill: 179_581, decode: 1_855 },
  { label: '1.5B', params: 1_527_000_000, prefill: 65_086, decode: 473 },
  { label: '7.2B', params: 7_199_000_000, prefill: 25_551, decode: 165 },
] as const;

export type SpeedClass = 'fast' | 'moderate' | 'slow' | 'gpu';

export interface SpeedEstimate {
  /** Reading (prefill) and generating (decode) tokens/s on the measured 2-core CPU, scaled by size. */
  cpuPrefill: number;
  cpuDecode: number;
  /** fast: a 100k-token document in under 5 minutes on that CPU; moderate: under 30; slow: under 3 hours; gpu: more. */
  speedClass: SpeedClass;
}

export function speedOf(params: number): SpeedEstimate {
  const scale = CPU_MEASURED.params / params;
  const cpuPrefill = CPU_MEASURED.prefill * scale;
  const cpuDecode = CPU_MEASURED.decode * scale;
  const seconds = 100_000 / cpuPrefill;
  const speedClass: SpeedClass =
    seconds < 300 ? 'fast' : seconds < 1800 ? 'moderate' : seconds < 10_800 ? 'slow' : 'gpu';
  return { cpuPrefill: Math.round(cpuPrefill), cpuDecode: Math.round(cpuDecode * 10) / 10, speedClass };
}

export type Fit = 'yes' | 'bf16' | 'no';

/** Whether the loaded model fits in `memory` bytes: with f32 weights (the default), only with --weights bf16, or not. */
export function fitsIn(ram: { f32: number; bf16: number }, memory: number = os.totalmem()): Fit {
  if (ram.f32 <= memory) return 'yes';
  return ram.bf16 <= memory ? 'bf16' : 'no';
}
