// The GPT-NeoX 20B tokenizer of the RWKV-4 "Pile" models (vocabulary 50277), by name: `--vocab 20b`. The file
// is the one BlinkDL ships with ChatRWKV and RWKV-LM (and rwkv.cpp copies), pinned by size and sha256. It is
// kept in the models cache (<home>/vocab/20b/) and downloaded there on first use unless RWKVSTREAM_OFFLINE is
// set, so nothing outside the cache is needed at run time.
import { access } from 'node:fs/promises';
import path from 'node:path';

import { z } from 'zod';

import { defaultHome } from '../services/config/load.ts';
import { artifactDir, readCached, writeCached } from '../services/models/cache.ts';
import { downloadFile } from '../services/models/download.ts';
import { EngineError } from './errors.ts';

export const NamedTokenizerSchema = z.strictObject({
  name: z.string().min(1),
  file: z.string().min(1),
  size: z.number().int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  vocabSize: z.number().int().positive(),
  url: z.url(),
});
export type NamedTokenizer = z.infer<typeof NamedTokenizerSchema>;

export const NEOX_20B: NamedTokenizer = NamedTokenizerSchema.parse({
  name: '20b',
  file: '20B_tokenizer.json',
  size: 2_467_981,
  sha256: '56ac4821e129d2c520fdaba60abd920fa852ada51b45c0dd52bbb6bd8c985ade',
  vocabSize: 50277,
  url: 'https://raw.githubusercontent.com/BlinkDL/ChatRWKV/main/20B_tokenizer.json',
});

export function isNamedTokenizer(spec: string): boolean {
  return spec.toLowerCase() === NEOX_20B.name;
}

export interface NamedTokenizerOptions {
  /** The cache root (default: RWKVSTREAM_HOME, else the XDG cache directory). */
  home?: string;
  /** false: never download (default: download unless RWKVSTREAM_OFFLINE is set). */
  download?: boolean;
  signal?: AbortSignal;
}

function offline(env: NodeJS.ProcessEnv): boolean {
  const v = env.RWKVSTREAM_OFFLINE;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/** The 20B tokenizer file in the cache, downloading and verifying it there first when it is missing. */
export async function neox20bFile(opts: NamedTokenizerOptions = {}): Promise<string> {
  const home = opts.home ?? process.env.RWKVSTREAM_HOME ?? defaultHome();
  const cached = await readCached(home, 'vocab', NEOX_20B.name);
  if (cached && cached.sha256 === NEOX_20B.sha256) {
    try {
      await access(cached.path);
      return cached.path;
    } catch {
      // The record outlived its file: fetch it again.
    }
  }
  if (!(opts.download ?? !offline(process.env))) {
    throw new EngineError('E_TOKENIZER',
      `the 20B tokenizer (${NEOX_20B.file}) is not in the cache ${home} and downloading is off; give the file with ` +
        `--vocab PATH/${NEOX_20B.file}, or allow the download (unset RWKVSTREAM_OFFLINE)`);
  }
  try {
    const result = await downloadFile({
      url: NEOX_20B.url,
      dest: path.join(artifactDir(home, 'vocab', NEOX_20B.name), NEOX_20B.file),
      expected: { size: NEOX_20B.size, sha256: NEOX_20B.sha256 },
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const artifact = await writeCached(home, {
      kind: 'vocab',
      name: NEOX_20B.name,
      file: NEOX_20B.file,
      url: NEOX_20B.url,
      sha256: result.sha256,
      size: result.size,
      pulledAt: new Date().toISOString(),
    });
    return artifact.path;
  } catch (err) {
    throw new EngineError('E_TOKENIZER',
      `cannot download the 20B tokenizer from ${NEOX_20B.url}: ${err instanceof Error ? err.message : String(err)}; ` +
        `give the file with --vocab PATH/${NEOX_20B.file}`,
      { cause: err });
  }
}
