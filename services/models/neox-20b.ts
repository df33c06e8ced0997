// The GPT-NeoX 20B tokenizer of the RWKV-4 Pile models in the models cache (<home>/vocab/20b/): found there,
// else downloaded from BlinkDL's ChatRWKV repository and checked against the size and sha256 the engine pins
// (engine/neox-20b.ts), unless the configuration is offline. The engine is handed the file's path.
import { access } from 'node:fs/promises';
import path from 'node:path';

import type { AppConfig } from '../../schemas/app-config.ts';
import { NEOX_20B } from '../../engine/neox-20b.ts';
import { artifactDir, readCached, writeCached } from './cache.ts';
import { downloadFile } from './download.ts';
import { ModelsError } from './errors.ts';
import { describeError } from './hf.ts';
import type { PullProgress } from './pull.ts';

export const NEOX_20B_URL = 'https://raw.githubusercontent.com/BlinkDL/ChatRWKV/main/20B_tokenizer.json';

export interface Neox20bOptions {
  /** false: never download (doctor); default: download unless `config.offline`. */
  download?: boolean;
  onProgress?: (progress: PullProgress) => void;
  signal?: AbortSignal;
}

export interface Neox20bFile {
  path: string;
  from: 'cache' | 'download';
}

/** The 20B tokenizer file in the cache, downloading and verifying it there first when it is missing. */
export async function neox20bFile(
  config: Pick<AppConfig, 'home' | 'offline'>,
  opts: Neox20bOptions = {},
): Promise<Neox20bFile> {
  const cached = await readCached(config.home, 'vocab', NEOX_20B.name);
  if (cached && cached.sha256 === NEOX_20B.sha256) {
    try {
      await access(cached.path);
      return { path: cached.path, from: 'cache' };
    } catch {
      // The record outlived its file: fetch it again.
    }
  }
  if (!(opts.download ?? !config.offline)) {
    const why = config.offline
      ? 'offline mode is on (RWKVSTREAM_OFFLINE or --offline)'
      : 'this command does not download';
    throw new ModelsError(
      'E_VOCAB_NOT_FOUND',
      `the 20B tokenizer (${NEOX_20B.file}) is not in the cache ${config.home} and ${why}; give the file with ` +
        `--vocab PATH/${NEOX_20B.file}, or allow the download`,
    );
  }
  try {
    const result = await downloadFile({
      url: NEOX_20B_URL,
      dest: path.join(artifactDir(config.home, 'vocab', NEOX_20B.name), NEOX_20B.file),
      expected: { size: NEOX_20B.size, sha256: NEOX_20B.sha256 },
      ...(opts.onProgress
        ? { onProgress: (p) => opts.onProgress?.({ ...p, name: NEOX_20B.name, file: NEOX_20B.file }) }
        : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const artifact = await writeCached(config.home, {
      kind: 'vocab',
      name: NEOX_20B.name,
      file: NEOX_20B.file,
      url: NEOX_20B_URL,
      sha256: result.sha256,
      size: result.size,
      pulledAt: new Date().toISOString(),
    });
    return { path: artifact.path, from: 'download' };
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    throw new ModelsError(
      'E_VOCAB_NOT_FOUND',
      `cannot download the 20B tokenizer from ${NEOX_20B_URL}: ${describeError(err)}; give the file with --vocab PATH/${NEOX_20B.file}`,
      { cause: err },
    );
  }
}
