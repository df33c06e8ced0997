// Choosing the next token the way the official RWKV pipeline does (docs/rwkv7-spec.md §11): repetition
// penalties on the logits, then softmax, top-p, top-k, temperature as p^(1/T), and a draw. Temperature 0 is
// greedy (argmax after the penalties). The draw uses a seeded generator, so a seed reproduces a summary.

export interface SamplerOptions {
  temperature: number;
  topP: number;
  topK: number;
  presencePenalty: number;
  frequencyPenalty: number;
  penaltyDecay: number;
  seed: number;
}

/** Marsaglia's xorshift32: small, fast and plenty for drawing from a distribution. */
export class XorShift32 {
  #s: number;

  constructor(seed: number) {
    // Scramble the seed so nearby seeds start far apart; the state must never be 0.
    this.#s = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) >>> 0 || 0x6d2b79f5;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let x = this.#s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#s = x >>> 0;
    return this.#s / 4294967296;
  }
}

/** Tokens made only of a space, a tab or digits count nothing toward the frequency penalty (official rule). */
const PENALTY_FREE_TEXT = ' \t0123456789';

export class Sampler {
  readonly #options: SamplerOptions;
  readonly #rng: XorShift32;
  readonly #decode: (token: number) => string;
  readonly #occurrence = new Map<number, number>();

  constructor(options: SamplerOptions, decode: (token: number) => string) {
    this.#options = options;
    this.#rng = new XorShift32(options.seed);
    this.#decode = decode;
  }

  /** The next token from a row of logits (not modified). */
  pick(logits: Float32Array): number {
    const o = this.#options;
    let row = logits;
    if (this.#occurrence.size > 0 && (o.presencePenalty !== 0 || o.frequencyPenalty !== 0)) {
      row = Float32Array.from(logits);
      for (const [token, count] of this.#occurrence)
        row[token] = row[token]! - (o.presencePenalty + count * o.frequencyPenalty);
    }
    return o.temperature === 0 ? argmax(row) : this.#draw(row);
  }

  /** Records a generated token for the penalties: every count decays, then this token's grows. */
  accept(token: number): void {
    for (const [t, count] of this.#occurrence) this.#occurrence.set(t, count * this.#options.penaltyDecay);
    const weight = PENALTY_FREE_TEXT.includes(this.#decode(token)) ? 0 : 1;
    this.#occurrence.set(token, (this.#occurrence.get(token) ?? 0) + weight);
  }

  #draw(logits: Float32Array): number {
    const { topP, topK, temperature } = this.#options;
    const probs = softmax64(logits);
    const n = probs.length;
    if (topP < 1 || (topK > 0 && topK < n)) {
      const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => probs[b]! - probs[a]! || a - b);
      if (topP < 1) {
        let cumulative = 0;
        let cutoff = 0;
        for (const id of order) {
          cumulative += probs[id]!;
          if (cumulative >= topP) {
            cutoff = probs[id]!;
            break;
          }
        }
        for (let i = 0; i < n; i++) if (probs[i]! < cutoff) probs[i] = 0;
      }
      if (topK > 0 && topK < n) for (const id of order.slice(topK)) probs[id] = 0;
    }
    if (temperature !== 1) for (let i = 0; i < n; i++) probs[i] = probs[i]! ** (1 / temperature);
    let total = 0;
    for (let i = 0; i < n; i++) total += probs[i]!;
    if (!(total > 0)) return argmax(logits);
    let u = this.#rng.next() * total;
    let last = 0;
    for (let i = 0; i < n; i++) {
      if (probs[i]! === 0) continue;
      last = i;
      u -= probs[i]!;
      if (u < 0) return i;
    }
    return last;
  }
}

export function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

function softmax64(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const e = Math.exp(logits[i]! - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < out.length; i++) out[i] = out[i]! / sum;
  return out;
}
