// The downloader against a local server: a complete transfer, a connection cut mid-file and resumed with
// Range, servers that ignore Range or refuse it, a partial that is already complete (416), bad checksums
// (listing and X-Linked-Etag), 404, a changed upstream file, and the lock between concurrent downloads.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, test } from 'node:test';

import { downloadFile, fileUrl, ModelsError, type DownloadOptions } from '../../services/models/index.ts';
import { FakeHub } from './fake-hub.ts';

const REPO = 'owner/repo';
const content = randomBytes(300_000);
const other = randomBytes(200_000);
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

const hub = new FakeHub([
  { repo: REPO, path: 'model.pth', content },
  { repo: REPO, path: 'other.pth', content: other },
]);
let dir: string;
let n = 0;

before(async () => {
  await hub.start();
});
after(async () => {
  await hub.close();
});
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rwkvstream-download-'));
  hub.requests.length = 0;
  Object.assign(hub.behaviour, {
    redirect: false,
    linkedEtag: undefined,
    ignoreRange: false,
    refuseRange: false,
    cutAfter: 0,
    cuts: 0,
    extraLength: 0,
  });
});

function options(overrides: Partial<DownloadOptions> = {}): DownloadOptions {
  return {
    url: fileUrl(hub.url, REPO, 'model.pth'),
    dest: path.join(dir, `model-${n++}.pth`),
    expected: { size: content.length, sha256: sha(content) },
    retryDelayMs: 0,
    ...overrides,
  };
}

async function rejected(promise: Promise<unknown>): Promise<ModelsError> {
  const err = await promise.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ModelsError, String(err));
  return err;
}

test('a complete download is verified, renamed into place, and reports progress up to the size', async () => {
  const seen: number[] = [];
  const opts = options({ onProgress: (p) => seen.push(p.done) });
  const result = await downloadFile(opts);
  assert.deepEqual(readFileSync(opts.dest), content);
  assert.equal(result.sha256, sha(content));
  assert.equal(result.resumedFrom, 0);
  assert.equal(seen.at(-1), content.length);
  assert.ok(seen.every((v, i) => i === 0 || v >= seen[i - 1]!));
  assert.equal(existsSync(`${opts.dest}.partial`), false);
  assert.equal(existsSync(`${opts.dest}.lock`), false);
});

test('a connection cut mid-file leaves the partial file, and the next call resumes it with Range', async () => {
  hub.behaviour.cutAfter = 100_000;
  hub.behaviour.cuts = 1;
  const opts = options({ retries: 0 });
  const err = await rejected(downloadFile(opts));
  assert.equal(err.code, 'E_DOWNLOAD');
  assert.equal(err.retriable, true);
  assert.equal(existsSync(opts.dest), false);
  const kept = statSync(`${opts.dest}.partial`).size;
  assert.ok(kept > 0 && kept <= 100_000, `kept ${kept}`);

  const result = await downloadFile(opts);
  assert.equal(result.resumedFrom, kept);
  assert.deepEqual(readFileSync(opts.dest), content);
  const last = hub.downloads().at(-1)!;
  assert.equal(last.range, `bytes=${kept}-`);
  assert.equal(last.status, 206);
});

test('within one call, a cut transfer is retried from where it stopped', async () => {
  hub.behaviour.cutAfter = 50_000;
  hub.behaviour.cuts = 2;
  const opts = options();
  const result = await downloadFile(opts);
  assert.equal(result.attempts, 3);
  assert.deepEqual(readFileSync(opts.dest), content);
  const ranges = hub.downloads().map((r) => r.range);
  assert.equal(ranges[0], undefined);
  assert.match(ranges[1] ?? '', /^bytes=\d+-$/);
  assert.match(ranges[2] ?? '', /^bytes=\d+-$/);
});

test('a server that ignores Range (200 instead of 206) gets the file rewritten from the start', async () => {
  hub.behaviour.cutAfter = 120_000;
  hub.behaviour.cuts = 1;
  const opts = options({ retries: 0 });
  await rejected(downloadFile(opts));
  hub.behaviour.ignoreRange = true;
  const result = await downloadFile(opts);
  assert.deepEqual(readFileSync(opts.dest), content);
  assert.equal(result.size, content.length);
  const last = hub.downloads().at(-1)!;
  assert.match(last.range ?? '', /^bytes=\d+-$/);
  assert.equal(last.status, 200);
});

test('a server that refuses the range (416) makes the download start over', async () => {
  hub.behaviour.cutAfter = 80_000;
  hub.behaviour.cuts = 1;
  const opts = options({ retries: 0 });
  await rejected(downloadFile(opts));
  hub.behaviour.refuseRange = true;
  const result = await downloadFile({ ...opts, retries: 1 });
  assert.deepEqual(readFileSync(opts.dest), content);
  assert.deepEqual(
    hub
      .downloads()
      .slice(-2)
      .map((r) => r.status),
    [416, 200],
  );
  assert.equal(result.attempts, 2);
});

test('a partial that already holds every byte is completed by a 416 without a transfer', async () => {
  // A proxy announces more than it sends: the client stops with all bytes on disk but unverified.
  hub.behaviour.extraLength = 10;
  const opts = options({ retries: 0, expected: { sha256: sha(content) } });
  await rejected(downloadFile(opts));
  assert.equal(statSync(`${opts.dest}.partial`).size, content.length);
  hub.behaviour.extraLength = 0;
  const result = await downloadFile(opts);
  assert.deepEqual(readFileSync(opts.dest), content);
  assert.equal(result.resumedFrom, content.length);
  const last = hub.downloads().at(-1)!;
  assert.equal(last.range, `bytes=${content.length}-`);
  assert.equal(last.status, 416);
});

test('a checksum mismatch deletes the partial file and names the expected and actual sha256', async () => {
  const wrong = 'ab'.repeat(32);
  const opts = options({ expected: { size: content.length, sha256: wrong } });
  const err = await rejected(downloadFile(opts));
  assert.equal(err.code, 'E_CHECKSUM');
  assert.ok(err.message.includes(wrong), err.message);
  assert.ok(err.message.includes(sha(content)), err.message);
  assert.equal(existsSync(`${opts.dest}.partial`), false);
  assert.equal(existsSync(opts.dest), false);
});

test('the X-Linked-Etag of a redirect is the checksum when the caller has none', async () => {
  hub.behaviour.redirect = true;
  const good = options({ expected: { size: content.length } });
  assert.equal((await downloadFile(good)).sha256, sha(content));
  assert.ok(hub.requests.some((r) => r.status === 302));

  hub.behaviour.linkedEtag = 'cd'.repeat(32);
  const bad = options({ expected: { size: content.length } });
  const err = await rejected(downloadFile(bad));
  assert.equal(err.code, 'E_CHECKSUM');
  assert.ok(err.message.includes('cd'.repeat(32)));
});

test('a plain (non-LFS) file is verified by its git blob id', async () => {
  const blob = createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
  const opts = options({ expected: { size: content.length, gitSha1: blob } });
  assert.equal((await downloadFile(opts)).sha256, sha(content));
  const err = await rejected(downloadFile(options({ expected: { size: content.length, gitSha1: '0'.repeat(40) } })));
  assert.equal(err.code, 'E_CHECKSUM');
});

test('404 fails at once with the URL', async () => {
  const url = fileUrl(hub.url, REPO, 'missing.pth');
  const err = await rejected(downloadFile(options({ url })));
  assert.equal(err.code, 'E_DOWNLOAD_NOT_FOUND');
  assert.ok(err.message.includes(url));
  assert.equal(hub.downloads().length, 1);
});

test('a partial of another upstream file is discarded instead of being continued', async () => {
  hub.behaviour.cutAfter = 60_000;
  hub.behaviour.cuts = 1;
  const dest = path.join(dir, 'changing.pth');
  await rejected(downloadFile(options({ dest, retries: 0 })));
  const result = await downloadFile(
    options({
      dest,
      url: fileUrl(hub.url, REPO, 'other.pth'),
      expected: { size: other.length, sha256: sha(other) },
    }),
  );
  assert.equal(result.resumedFrom, 0);
  assert.deepEqual(readFileSync(dest), other);
  assert.equal(hub.downloads().at(-1)!.range, undefined);
});

test('a download held by a running process is refused; a lock left by a dead one is taken over', async () => {
  const busy = options();
  writeFileSync(`${busy.dest}.lock`, String(process.pid));
  const err = await rejected(downloadFile(busy));
  assert.equal(err.code, 'E_DOWNLOAD_BUSY');
  assert.ok(err.message.includes(String(process.pid)));

  const stale = options();
  const dead = spawnSync(process.execPath, ['-e', '']).pid!;
  writeFileSync(`${stale.dest}.lock`, String(dead));
  await downloadFile(stale);
  assert.deepEqual(readFileSync(stale.dest), content);
  assert.equal(existsSync(`${stale.dest}.lock`), false);
});
