// Log-probabilities from logits, in float64 so sums over many tokens stay exact enough to compare runs.

/** log Σ exp(row[i]) over one row of `vocab` logits starting at `offset`. */
export function logSumExp(logits: Float32Array, offset = 0, vocab = logits.length - offset): number {
  let max = -Infinity;
  for (let i = offset; i < offset + vocab; i++) if (logits[i]! > max) max = logits[i]!;
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let i = offset; i < offset + vocab; i++) sum += Math.exp(logits[i]! - max);
  return max + Math.log(sum);
}

/** log p(token) under the row of logits at `offset`. */
export function tokenLogProb(logits: Float32Array, token: number, offset = 0, vocab = logits.length - offset): number {
  return logits[offset + token]! - logSumExp(logits, offset, vocab);
}

/** Softmax of a few scores (labels), in float64. */
export function softmax(scores: number[]): number[] {
  const max = Math.max(...scores);
  const exps = scores.map((s) => Math.exp(s - max));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / total);
}
