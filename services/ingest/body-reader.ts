// Documents sent by reference, read as streams at planning time. file:// is limited to configured
// directories (a message must not make a worker read any file it can). http(s):// reads fail over to a retry
// when the server or network is the problem, and fail for good when the request is (404, 403, ...).
import { createReadStream } from 'node:fs';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { permanent, transient } from '../../pipelines/errors.ts';
import type { BodyReader } from '../../pipelines/ports.ts';

export interface BodyReaderOptions {
  fileRoots: string[];
  /** No bytes for this long fails an http(s) read. */
  timeoutMs: number;
}

const RETRIABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

export class UrlBodyReader implements BodyReader {
  #roots: Promise<string[]> | null = null;

  constructor(private readonly options: BodyReaderOptions) {}

  open(url: string): AsyncIterable<Uint8Array> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw permanent('E_REF', `not a URL: ${url}`);
    }
    if (parsed.protocol === 'file:') return this.#file(parsed);
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return this.#http(parsed);
    throw permanent('E_REF', `references are file://, http:// or https:// URLs, not ${parsed.protocol}`);
  }

  #allowedRoots(): Promise<string[]> {
    this.#roots ??= Promise.all(this.options.fileRoots.map((root) => realpath(root).catch(() => path.resolve(root))));
    return this.#roots;
  }

  async *#file(url: URL): AsyncIterable<Uint8Array> {
    if (this.options.fileRoots.length === 0) {
      throw permanent('E_REF_FORBIDDEN', 'file:// references are disabled on this worker (start it with --file-root DIR)');
    }
    let real: string;
    try {
      real = await realpath(fileURLToPath(url));
    } catch (err) {
      throw permanent('E_REF_NOT_FOUND', `cannot read ${url.href}: ${(err as Error).message}`);
    }
    const roots = await this.#allowedRoots();
    if (!roots.some((root) => real === root || real.startsWith(root.endsWith(path.sep) ? root : root + path.sep))) {
      throw permanent('E_REF_FORBIDDEN', `${url.href} is outside the directories this worker may read`);
    }
    try {
      for await (const chunk of createReadStream(real, { highWaterMark: 1 << 20 })) yield chunk as Buffer;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EISDIR' || code === 'EACCES' || code === 'ENOENT') throw permanent('E_REF_NOT_FOUND', `cannot read ${url.href}: ${code}`);
      throw transient('E_REF_READ', `reading ${url.href} failed: ${(err as Error).message}`, err);
    }
  }

  async *#http(url: URL): AsyncIterable<Uint8Array> {
    const controller = new AbortController();
    let timer = setTimeout(() => controller.abort(), this.options.timeoutMs);
    const rearm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(), this.options.timeoutMs);
    };
    try {
      let response: Response;
      try {
        response = await fetch(url, { signal: controller.signal, redirect: 'follow' });
      } catch (err) {
        throw transient('E_REF_UNREACHABLE', `cannot fetch ${url.href}: ${(err as Error).message}`, err);
      }
      if (!response.ok) {
        const message = `fetching ${url.href} answered ${response.status} ${response.statusText}`;
        throw RETRIABLE_STATUS.has(response.status) ? transient('E_REF_STATUS', message) : permanent('E_REF_STATUS', message);
      }
      if (!response.body) return;
      try {
        for await (const chunk of response.body) {
          rearm();
          yield chunk;
        }
      } catch (err) {
        throw transient('E_REF_READ', `reading ${url.href} broke off: ${(err as Error).message}`, err);
      }
    } finally {
      clearTimeout(timer);
    }
  }
}
