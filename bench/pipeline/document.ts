// The benchmark's document: deterministic English-like text (log lines and prose) written to a file until it
// holds at least the requested number of tokens for the given tokenizer.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

import { XorShift32 } from '../../pipelines/tasks/sampling.ts';
import type { Tokenizer } from '../../engine/index.ts';

const WORDS = (
  'the of and to in is was for on that with as by at from it be this an which or are were has have had not but ' +
  'river valley station signal engine report shipment harbour market weather morning evening council bridge ' +
  'north south east west first second third new old small large early late quiet busy open closed ' +
  'measured recorded observed reported delivered repaired inspected scheduled delayed approved ' +
  'pressure temperature voltage current flow level speed volume load demand supply capacity'
).split(' ');

function sentence(rng: XorShift32): string {
  const n = 6 + Math.floor(rng.next() * 14);
  const words = Array.from({ length: n }, () => WORDS[Math.floor(rng.next() * WORDS.length)]!);
  words[0] = words[0]!.charAt(0).toUpperCase() + words[0]!.slice(1);
  if (rng.next() < 0.4) words.splice(Math.floor(rng.next() * n), 0, String(Math.floor(rng.next() * 10_000)));
  return `${words.join(' ')}.`;
}

/**
 * Writes the document; returns its size in bytes and its tokens (counted piece by piece, which can differ
 * from the whole text's count by a token or so at each piece boundary).
 */
export async function writeDocument(
  file: string,
  tokenizer: Tokenizer,
  minTokens: number,
  seed = 7,
): Promise<{ bytes: number; tokens: number }> {
  const rng = new XorShift32(seed);
  const out = createWriteStream(file);
  let bytes = 0;
  let tokens = 0;
  let bytesPerToken = 0;
  while (tokens < minTokens) {
    // Pieces of up to 256 KiB (the first small, to learn bytes per token), the last one just big enough, so
    // the document ends close to the target.
    const target =
      bytesPerToken === 0
        ? 16 * 1024
        : Math.min(256 * 1024, Math.max(1024, Math.ceil((minTokens - tokens) * bytesPerToken * 1.01)));
    const lines: string[] = [];
    for (let size = 0; size < target; ) {
      const line = `${Array.from({ length: 1 + Math.floor(rng.next() * 4) }, () => sentence(rng)).join(' ')}\n`;
      lines.push(line);
      size += line.length;
    }
    const piece = Buffer.from(lines.join(''));
    const count = (await tokenizer.encode(piece)).length;
    bytesPerToken = piece.length / count;
    tokens += count;
    bytes += piece.length;
    if (!out.write(piece)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { bytes, tokens };
}
