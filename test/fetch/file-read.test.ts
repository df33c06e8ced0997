// file:// references: only regular files under the roots, judged after they are opened. A symlink swapped
// back and forth by another process while the worker reads never leads it out of the roots; FIFOs, sockets
// and devices are refused without blocking; paths outside the roots all get the same sentence.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';

import { PipelineError } from '../../pipelines/errors.ts';
import { FetchSettingsSchema } from '../../schemas/fetch.ts';
import { UrlBodyReader } from '../../services/adapters/fetch/body-reader.ts';

const base = mkdtempSync(path.join(os.tmpdir(), 'rwkvstream-file-ref-'));
const root = path.join(base, 'root');
const elsewhere = path.join(base, 'elsewhere');
mkdirSync(root);
mkdirSync(elsewhere);
writeFileSync(path.join(root, 'doc.txt'), 'inside text\n');
writeFileSync(path.join(elsewhere, 'secret.txt'), 'SECRET\n');
after(() => rmSync(base, { recursive: true, force: true }));

const reader = new UrlBodyReader({ fileRoots: [root], timeoutMs: 1000, fetch: FetchSettingsSchema.parse({}) });
const url = (file: string) => pathToFileURL(file).href;

async function read(href: string): Promise<{ body: string } | { error: PipelineError }> {
  const pieces: Buffer[] = [];
  try {
    for await (const piece of reader.open(href)) pieces.push(Buffer.from(piece));
    return { body: Buffer.concat(pieces).toString('utf8') };
  } catch (err) {
    assert.ok(err instanceof PipelineError, String(err));
    return { error: err };
  }
}

async function failure(href: string): Promise<PipelineError> {
  const outcome = await read(href);
  assert.ok('error' in outcome, `${href} was read`);
  return outcome.error;
}

/** The message with the URL taken out, to compare refusals of different paths. */
const sentence = (err: PipelineError, href: string) => `${err.code}: ${err.message.replace(href, 'URL')}`;

test('a regular file under the root is read', async () => {
  assert.deepEqual(await read(url(path.join(root, 'doc.txt'))), { body: 'inside text\n' });
});

test('outside the roots, existing or not, directly or through a link, is one refusal', async () => {
  symlinkSync(path.join(elsewhere, 'secret.txt'), path.join(root, 'to-secret'));
  symlinkSync(path.join(elsewhere, 'missing.txt'), path.join(root, 'to-missing'));
  symlinkSync(elsewhere, path.join(root, 'to-elsewhere'));
  const cases = [
    path.join(elsewhere, 'secret.txt'),
    path.join(elsewhere, 'missing.txt'),
    path.join(root, 'to-secret'),
    path.join(root, 'to-missing'),
    path.join(root, 'to-elsewhere', 'secret.txt'),
    path.join(root, 'to-elsewhere', 'missing.txt'),
    path.join(root, '..', 'elsewhere', 'secret.txt'),
  ];
  const sentences = new Set<string>();
  for (const file of cases) {
    const href = url(file);
    sentences.add(sentence(await failure(href), href));
  }
  assert.deepEqual([...sentences], ['E_REF_FORBIDDEN: URL is outside the directories this worker may read']);
});

test('inside the roots, a missing file and a directory say so', async () => {
  mkdirSync(path.join(root, 'dir'));
  const missing = await failure(url(path.join(root, 'no-such.txt')));
  assert.equal(missing.code, 'E_REF_NOT_FOUND');
  assert.match(missing.message, /no-such\.txt.*ENOENT/);
  const dir = await failure(url(path.join(root, 'dir')));
  assert.equal(dir.code, 'E_REF_NOT_FOUND');
  assert.match(dir.message, /EISDIR/);
});

test('a FIFO, a socket and a device are refused, without waiting for a writer', { timeout: 10_000 }, async () => {
  const fifo = path.join(root, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const err = await failure(url(fifo));
  assert.equal(err.code, 'E_REF_FORBIDDEN');
  assert.match(err.message, /a FIFO/);

  const socketPath = path.join(root, 'sock');
  const server = net.createServer().listen(socketPath);
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const sock = await failure(url(socketPath));
    assert.equal(sock.code, 'E_REF_FORBIDDEN');
    assert.match(sock.message, /a socket/);
  } finally {
    server.close();
  }

  // A device reached through a root that is /dev itself: the type is what refuses it.
  const devReader = new UrlBodyReader({ fileRoots: ['/dev'], timeoutMs: 1000, fetch: FetchSettingsSchema.parse({}) });
  let devError: unknown;
  try {
    for await (const _ of devReader.open('file:///dev/zero')) break;
  } catch (e) {
    devError = e;
  }
  assert.ok(
    devError instanceof PipelineError && devError.code === 'E_REF_FORBIDDEN' && /a device/.test(devError.message),
    String(devError),
  );
});

test('a symlink swapped between inside and outside while being read never yields the outside file', {
  timeout: 120_000,
}, async () => {
  const link = path.join(root, 'swapped');
  const inside = path.join(root, 'doc.txt');
  const outside = path.join(elsewhere, 'secret.txt');
  symlinkSync(inside, link);
  // Another process flips the link as fast as it can (rename over it: the name always exists).
  const swapper = spawn(
    process.execPath,
    [
      '-e',
      `
    const fs = require('node:fs');
    const [link, a, b] = process.argv.slice(1);
    for (let i = 0; ; i++) {
      const tmp = link + '.tmp';
      try { fs.unlinkSync(tmp); } catch {}
      fs.symlinkSync(i % 2 ? a : b, tmp);
      fs.renameSync(tmp, link);
    }
  `,
      link,
      inside,
      outside,
    ],
    { stdio: 'ignore' },
  );
  try {
    const seen = { inside: 0, refused: 0 };
    for (let i = 0; i < 400; i++) {
      const outcome = await read(url(link));
      if ('body' in outcome) {
        assert.equal(outcome.body, 'inside text\n', 'only the inside file is ever read');
        seen.inside++;
      } else {
        assert.equal(outcome.error.code, 'E_REF_FORBIDDEN', outcome.error.message);
        seen.refused++;
      }
    }
    assert.ok(seen.inside > 0 && seen.refused > 0, `the race was exercised: ${JSON.stringify(seen)}`);
  } finally {
    swapper.kill('SIGKILL');
  }
});
