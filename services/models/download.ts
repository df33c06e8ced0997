// Downloads one file of gigabytes over flaky links: bytes go to `<dest>.partial`, a broken transfer continues
// from where it stopped (HTTP Range), the content is verified against its checksum, and only a verified file
// is renamed to `dest` — so `dest` either does not exist or is complete and correct.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { IncomingMessage } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';

import { ModelsError } from './errors.ts';
import { formatBytes } from './format.ts';
import { describeError } from './hf.ts';
import { httpGet } from './http-get.ts';

export interface ExpectedContent {
  size?: number;
  sha256?: string;
  /** Git blob id; needs `size` (it is hashed into the blob header). */
  gitSha1?: string;
}

export interface DownloadProgress {
  done: number;
  total: number | undefined;
}

export interface DownloadOptions {
  url: string;
  dest: string;
  expected: ExpectedContent;
  onProgress?: (progress: DownloadProgress) => void;
  /** Further attempts after a broken or refused transfer (each continues the partial file). Default 4. */
  retries?: number;
  /** Wait before the first retry, doubled for each further one. Default 1000. */
  retryDelayMs?: number;
  signal?: AbortSignal;
}

export interface DownloadResult {
  path: string;
  size: number;
  sha256: string;
  /** Bytes already on disk when this call started (0: a fresh download). */
  resumedFrom: number;
  attempts: number;
}

const MAX_REDIRECTS = 10;
/** A transfer with no data for this long is broken (and retried from where it stopped). */
const IDLE_TIMEOUT_MS = 60_000;
/** The network is held back only when the disk falls this far behind. */
const MAX_UNWRITTEN = 64 * 1024 * 1024;
const SHA256 = /^[0-9a-f]{64}$/;

/** sha256 of the content, plus the git blob id when the listing gave one instead of an LFS sha256. */
class ContentHash {
  readonly #sha256: Hash = createHash('sha256');
  readonly #gitSha1: Hash | undefined;

  constructor(gitBlobSize?: number) {
    if (gitBlobSize !== undefined) {
      this.#gitSha1 = createHash('sha1');
      this.#gitSha1.update(`blob ${gitBlobSize}\0`);
    }
  }

  update(chunk: Buffer): void {
    this.#sha256.update(chunk);
    this.#gitSha1?.update(chunk);
  }

  digest(): { sha256: string; gitSha1: string | undefined } {
    return { sha256: this.#sha256.digest('hex'), gitSha1: this.#gitSha1?.digest('hex') };
  }
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

async function hashFile(hash: ContentHash, file: string, length: number): Promise<void> {
  if (length === 0) return;
  for await (const chunk of createReadStream(file, { start: 0, end: length - 1 })) hash.update(chunk as Buffer);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One writer per partial file: two processes appending to the same `.partial` would interleave bytes. A lock
 * left by a process that no longer runs is taken over.
 */
async function acquireLock(lockFile: string, dest: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockFile, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(lockFile, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await readFile(lockFile, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
        throw new ModelsError(
          'E_DOWNLOAD_BUSY',
          `${dest} is being downloaded by process ${pid}; wait for it to finish (or delete ${lockFile} if no such download runs)`,
        );
      }
      await rm(lockFile, { force: true });
    }
  }
  throw new ModelsError('E_DOWNLOAD_BUSY', `cannot take the download lock ${lockFile}`);
}

/**
 * A partial file continues only a download of the same content: when the upstream file changed (a new
 * release under the same name), the old bytes are dropped instead of being completed with the new ones.
 */
async function keepPartialIfSame(partial: string, url: string, expected: ExpectedContent): Promise<void> {
  const metaFile = `${partial}.json`;
  const identity = JSON.stringify({ url: expected.sha256 || expected.gitSha1 ? undefined : url, ...expected });
  const previous = await readFile(metaFile, 'utf8').catch(() => undefined);
  if (previous !== identity) {
    await rm(partial, { force: true });
    await writeFile(metaFile, identity);
  }
}

/** `X-Linked-Etag: "<sha256>"` — the Hub's checksum of an LFS file, sent with the redirect to its storage. */
function linkedSha256(header: string | null): string | undefined {
  const value = header?.replace(/^W\//, '').replace(/"/g, '').trim().toLowerCase();
  return value !== undefined && SHA256.test(value) ? value : undefined;
}

interface Answer {
  res: IncomingMessage;
  sha256?: string;
}

function header(res: IncomingMessage, name: string): string | null {
  const value = res.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? null;
}

/**
 * node:http rather than fetch: a web stream drops the bytes it has queued when the connection breaks, and
 * here every byte that arrived must reach the partial file. Through the environment's proxy (http-get.ts).
 */
function get(url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<IncomingMessage> {
  return httpGet(url, {
    headers: { 'user-agent': 'rwkvstream', ...headers },
    timeoutMs: IDLE_TIMEOUT_MS,
    ...(signal ? { signal } : {}),
  });
}

/** Follows redirects by hand: the checksum header is on the redirect, and Range must reach the final host. */
async function getFollowing(url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<Answer> {
  let current = url;
  let sha256: string | undefined;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    let res: IncomingMessage;
    try {
      res = await get(current, headers, signal);
    } catch (err) {
      if (signal?.aborted || (err instanceof ModelsError && !err.retriable)) throw err;
      throw new ModelsError('E_DOWNLOAD', `cannot reach ${current}: ${describeError(err)}`, {
        cause: err,
        retriable: true,
      });
    }
    sha256 ??= linkedSha256(header(res, 'x-linked-etag'));
    const location = header(res, 'location');
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && location) {
      res.resume();
      current = new URL(location, current).toString();
      continue;
    }
    return sha256 === undefined ? { res } : { res, sha256 };
  }
  throw new ModelsError('E_DOWNLOAD', `more than ${MAX_REDIRECTS} redirects from ${url}`);
}

// Content-Range: "bytes 100-199/1000", or "bytes */1000" with a 416.
function contentRange(header: string | null): { start?: number; total?: number } | undefined {
  const match = header?.match(/^bytes\s+(?:(\d+)-\d+|\*)\/(\d+|\*)$/);
  if (!match) return undefined;
  return {
    ...(match[1] !== undefined ? { start: Number(match[1]) } : {}),
    ...(match[2] !== '*' ? { total: Number(match[2]) } : {}),
  };
}

function contentLength(res: IncomingMessage): number | undefined {
  const value = header(res, 'content-length');
  return value !== null && /^\d+$/.test(value) ? Number(value) : undefined;
}

interface Attempt {
  hash: ContentHash;
  size: number;
  sha256?: string;
}

async function attempt(partial: string, opts: DownloadOptions): Promise<Attempt> {
  const { url, expected } = opts;
  let offset = await fileSize(partial);
  if (expected.size !== undefined && offset > expected.size) {
    await rm(partial, { force: true });
    offset = 0;
  }
  const gitBlobSize = expected.gitSha1 !== undefined ? expected.size : undefined;
  const complete = async (size: number, sha256?: string): Promise<Attempt> => {
    const hash = new ContentHash(gitBlobSize);
    await hashFile(hash, partial, size);
    return sha256 === undefined ? { hash, size } : { hash, size, sha256 };
  };
  if (offset > 0 && offset === expected.size) return complete(offset);

  // The prefix is hashed before the request: once the response is here, its listeners must be attached
  // without awaiting anything, or a connection that breaks meanwhile would go unnoticed.
  const prefixHash = new ContentHash(gitBlobSize);
  await hashFile(prefixHash, partial, offset);
  const { res, sha256 } = await getFollowing(url, offset > 0 ? { range: `bytes=${offset}-` } : {}, opts.signal);
  let start: number;
  let total: number | undefined;
  if (res.statusCode === 206) {
    const range = contentRange(header(res, 'content-range'));
    if (range?.start !== offset) {
      res.resume();
      await rm(partial, { force: true });
      throw new ModelsError(
        'E_DOWNLOAD',
        `${url} answered the range bytes=${offset}- with ${header(res, 'content-range') ?? 'no Content-Range'}; starting over`,
        { retriable: true },
      );
    }
    start = offset;
    total = range.total ?? expected.size;
  } else if (res.statusCode === 200) {
    // The server ignored Range (or there was nothing to resume): the body is the whole file.
    start = 0;
    total = contentLength(res) ?? expected.size;
  } else if (res.statusCode === 416) {
    res.resume();
    const range = contentRange(header(res, 'content-range'));
    const remoteSize = range?.total ?? expected.size;
    if (offset > 0 && remoteSize === offset) return complete(offset, sha256);
    await rm(partial, { force: true });
    throw new ModelsError('E_DOWNLOAD', `${url} refused the range bytes=${offset}- (HTTP 416); starting over`, {
      retriable: true,
    });
  } else {
    res.resume();
    if (res.statusCode === 404) throw new ModelsError('E_DOWNLOAD_NOT_FOUND', `${url}: HTTP 404 Not Found`);
    const status = res.statusCode ?? 0;
    const retriable = status >= 500 || status === 429 || status === 408;
    throw new ModelsError('E_DOWNLOAD', `${url}: HTTP ${status} ${res.statusMessage ?? ''}`.trim(), { retriable });
  }
  if (expected.size !== undefined && total !== undefined && total !== expected.size) {
    res.resume();
    throw new ModelsError('E_DOWNLOAD', `${url} has ${total} bytes, but the repository listing says ${expected.size}`);
  }

  const hash = start === offset ? prefixHash : new ContentHash(gitBlobSize);
  let done = start;
  opts.onProgress?.({ done, total });
  // Every chunk goes to the file as it arrives (flowing mode): when the connection breaks, nothing received is
  // lost, and the next attempt continues from the file's size.
  const sink = createWriteStream(partial, { flags: start > 0 ? 'a' : 'w' });
  let diskError: Error | undefined;
  const broken = await new Promise<unknown>((resolve) => {
    sink.on('error', (err) => {
      diskError = err;
      res.destroy();
      resolve(err);
    });
    res.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      done += chunk.length;
      sink.write(chunk);
      if (sink.writableLength > MAX_UNWRITTEN) {
        res.pause();
        sink.once('drain', () => res.resume());
      }
      opts.onProgress?.({ done, total });
    });
    res.on('error', resolve);
    res.on('close', () => resolve(res.complete ? undefined : new Error('the connection closed early')));
  });
  await new Promise<void>((resolve) => sink.end(() => resolve()));
  if (diskError !== undefined) {
    throw new ModelsError('E_DOWNLOAD', `cannot write ${partial}: ${diskError.message}`, { cause: diskError });
  }
  if (broken !== undefined) {
    if (opts.signal?.aborted) throw broken;
    throw new ModelsError(
      'E_DOWNLOAD',
      `the transfer of ${url} broke after ${formatBytes(done)}: ${describeError(broken)}`,
      { cause: broken, retriable: true },
    );
  }
  if (total !== undefined && done < total) {
    throw new ModelsError('E_DOWNLOAD', `${url} ended after ${done} of ${total} bytes`, { retriable: true });
  }
  if (total !== undefined && done > total) {
    await rm(partial, { force: true });
    throw new ModelsError('E_DOWNLOAD', `${url} sent ${done} bytes, more than the ${total} announced`);
  }
  return sha256 === undefined ? { hash, size: done } : { hash, size: done, sha256 };
}

export async function downloadFile(opts: DownloadOptions): Promise<DownloadResult> {
  const { dest, expected } = opts;
  if (expected.gitSha1 !== undefined && expected.size === undefined) {
    throw new ModelsError('E_DOWNLOAD', 'a git blob id can only be checked with the file size');
  }
  const retries = opts.retries ?? 4;
  const retryDelayMs = opts.retryDelayMs ?? 1000;
  await mkdir(path.dirname(dest), { recursive: true });
  const release = await acquireLock(`${dest}.lock`, dest);
  const partial = `${dest}.partial`;
  try {
    await keepPartialIfSame(partial, opts.url, expected);
    const resumedFrom = await fileSize(partial);
    let attempts = 0;
    let result: Attempt;
    for (;;) {
      attempts++;
      try {
        result = await attempt(partial, opts);
        break;
      } catch (err) {
        if (!(err instanceof ModelsError && err.retriable) || attempts > retries || opts.signal?.aborted) throw err;
        await delay(retryDelayMs * 2 ** (attempts - 1), undefined, opts.signal ? { signal: opts.signal } : {});
      }
    }
    const got = result.hash.digest();
    const wantSha256 = expected.sha256 ?? result.sha256;
    const mismatch =
      wantSha256 !== undefined && got.sha256 !== wantSha256
        ? `sha256 ${got.sha256}, expected ${wantSha256}`
        : expected.gitSha1 !== undefined && got.gitSha1 !== expected.gitSha1
          ? `git blob id ${got.gitSha1}, expected ${expected.gitSha1}`
          : undefined;
    if (mismatch !== undefined || (wantSha256 === undefined && expected.gitSha1 === undefined)) {
      await rm(partial, { force: true });
      await rm(`${partial}.json`, { force: true });
      throw new ModelsError(
        'E_CHECKSUM',
        mismatch !== undefined
          ? `${opts.url} has ${mismatch}; the download was deleted (run the command again; the same mismatch again means the server sends other bytes than the repository lists)`
          : `${opts.url} came with no checksum (no sha256 in the listing or X-Linked-Etag header); the download was deleted`,
      );
    }
    await rename(partial, dest);
    await rm(`${partial}.json`, { force: true });
    return { path: dest, size: result.size, sha256: got.sha256, resumedFrom, attempts };
  } finally {
    await release();
  }
}
