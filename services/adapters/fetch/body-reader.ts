// Documents sent by reference, read as streams at planning time. A message must not make a worker read any
// file it can, or connect anywhere it can: file:// is limited to configured directories and to regular files
// (services/adapters/fetch/file-read.ts), http(s):// to the servers the operator allowed, with a deadline and a byte
// cap (services/adapters/fetch/http-fetch.ts). Reads fail over to a retry when the server or network is the problem,
// and fail for good when the request is (a refusal, 404, 403, ...).
import { permanent } from '../../../pipelines/errors.ts';
import type { BodyReader } from '../../../pipelines/ports.ts';
import type { FetchSettings } from '../../../schemas/fetch.ts';
import { openUnderRoots, readOpened, resolveRoots, type FileRoots } from './file-read.ts';
import { fetchBody, type Lookup } from './http-fetch.ts';
import { FetchPolicy } from './policy.ts';

export interface BodyReaderOptions {
  fileRoots: string[];
  /** No bytes for this long fails an http(s) read. */
  timeoutMs: number;
  fetch: FetchSettings;
  /** Host name resolution (tests point names inward with it). */
  lookup?: Lookup;
  /** Certificate authorities trusted for https (tests); the system's by default. */
  ca?: string | Buffer;
}

export class UrlBodyReader implements BodyReader {
  #roots: Promise<FileRoots> | null = null;
  readonly #policy: FetchPolicy;

  constructor(private readonly options: BodyReaderOptions) {
    this.#policy = new FetchPolicy(options.fetch.allow);
  }

  open(url: string): AsyncIterable<Uint8Array> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw permanent('E_REF', `not a URL: ${url.slice(0, 200)}`);
    }
    if (parsed.protocol === 'file:') return this.#file(parsed);
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:') {
      if (this.#policy.empty) {
        throw permanent(
          'E_REF_FORBIDDEN',
          'http(s) references are disabled on this worker (start it with --fetch-allow HOST[:PORT],...)',
        );
      }
      return fetchBody(parsed, {
        policy: this.#policy,
        settings: this.options.fetch,
        idleMs: this.options.timeoutMs,
        ...(this.options.lookup ? { lookup: this.options.lookup } : {}),
        ...(this.options.ca ? { ca: this.options.ca } : {}),
      });
    }
    throw permanent('E_REF', `references are file://, http:// or https:// URLs, not ${parsed.protocol}`);
  }

  async *#file(url: URL): AsyncIterable<Uint8Array> {
    if (this.options.fileRoots.length === 0) {
      throw permanent(
        'E_REF_FORBIDDEN',
        'file:// references are disabled on this worker (start it with --file-root DIR)',
      );
    }
    this.#roots ??= resolveRoots(this.options.fileRoots);
    const handle = await openUnderRoots(url, await this.#roots);
    yield* readOpened(handle, url);
  }
}
