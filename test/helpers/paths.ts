// Where tests find the repository and the shared reference fixtures (../shared beside the checkout).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sharedDir = process.env.RWKV_SHARED_DIR ?? path.resolve(repoRoot, '..', 'shared');

if (!existsSync(path.join(sharedDir, 'fixtures'))) {
  throw new Error(`reference fixtures not found at ${sharedDir}/fixtures (set RWKV_SHARED_DIR)`);
}

export const fixture = (...parts: string[]): string => path.join(sharedDir, 'fixtures', ...parts);
export const dataFile = (...parts: string[]): string => path.join(sharedDir, 'data', ...parts);
export const worldVocab = dataFile('rwkv_vocab_v20230424.txt');
export const cliEntry = path.join(repoRoot, 'bin', 'rwkvstream.mjs');
