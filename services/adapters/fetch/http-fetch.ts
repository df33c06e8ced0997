// Reads an http(s) URL as a stream of (decompressed) body bytes, under the operator's allow list and limits:
// - every hop (the URL and each redirect) is checked against the list by name, then its host is resolved once,
//   every address is checked, and the connection goes to that checked address (no second lookup in between);
// - one deadline covers the whole fetch, beside the idle timeout, so a server dripping a byte at a time cannot
//   hold a worker for ever;
// - bytes are counted as they come off the wire, before decompression, so a small compressed bomb is stopped
//   by the cap on what was sent (and what it inflates to is bounded by the document limit downstream).
// Errors say what happened in terms of the policy, never which internal address or port answered how: a
// refusal has one code and one message whatever the reason, and no figure from the target (time, offset) is
// quoted, so the worker cannot be used to map a network.
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { Transform, pipeline, type Readable } from 'node:stream';
import zlib from 'node:zlib';

import { PipelineError, permanent, transient } from '../../../pipelines/errors.ts';
import type { FetchSettings } from '../../../schemas/fetch.ts';
import type { FetchPolicy } from './policy.ts';

/** Resolves a host name to every address it has (injected by tests to play a DNS that points inward). */
export type Lookup = (hostname: string) => Promise<{ address: string; family: number }[]>;

export const systemLookup: Lookup = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

export interface HttpFetchOptions {
  policy: FetchPolicy;
  settings: FetchSettings;
  /** No byte for this long fails the read (retried). */
  idleMs: number;
  lookup?: Lookup;
  /** Trusted certificate authorities for https (tests); the system's by default. */
  ca?: string | Buffer;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const RETRIABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/** A URL as it may appear in an error: no credentials, no query (signed URLs carry secrets there). */
export function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}${url.search ? '?…' : ''}`;
}

/** The one refusal, whatever the reason (name not listed, address not public, redirect elsewhere). */
function refused(url: URL): PipelineError {
  return permanent('E_REF_FORBIDDEN', `${displayUrl(url)} is not a server this worker may fetch from (fetch.allow)`);
}

function defaultPort(url: URL): number {
  return url.protocol === 'https:' ? 443 : 80;
}

/** Rejects when the signal fires, with its reason (handled here too: it may fire after nobody waits on it). */
function whenAborted(signal: AbortSignal): Promise<never> {
  const aborted = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
  aborted.catch(() => {});
  return aborted;
}

/** The address to connect to for this hop, once the name and every address it resolves to passed the policy. */
async function checkedAddress(url: URL, options: HttpFetchOptions, signal: AbortSignal): Promise<string> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refused(url);
  const port = url.port === '' ? defaultPort(url) : Number(url.port);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const { policy } = options;
  if (!policy.allowsHost(host, port, defaultPort(url))) throw refused(url);
  let addresses: string[];
  if (net.isIP(host)) {
    addresses = [host];
  } else {
    try {
      const found = await Promise.race([(options.lookup ?? systemLookup)(host), whenAborted(signal)]);
      addresses = found.map((a) => a.address);
    } catch (err) {
      if (err instanceof PipelineError) throw err;
      throw transient('E_REF_UNREACHABLE', `cannot fetch ${displayUrl(url)}: its host name did not resolve`, err);
    }
  }
  // All or nothing: a name that also resolves inward is refused even if one of its addresses is public.
  if (addresses.length === 0 || !addresses.every((a) => policy.allowsAddress(a, port, defaultPort(url))))
    throw refused(url);
  return addresses[0]!;
}

/** One request to a checked address; resolves with the response head. */
function request(
  url: URL,
  address: string,
  options: HttpFetchOptions,
  signal: AbortSignal,
): Promise<http.IncomingMessage> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const common = {
    host: address,
    port: url.port === '' ? defaultPort(url) : Number(url.port),
    path: `${url.pathname}${url.search}`,
    method: 'GET',
    headers: { host: url.host, 'accept-encoding': 'gzip, deflate, br', 'user-agent': 'rwkvstream' },
    // One connection per fetch: a pooled socket would have been checked for another hop.
    agent: false,
    signal,
  } satisfies http.RequestOptions;
  return new Promise((resolve, reject) => {
    const req =
      url.protocol === 'https:'
        ? https.request({
            ...common,
            ...(net.isIP(host) ? {} : { servername: host }),
            ...(options.ca ? { ca: options.ca } : {}),
          })
        : http.request(common);
    req.once('response', resolve);
    // Later errors (the socket, once the response is being read) reach the reader through the response.
    req.on('error', reject);
    req.end();
  });
}

function decoder(encoding: string | undefined, url: URL): Transform | null {
  switch ((encoding ?? 'identity').trim().toLowerCase()) {
    case 'identity':
    case '':
      return null;
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
      return zlib.createInflate();
    case 'br':
      return zlib.createBrotliDecompress();
    default:
      throw permanent(
        'E_REF_ENCODING',
        `${displayUrl(url)} was sent with a content encoding this worker does not read (${encoding?.slice(0, 40)})`,
      );
  }
}

/** Counts bytes as they come off the wire and fails the fetch at the cap; each arrival rearms the idle timer. */
function wireCap(maxBytes: number, url: URL, arrived: () => void): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      arrived();
      seen += chunk.length;
      if (seen > maxBytes) {
        done(
          permanent('E_TOO_LARGE', `${displayUrl(url)} sent more than the limit of ${maxBytes} bytes (fetch.maxBytes)`),
        );
        return;
      }
      done(null, chunk);
    },
  });
}

/** The body of `url` under the options' policy and limits (see the top of this file). */
export async function* fetchBody(start: URL, options: HttpFetchOptions): AsyncIterable<Uint8Array> {
  if (start.username !== '' || start.password !== '') {
    throw permanent('E_REF', `${displayUrl(start)}: credentials in a reference URL are not accepted`);
  }
  const { settings } = options;
  const controller = new AbortController();
  const deadline = setTimeout(() => {
    controller.abort(
      permanent(
        'E_REF_TIMEOUT',
        `${displayUrl(start)} did not deliver the document within the fetch deadline (fetch.deadlineMs)`,
      ),
    );
  }, settings.deadlineMs);
  let idle: NodeJS.Timeout | undefined;
  const stalled = () => transient('E_REF_READ', `reading ${displayUrl(start)} stalled`);
  const rearm = () => {
    clearTimeout(idle);
    idle = setTimeout(() => controller.abort(stalled()), options.idleMs);
  };
  const { signal } = controller;
  /** The error to report: the deadline's or the idle timer's when either fired, else a plain network failure. */
  const explain = (err: unknown, what: string): PipelineError => {
    if (signal.aborted && signal.reason instanceof PipelineError) return signal.reason;
    if (err instanceof PipelineError) return err;
    return transient(
      what === 'connect' ? 'E_REF_UNREACHABLE' : 'E_REF_READ',
      what === 'connect'
        ? `cannot fetch ${displayUrl(start)}: the connection failed`
        : `reading ${displayUrl(start)} broke off`,
      err,
    );
  };

  let response: http.IncomingMessage | undefined;
  try {
    let url = start;
    for (let hop = 0; ; hop++) {
      const address = await checkedAddress(url, options, signal).catch((err: unknown) => {
        throw explain(err, 'connect');
      });
      rearm();
      response = await request(url, address, options, signal).catch((err: unknown) => {
        throw explain(err, 'connect');
      });
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (!(REDIRECTS.has(status) && location)) break;
      response.destroy();
      if (hop >= settings.maxRedirects) {
        throw permanent(
          'E_REF_STATUS',
          `fetching ${displayUrl(start)} was redirected more than ${settings.maxRedirects} times`,
        );
      }
      try {
        url = new URL(location, url);
      } catch {
        throw permanent('E_REF_STATUS', `fetching ${displayUrl(start)} was redirected to something that is not a URL`);
      }
      if (url.username !== '' || url.password !== '') throw refused(url);
    }

    const status = response.statusCode ?? 0;
    if (status < 200 || status > 299) {
      response.destroy();
      const message = `fetching ${displayUrl(start)} answered ${status}`;
      throw RETRIABLE_STATUS.has(status) ? transient('E_REF_STATUS', message) : permanent('E_REF_STATUS', message);
    }
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > settings.maxBytes) {
      response.destroy();
      throw permanent(
        'E_TOO_LARGE',
        `${displayUrl(start)} is larger than the limit of ${settings.maxBytes} bytes (fetch.maxBytes)`,
      );
    }

    const decode = decoder(response.headers['content-encoding'], start);
    const stages: (Readable | Transform)[] = [
      response,
      wireCap(settings.maxBytes, start, rearm),
      ...(decode ? [decode] : []),
    ];
    const out = stages.at(-1) as Readable;
    pipeline(stages, () => {});
    try {
      for await (const chunk of out) yield chunk as Buffer;
    } catch (err) {
      if (err instanceof PipelineError) throw err;
      if (signal.aborted) throw explain(err, 'read');
      if (decode && (err as NodeJS.ErrnoException).code?.startsWith('Z_')) {
        throw permanent(
          'E_REF_ENCODING',
          `${displayUrl(start)} sent a body that is not valid ${response.headers['content-encoding']}`,
        );
      }
      throw explain(err, 'read');
    }
  } finally {
    clearTimeout(deadline);
    clearTimeout(idle);
    response?.destroy();
  }
}
