// Where a document's sections end. The targets are t_k = k·K for k = 1..m, m = floor((tokens − 1) / K); boundary
// b_k is the best natural break within [t_k − slack, t_k + slack] ∩ [1, tokens − 1], chosen from the tokens
// around that window alone. So any chunk job can compute any boundary without knowing the others, and because
// slack < K/2 the windows never overlap and the boundaries are strictly increasing. b_0 = 0, b_{m+1} = tokens;
// section i covers [b_i, b_{i+1}).
//
// A position p is the point between token p − 1 and token p. Its kind, best first:
//   heading     the text before ends with a newline and token p starts with '#'
//   blank-line  the text before ends with "\n\n" (carriage returns ignored)
//   line        the text before ends with "\n"
//   sentence    the text before ends with '.', '!' or '?' (optionally then one closing quote or bracket) and
//               token p starts with whitespace
// Within a window the best kind wins, then the position closest to the target, then the earlier one; with no
// break at all the boundary is the target itself ('exact').
import type { BoundaryKind } from '../schemas/results.ts';

export interface SectionLayout {
  every: number;
  slack: number;
  boundaries: 'natural' | 'exact';
}

export interface Boundary {
  position: number;
  kind: BoundaryKind;
}

export interface Section {
  index: number;
  start: number;
  end: number;
  /** The kind of the boundary the section ends at ('end' for the last). */
  boundary: BoundaryKind;
}

/** Token ids of positions [offset, offset + ids.length) of the document. */
export interface TokenSpan {
  offset: number;
  ids: Int32Array;
}

export type TokenBytes = (id: number) => Uint8Array;

/**
 * Tokens before a position that are looked at. A blank line can be split over several tokens ("\r\n\r\n" is
 * four in a byte-level vocabulary); eight covers it with room to spare, and bounds what a window must read.
 */
export const LOOKBACK_TOKENS = 8;

const NATURAL_RANK: Record<'heading' | 'blank-line' | 'line' | 'sentence', number> = {
  heading: 4,
  'blank-line': 3,
  line: 2,
  sentence: 1,
};

const NEWLINE = 0x0a;
const CR = 0x0d;
const HASH = 0x23;
const SENTENCE_END = new Set([0x2e, 0x21, 0x3f]); // . ! ?
const WHITESPACE = new Set([0x20, 0x09, NEWLINE, CR, 0x0b, 0x0c]);
/** Closing quotes and brackets that may follow a sentence's end: ASCII, then ” ’ » in UTF-8. */
const CLOSERS: readonly Uint8Array[] = [
  ...[0x22, 0x27, 0x29, 0x5d, 0x7d].map((b) => Uint8Array.of(b)),
  Uint8Array.of(0xe2, 0x80, 0x9d),
  Uint8Array.of(0xe2, 0x80, 0x99),
  Uint8Array.of(0xc2, 0xbb),
];

/** How many sections a document of `tokens` tokens has: m + 1. */
export function sectionCount(tokens: number, every: number): number {
  if (!Number.isInteger(tokens) || tokens < 1) throw new RangeError(`a document has at least one token, got ${tokens}`);
  return Math.floor((tokens - 1) / every) + 1;
}

/** Positions b_k may take: [t_k − slack, t_k + slack] ∩ [1, tokens − 1] (inclusive), for 1 ≤ k ≤ m. */
export function boundaryWindow(k: number, layout: SectionLayout, tokens: number): { lo: number; hi: number } {
  const m = sectionCount(tokens, layout.every) - 1;
  if (!Number.isInteger(k) || k < 1 || k > m) throw new RangeError(`boundary ${k} is not between 1 and ${m}`);
  const target = k * layout.every;
  if (layout.boundaries === 'exact') return { lo: target, hi: target };
  return { lo: Math.max(1, target - layout.slack), hi: Math.min(tokens - 1, target + layout.slack) };
}

/** The token ids boundary k is chosen from, [from, to); empty for the document's end and for exact boundaries. */
export function boundarySpan(k: number, layout: SectionLayout, tokens: number): { from: number; to: number } {
  const m = sectionCount(tokens, layout.every) - 1;
  if (k === 0 || k === m + 1 || layout.boundaries === 'exact') return { from: 0, to: 0 };
  const { lo, hi } = boundaryWindow(k, layout, tokens);
  return { from: Math.max(0, lo - LOOKBACK_TOKENS), to: hi + 1 };
}

/** The natural kind of the break between `before` (the text up to the position) and `next` (the next token). */
export function breakKind(before: Uint8Array, next: Uint8Array): keyof typeof NATURAL_RANK | null {
  const last = before.at(-1);
  if (last === NEWLINE) {
    if (next[0] === HASH) return 'heading';
    let i = before.length - 2;
    while (i >= 0 && before[i] === CR) i--;
    return i >= 0 && before[i] === NEWLINE ? 'blank-line' : 'line';
  }
  if (next.length === 0 || !WHITESPACE.has(next[0]!)) return null;
  let end = before.length;
  const closer = CLOSERS.find((c) => endsWith(before, c, end));
  if (closer) end -= closer.length;
  return end > 0 && SENTENCE_END.has(before[end - 1]!) ? 'sentence' : null;
}

function endsWith(bytes: Uint8Array, suffix: Uint8Array, end: number): boolean {
  if (end < suffix.length) return false;
  for (let i = 0; i < suffix.length; i++) if (bytes[end - suffix.length + i] !== suffix[i]) return false;
  return true;
}

/**
 * Boundary k (0 ≤ k ≤ m + 1) of a document of `tokens` tokens. `span` must hold the ids of boundarySpan(k);
 * `tokenBytes` gives a token's bytes (engine.tokenizer.decodeBytes of one id).
 */
export function findBoundary(
  k: number,
  layout: SectionLayout,
  tokens: number,
  span: TokenSpan,
  tokenBytes: TokenBytes,
): Boundary {
  const m = sectionCount(tokens, layout.every) - 1;
  if (k === 0) return { position: 0, kind: 'exact' };
  if (k === m + 1) return { position: tokens, kind: 'end' };
  const target = k * layout.every;
  const { lo, hi } = boundaryWindow(k, layout, tokens);
  if (layout.boundaries === 'exact') return { position: target, kind: 'exact' };
  const need = boundarySpan(k, layout, tokens);
  if (span.offset > need.from || span.offset + span.ids.length < need.to) {
    throw new RangeError(
      `boundary ${k} needs tokens [${need.from}, ${need.to}); given [${span.offset}, ${span.offset + span.ids.length})`,
    );
  }
  const bytesAt = memoBytes(span, tokenBytes);
  let best: { position: number; rank: number } | null = null;
  for (let p = lo; p <= hi; p++) {
    const kind = breakKind(textBefore(p, bytesAt), bytesAt(p));
    if (!kind) continue;
    const rank = NATURAL_RANK[kind];
    // Scanning upwards, a later position replaces the best only if it is strictly better: ties keep the earlier.
    if (!best || rank > best.rank || (rank === best.rank && Math.abs(p - target) < Math.abs(best.position - target))) {
      best = { position: p, rank };
    }
  }
  if (!best) return { position: target, kind: 'exact' };
  const kind = (Object.keys(NATURAL_RANK) as (keyof typeof NATURAL_RANK)[]).find(
    (name) => NATURAL_RANK[name] === best.rank,
  )!;
  return { position: best.position, kind };
}

function memoBytes(span: TokenSpan, tokenBytes: TokenBytes): (position: number) => Uint8Array {
  const cache = new Map<number, Uint8Array>();
  return (position) => {
    let bytes = cache.get(position);
    if (!bytes) {
      bytes = tokenBytes(span.ids[position - span.offset]!);
      cache.set(position, bytes);
    }
    return bytes;
  };
}

/** The bytes of the LOOKBACK_TOKENS tokens before `position` (fewer at the document's start). */
function textBefore(position: number, bytesAt: (position: number) => Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let p = Math.max(0, position - LOOKBACK_TOKENS); p < position; p++) parts.push(bytesAt(p));
  return Buffer.concat(parts);
}

/** The boundary indices k whose boundary may lie in (start, end]: the windows that reach into that range. */
export function boundariesReaching(start: number, end: number, layout: SectionLayout, tokens: number): number[] {
  const m = sectionCount(tokens, layout.every) - 1;
  const reach = layout.boundaries === 'exact' ? 0 : layout.slack;
  const first = Math.max(1, Math.ceil((start + 1 - reach) / layout.every));
  const last = Math.min(m, Math.floor((end + reach) / layout.every));
  const ks: number[] = [];
  for (let k = first; k <= last; k++) ks.push(k);
  if (end === tokens) ks.push(m + 1);
  return ks;
}

/** Every section of a whole document (its ids in memory): m + 1 ranges that cover it with no gap or overlap. */
export function planSections(ids: Int32Array, layout: SectionLayout, tokenBytes: TokenBytes): Section[] {
  const tokens = ids.length;
  const count = sectionCount(tokens, layout.every);
  const span: TokenSpan = { offset: 0, ids };
  const ends = Array.from({ length: count }, (_, i) => findBoundary(i + 1, layout, tokens, span, tokenBytes));
  return ends.map((b, i) => ({
    index: i,
    start: i === 0 ? 0 : ends[i - 1]!.position,
    end: b.position,
    boundary: b.kind,
  }));
}
