// anomaly: how surprising each event of a stream is, given everything the stream's state has read before it.
//
// surprise(event) = mean over the event's tokens of -log p(token | stream so far).
//
// The first token of an event needs the logits after the previous event's last token, which a checkpoint of
// the state alone does not have. Instead of storing those logits (a vocabulary of floats, and nothing exists
// for a fresh stream), a separator ("\n" by default) is fed before every event: the logits at the separator
// predict the event's first token. The model so reads the stream like a log file, one event per line; the
// separator's own token is read but not scored. The state alone is then the whole checkpoint, and a fresh
// stream and a resumed one are treated the same way.
import type { Engine, RnnState } from '../../engine/index.ts';
import type { Forward } from './forward.ts';
import { tokenLogProb } from './logprob.ts';

export interface EventSurprise {
  tokens: number;
  surprise: number;
}

/**
 * Reads `events` (token ids, each non-empty) into `state`, each after `separator`, and returns their surprise.
 * Positions go through the model in pieces of at most `maxPositions` tokens with all logits, which bounds
 * memory at maxPositions × vocabulary floats. `forward` is where the model calls go (a worker that batches
 * passes its batcher's); by default straight to the engine's model.
 */
export async function scoreEvents(
  engine: Engine,
  state: RnnState,
  events: Int32Array[],
  separator: Int32Array,
  maxPositions: number,
  forward: Forward = (tokens, s, logits) => engine.model.forward(tokens, s, logits),
): Promise<EventSurprise[]> {
  if (separator.length === 0) throw new Error('the event separator encodes to no tokens');
  const total = events.reduce((n, e) => n + separator.length + e.length, 0);
  const sequence = new Int32Array(total);
  /** For each position: the event whose token it is, or -1 for separator tokens. */
  const owner = new Int32Array(total);
  let at = 0;
  events.forEach((ids, e) => {
    sequence.set(separator, at);
    owner.fill(-1, at, at + separator.length);
    at += separator.length;
    sequence.set(ids, at);
    owner.fill(e, at, at + ids.length);
    at += ids.length;
  });

  const vocab = engine.model.info.vocabSize;
  const nll = new Float64Array(events.length);
  let previousRow: Float32Array | null = null;
  for (let start = 0; start < total; start += maxPositions) {
    const end = Math.min(total, start + maxPositions);
    const logits = await forward(sequence.subarray(start, end), state, 'all');
    if (!logits) throw new Error('the engine returned no logits');
    for (let q = start; q < end; q++) {
      const e = owner[q]!;
      if (e < 0) continue;
      // Position q's token is predicted by the logits at q - 1: in this piece, or the previous piece's last row.
      const lp =
        q === start
          ? tokenLogProb(previousRow!, sequence[q]!, 0, vocab)
          : tokenLogProb(logits, sequence[q]!, (q - 1 - start) * vocab, vocab);
      nll[e] = nll[e]! - lp;
    }
    previousRow = logits.slice((end - 1 - start) * vocab, (end - start) * vocab);
  }
  return events.map((ids, e) => ({ tokens: ids.length, surprise: nll[e]! / ids.length }));
}

/**
 * The text an event's score carries: at most `chars` UTF-16 code units, never ending inside a surrogate pair;
 * marked when cut. Nothing when `chars` is 0.
 */
export function eventText(text: string, chars: number): { text?: string; textCut?: true } {
  if (chars <= 0) return {};
  if (text.length <= chars) return { text };
  let end = chars;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return { text: text.slice(0, end), textCut: true };
}
