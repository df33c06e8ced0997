// Where tests find the repository, the shared reference fixtures (../shared beside the checkout) and the CLI.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildDist } from '../../tools/build-dist.mjs';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sharedDir = process.env.RWKV_SHARED_DIR ?? path.resolve(repoRoot, '..', 'shared');

if (!existsSync(path.join(sharedDir, 'fixtures'))) {
  throw new Error(`reference fixtures not found at ${sharedDir}/fixtures (set RWKV_SHARED_DIR)`);
}

export const fixture = (...parts: string[]): string => path.join(sharedDir, 'fixtures', ...parts);
export const dataFile = (...parts: string[]): string => path.join(sharedDir, 'data', ...parts);
export const worldVocab = dataFile('rwkv_vocab_v20230424.txt');

/**
 * The command users run: package.json's `bin`, the compiled JavaScript in dist/. It is rebuilt here when a source
 * is newer than it (npm test rebuilds it anyway), so a test never runs an outdated build.
 */
const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  bin: { rwkvstream: string };
};
export const cliEntry = path.join(repoRoot, manifest.bin.rwkvstream);
buildDist({ ifStale: true });
