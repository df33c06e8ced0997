// The per-document token limit: 2^24 by default, set by flag, environment or config file, and applied by the
// embedded commands (a document past it is refused with E_TOO_LARGE before any model work).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, test } from 'node:test';

import { PipelineSettingsSchema } from '../../schemas/config.ts';
import { loadConfig } from '../../services/config/index.ts';
import { tinyModel } from '../helpers/fixtures.ts';
import { cliEntry } from '../helpers/paths.ts';

const exec = promisify(execFile);
const dir = mkdtempSync(path.join(tmpdir(), 'rwkvstream-max-tokens-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the token limit defaults to 16,777,216 and is read from flag, environment and file', async () => {
  assert.equal(PipelineSettingsSchema.parse({}).maxDocumentTokens, 16_777_216);
  const load = (env: NodeJS.ProcessEnv, flags = {}) =>
    loadConfig({ env: { HOME: '/home/u', ...env }, flags, cwd: dir });
  assert.equal((await load({})).config.maxDocumentTokens, 16_777_216);
  const fromEnv = await load({ RWKVSTREAM_MAX_DOCUMENT_TOKENS: '5000' });
  assert.equal(fromEnv.config.maxDocumentTokens, 5000);
  assert.equal(fromEnv.origin('maxDocumentTokens'), 'environment RWKVSTREAM_MAX_DOCUMENT_TOKENS');
  assert.equal(
    (await load({ RWKVSTREAM_MAX_DOCUMENT_TOKENS: '5000' }, { maxDocumentTokens: '7' })).config.maxDocumentTokens,
    7,
  );
  const file = path.join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ maxDocumentTokens: 123 }));
  assert.equal((await load({ RWKVSTREAM_CONFIG: file })).config.maxDocumentTokens, 123);
  await assert.rejects(load({ RWKVSTREAM_MAX_DOCUMENT_TOKENS: '0' }), /maxDocumentTokens/);
});

test('summarize refuses a document past --max-document-tokens with E_TOO_LARGE', { timeout: 120_000 }, async () => {
  const file = path.join(dir, 'doc.txt');
  writeFileSync(file, 'The fox walks along the river. '.repeat(20)); // 620 bytes: 620 tokens on the byte-level model
  const run = (...extra: string[]) =>
    exec(
      process.execPath,
      [
        cliEntry,
        'summarize',
        file,
        '--model',
        tinyModel,
        '--threads',
        '1',
        '--checkpoint-dir',
        path.join(dir, 'jobs'),
        '--quiet',
        '--max-tokens',
        '4',
        ...extra,
      ],
      { cwd: dir },
    );
  await assert.rejects(run('--max-document-tokens', '600'), (err: { code?: number; stderr?: string }) => {
    assert.notEqual(err.code, 0);
    assert.match(err.stderr ?? '', /E_TOO_LARGE/);
    assert.match(err.stderr ?? '', /limit of 600 tokens/);
    return true;
  });
  const { stdout } = await run('--max-document-tokens', '620', '--restart');
  assert.ok(stdout.length > 0, 'at the limit it is summarized');
});
