// Cutting a document into chunks of token offsets, and chunk ranges into stored segments.
import { randomBytes } from 'node:crypto';

export function chunkCount(tokens: number, chunkTokens: number): number {
  return Math.ceil(tokens / chunkTokens);
}

/** Token offsets [start, end) of chunk `index`. */
export function chunkRange(index: number, tokens: number, chunkTokens: number): { start: number; end: number } {
  const start = index * chunkTokens;
  if (!Number.isInteger(index) || index < 0 || start >= tokens) {
    throw new RangeError(`chunk ${index} is outside a document of ${tokens} tokens in chunks of ${chunkTokens}`);
  }
  return { start, end: Math.min(tokens, start + chunkTokens) };
}

export interface SegmentSlice {
  segment: number;
  /** Offsets inside the segment, in tokens. */
  from: number;
  to: number;
}

/** The pieces of segments that hold tokens [start, end) when each segment holds `segmentTokens` ids. */
export function segmentSlices(start: number, end: number, segmentTokens: number): SegmentSlice[] {
  const slices: SegmentSlice[] = [];
  for (let pos = start; pos < end; ) {
    const segment = Math.floor(pos / segmentTokens);
    const segEnd = Math.min(end, (segment + 1) * segmentTokens);
    slices.push({ segment, from: pos - segment * segmentTokens, to: segEnd - segment * segmentTokens });
    pos = segEnd;
  }
  return slices;
}

/** A fresh nonce for a planning attempt's token keys: two attempts on one document never write the same keys. */
export function tokenNonce(): string {
  return randomBytes(8).toString('hex');
}
