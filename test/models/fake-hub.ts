// A local stand-in for the Hugging Face Hub on 127.0.0.1: the tree API and file downloads (optionally through
// a redirect carrying X-Linked-Etag, like the real Hub's LFS files), with switchable misbehaviour — cut
// connections, ignored Range headers, lying Content-Length — to drive the downloader's recovery paths.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { ModelCatalogSchema } from '../../schemas/models.ts';
import { MODEL_CATALOG } from '../../services/models/index.ts';

/** The real catalog with test-sized files (200 kB): the name patterns and the size check stay in force. */
export const smallCatalog = ModelCatalogSchema.parse(MODEL_CATALOG.map((m) => ({ ...m, fileBytes: 200_000 })));

export interface HubFile {
  repo: string;
  path: string;
  content: Buffer;
  /** LFS files carry their sha256 in the listing; plain files a git blob id. Default: .pth files are LFS. */
  lfs?: boolean;
  /** A wrong sha256 in the listing (bad checksum tests). */
  listedSha256?: string;
}

export interface HubRequest {
  method: string;
  url: string;
  range: string | undefined;
  status: number;
}

export interface HubBehaviour {
  /** Serve files through a 302 to /cdn/… with X-Linked-Etag (the Hub's LFS path). */
  redirect: boolean;
  /** The sha256 sent in X-Linked-Etag (default: the real one). */
  linkedEtag: string | undefined;
  /** Answer every download with 200 and the whole file, whatever the Range. */
  ignoreRange: boolean;
  /** Answer every ranged request with 416. */
  refuseRange: boolean;
  /** Close the connection after this many body bytes, for the next `cuts` downloads. */
  cutAfter: number;
  cuts: number;
  /** Announce this many more bytes than are sent (a proxy that lies), then close. */
  extraLength: number;
  /** Listing entries per page (Link: rel="next" pagination); 0: one page. */
  pageSize: number;
  /** Raw files outside any repository: path -> content (e.g. a vocabulary on another host). */
  raw: Map<string, Buffer>;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const gitBlobId = (b: Buffer): string => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

export class FakeHub {
  readonly files: HubFile[];
  readonly requests: HubRequest[] = [];
  readonly behaviour: HubBehaviour = {
    redirect: false,
    linkedEtag: undefined,
    ignoreRange: false,
    refuseRange: false,
    cutAfter: 0,
    cuts: 0,
    extraLength: 0,
    pageSize: 0,
    raw: new Map(),
  };
  #server: Server | undefined;
  #url = '';

  constructor(files: HubFile[]) {
    this.files = files;
  }

  get url(): string {
    return this.#url;
  }

  /** Requests for file bytes (not the listing, not redirects). */
  downloads(): HubRequest[] {
    return this.requests.filter((r) => !r.url.startsWith('/api/') && r.status !== 302);
  }

  async start(): Promise<this> {
    this.#server = createServer((req, res) => this.#handle(req, res));
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.#url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()) ?? resolve());
  }

  #log(req: IncomingMessage, status: number): void {
    this.requests.push({ method: req.method ?? 'GET', url: req.url ?? '', range: req.headers.range, status });
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://hub');
    const tree = url.pathname.match(/^\/api\/models\/([^/]+\/[^/]+)\/tree\/main$/);
    if (tree) {
      this.#listing(req, res, tree[1]!, Number(url.searchParams.get('cursor') ?? 0));
      return;
    }
    const resolve = url.pathname.match(/^\/([^/]+\/[^/]+)\/resolve\/main\/(.+)$/);
    const cdn = url.pathname.match(/^\/cdn\/([^/]+\/[^/]+)\/(.+)$/);
    const match = resolve ?? cdn;
    if (match) {
      const file = this.files.find((f) => f.repo === match[1] && f.path === decodeURIComponent(match[2]!));
      if (!file) {
        this.#status(req, res, 404);
        return;
      }
      if (resolve && this.behaviour.redirect) {
        this.#log(req, 302);
        res.writeHead(302, {
          location: `/cdn/${file.repo}/${encodeURIComponent(file.path)}`,
          'x-linked-etag': `"${this.behaviour.linkedEtag ?? sha256(file.content)}"`,
          'x-linked-size': String(file.content.length),
        });
        res.end();
        return;
      }
      this.#serve(req, res, file.content);
      return;
    }
    const raw = this.behaviour.raw.get(url.pathname);
    if (raw) this.#serve(req, res, raw);
    else this.#status(req, res, 404);
  }

  #status(req: IncomingMessage, res: ServerResponse, status: number): void {
    this.#log(req, status);
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(`status ${status}`);
  }

  #listing(req: IncomingMessage, res: ServerResponse, repo: string, cursor: number): void {
    const files = this.files.filter((f) => f.repo === repo);
    if (files.length === 0) {
      this.#status(req, res, 404);
      return;
    }
    const entries = files.map((f) => {
      const lfs = f.lfs ?? f.path.endsWith('.pth');
      return lfs
        ? {
            type: 'file',
            path: f.path,
            size: f.content.length,
            oid: gitBlobId(Buffer.from('pointer')),
            lfs: { oid: f.listedSha256 ?? sha256(f.content), size: f.content.length, pointerSize: 134 },
          }
        : { type: 'file', path: f.path, size: f.content.length, oid: gitBlobId(f.content) };
    });
    entries.unshift({ type: 'directory', path: 'docs', size: 0, oid: gitBlobId(Buffer.from('dir')) } as never);
    const size = this.behaviour.pageSize || entries.length;
    const page = entries.slice(cursor, cursor + size);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (cursor + size < entries.length)
      headers.link = `</api/models/${repo}/tree/main?recursive=true&cursor=${cursor + size}>; rel="next"`;
    this.#log(req, 200);
    res.writeHead(200, headers);
    res.end(JSON.stringify(page));
  }

  #serve(req: IncomingMessage, res: ServerResponse, content: Buffer): void {
    const b = this.behaviour;
    const range = req.headers.range?.match(/^bytes=(\d+)-$/);
    let status = 200;
    let body = content;
    const headers: Record<string, string> = { 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
    if (range && !b.ignoreRange) {
      const start = Number(range[1]);
      if (b.refuseRange || start >= content.length) {
        this.#log(req, 416);
        res.writeHead(416, { 'content-range': `bytes */${content.length}` });
        res.end();
        return;
      }
      status = 206;
      body = content.subarray(start);
      headers['content-range'] = `bytes ${start}-${content.length - 1}/${content.length}`;
    }
    headers['content-length'] = String(body.length + b.extraLength);
    this.#log(req, status);
    res.writeHead(status, headers);
    const cut = b.cuts > 0 && b.cutAfter < body.length;
    if (cut) b.cuts--;
    if (cut || b.extraLength > 0) {
      // Send part of the body, then end the TCP stream: the client sees fewer bytes than announced.
      res.write(cut ? body.subarray(0, b.cutAfter) : body, () => res.socket?.end());
      return;
    }
    res.end(body);
  }
}
