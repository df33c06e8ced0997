// A Hugging Face tokenizers JSON (byte-level BPE such as the GPT-NeoX 20B tokenizer) through
// @huggingface/tokenizers, the pure-JS implementation Hugging Face maintains: no native build and nothing
// downloaded at install time. Text is normalized and split exactly as the tokenizers library does (special
// tokens such as <|endoftext|> in the text become their ids, as in the official RWKV-4 code).
//
// Bytes: the library works on strings, so encoding a byte string reads it as UTF-8 (an invalid sequence
// becomes U+FFFD); decoding maps each byte-level token back to its bytes, so a token cut in the middle of a
// UTF-8 character decodes to exactly those bytes.
//
// Fingerprint: the first 16 hex digits of the sha256 of the vocabulary (every token with its id, the BPE
// merges in order, the added tokens): the same for any formatting of the same tokenizer JSON.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { z } from 'zod';

import { EngineError } from './errors.ts';

const TokenizerJsonSchema = z.object({
  model: z.object({
    type: z.string().optional(),
    vocab: z.record(z.string(), z.number().int().nonnegative()),
    merges: z.array(z.union([z.string(), z.tuple([z.string(), z.string()])])).default([]),
  }),
  added_tokens: z
    .array(z.object({ id: z.number().int().nonnegative(), content: z.string(), special: z.boolean().default(false) }))
    .default([]),
  pre_tokenizer: z.unknown().optional(),
  decoder: z.unknown().optional(),
});
type TokenizerJson = z.infer<typeof TokenizerJsonSchema>;

/**
 * GPT-2's byte-level alphabet: each byte is shown as one printable code point (printable Latin-1 bytes as
 * themselves, the others as U+0100 onwards, in byte order). Returns code point -> byte.
 */
function byteLevelDecoder(): Map<number, number> {
  const keep = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out = new Map<number, number>();
  let next = 256;
  for (let b = 0; b < 256; b++) out.set(keep(b) ? b : next++, b);
  return out;
}

export interface HfTokenizerData {
  vocabSize: number;
  fingerprint: string;
  encode(text: string): Int32Array;
  decodeBytes(ids: ArrayLike<number>): Buffer;
}

function fingerprintOf(json: TokenizerJson): string {
  const vocab = Object.entries(json.model.vocab).sort((a, b) => a[1] - b[1]);
  const merges = json.model.merges.map((m) => (typeof m === 'string' ? m : m.join(' ')));
  const added = json.added_tokens.map((t) => [t.id, t.content, t.special]);
  const canonical = JSON.stringify({ type: json.model.type ?? '', vocab, merges, added });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

export async function loadHfTokenizer(file: string): Promise<HfTokenizerData> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'E_IO' : 'E_TOKENIZER';
    throw new EngineError(
      code,
      `cannot read the tokenizer ${file}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  const parsed = TokenizerJsonSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new EngineError(
      'E_TOKENIZER',
      `${file} is not a Hugging Face tokenizers JSON: ${issue.path.join('.')}: ${issue.message}`,
    );
  }
  const json = parsed.data;
  let tokenizer: HfTokenizer;
  try {
    tokenizer = new HfTokenizer(raw as object, {});
  } catch (err) {
    throw new EngineError('E_TOKENIZER', `${file}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }

  // id -> bytes, built once: byte-level tokens through the inverse alphabet, added tokens as their UTF-8 text.
  const byteLevel =
    JSON.stringify(json.pre_tokenizer ?? {}).includes('ByteLevel') ||
    JSON.stringify(json.decoder ?? {}).includes('ByteLevel');
  const alphabet = byteLevelDecoder();
  const pieces: (Buffer | undefined)[] = [];
  for (const [token, id] of Object.entries(json.model.vocab)) {
    let bytes: Buffer;
    if (byteLevel) {
      const out: number[] = [];
      for (const ch of token) {
        const b = alphabet.get(ch.codePointAt(0)!);
        if (b === undefined) {
          out.push(...Buffer.from(ch, 'utf8'));
        } else {
          out.push(b);
        }
      }
      bytes = Buffer.from(out);
    } else {
      bytes = Buffer.from(token, 'utf8');
    }
    pieces[id] = bytes;
  }
  for (const t of json.added_tokens) pieces[t.id] = Buffer.from(t.content, 'utf8');
  const vocabSize = pieces.length;

  return {
    vocabSize,
    fingerprint: fingerprintOf(json),
    encode(text: string): Int32Array {
      return Int32Array.from(tokenizer.encode(text, { add_special_tokens: false }).ids);
    },
    decodeBytes(ids: ArrayLike<number>): Buffer {
      const parts: Buffer[] = [];
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        const piece = Number.isInteger(id) && id >= 0 ? pieces[id] : undefined;
        if (!piece)
          throw new EngineError(
            'E_TOKEN',
            `token ${id} at position ${i} is not in the tokenizer's vocabulary of ${vocabSize} ids`,
          );
        parts.push(piece);
      }
      return Buffer.concat(parts);
    },
  };
}
