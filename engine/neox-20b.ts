// The GPT-NeoX 20B tokenizer of the RWKV-4 "Pile" models (vocabulary 50277): the file BlinkDL ships with
// ChatRWKV and RWKV-LM (and rwkv.cpp copies), pinned by size and sha256. Finding or downloading the file is
// the work of the models cache above the engine, which hands it the path.
import { z } from 'zod';

export const NamedTokenizerSchema = z.strictObject({
  name: z.string().min(1),
  file: z.string().min(1),
  size: z.number().int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  vocabSize: z.number().int().positive(),
});
export type NamedTokenizer = z.infer<typeof NamedTokenizerSchema>;

export const NEOX_20B: NamedTokenizer = NamedTokenizerSchema.parse({
  name: '20b',
  file: '20B_tokenizer.json',
  size: 2_467_981,
  sha256: '56ac4821e129d2c520fdaba60abd920fa852ada51b45c0dd52bbb6bd8c985ade',
  vocabSize: 50277,
});

/** Whether a vocabulary setting names the 20B tokenizer rather than giving a file. */
export function isNamedTokenizer(spec: string): boolean {
  return spec.toLowerCase() === NEOX_20B.name;
}
