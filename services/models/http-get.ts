// GET requests of the model downloads and the Hub listing, through the proxy the environment names, as curl and
// pip do: HTTPS_PROXY (or https_proxy) for https URLs, HTTP_PROXY (or http_proxy) for http URLs, and NO_PROXY
// (or no_proxy) for hosts that are reached directly — a comma-separated list of host names (a name also
// matches its subdomains; a leading dot or "*." is allowed), IP addresses, optional ":port", or "*" for all.
// https goes through an HTTP CONNECT tunnel; http is asked of the proxy with the absolute URL. Proxy
// credentials in the URL (http://user:pass@proxy:3128) are sent as Proxy-Authorization and never printed.
import http, { type IncomingMessage, type RequestOptions } from 'node:http';
import https from 'node:https';
import tls from 'node:tls';

import { ModelsError } from './errors.ts';

/** The proxy for `target` from `env`, or undefined for a direct connection. */
export function proxyFor(target: URL, env: NodeJS.ProcessEnv = process.env): URL | undefined {
  const pick = (...names: string[]) => names.map((n) => env[n]?.trim()).find((v) => v !== undefined && v !== '');
  const raw = target.protocol === 'https:' ? pick('HTTPS_PROXY', 'https_proxy') : pick('HTTP_PROXY', 'http_proxy');
  if (raw === undefined || bypassed(target, pick('NO_PROXY', 'no_proxy') ?? '')) return undefined;
  let proxy: URL;
  try {
    proxy = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch {
    throw new ModelsError(
      'E_DOWNLOAD',
      `the proxy setting for ${target.protocol.slice(0, -1)} is not a URL (HTTPS_PROXY / HTTP_PROXY)`,
    );
  }
  if (proxy.protocol !== 'http:')
    throw new ModelsError('E_DOWNLOAD', `only http:// proxies are supported, got a ${proxy.protocol} proxy`);
  return proxy;
}

const defaultPort = (u: URL): string => u.port || (u.protocol === 'https:' ? '443' : '80');
const bareHost = (host: string): string => host.replace(/^\[|\]$/g, '').toLowerCase();

export function bypassed(target: URL, noProxy: string): boolean {
  const host = bareHost(target.hostname);
  return noProxy
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e !== '')
    .some((entry) => {
      if (entry === '*') return true;
      // host, host:port, [v6]:port, or a bare IPv6 address (more than one colon: no port).
      const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
      const hostPort =
        bracketed ?? (entry.split(':').length > 2 ? [entry, entry, undefined] : /^([^:]*)(?::(\d+))?$/.exec(entry));
      if (!hostPort) return false;
      const name = bareHost(hostPort[1]!.replace(/^\*?\./, ''));
      if (hostPort[2] !== undefined && hostPort[2] !== defaultPort(target)) return false;
      return host === name || host.endsWith(`.${name}`);
    });
}

function proxyAuthorization(proxy: URL): Record<string, string> {
  if (proxy.username === '') return {};
  const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return { 'proxy-authorization': `Basic ${Buffer.from(credentials).toString('base64')}` };
}

/** A proxy named without its credentials, for messages. */
const proxyName = (proxy: URL): string => `${proxy.protocol}//${proxy.host}`;

/** Opens a CONNECT tunnel to `target` through `proxy`. */
function tunnel(proxy: URL, target: URL, timeoutMs: number, signal?: AbortSignal): Promise<import('node:net').Socket> {
  return new Promise((resolve, reject) => {
    const authority = `${target.hostname}:${defaultPort(target)}`;
    const req = http.request({
      host: proxy.hostname,
      port: proxy.port || 80,
      method: 'CONNECT',
      path: authority,
      headers: { host: authority, ...proxyAuthorization(proxy) },
      timeout: timeoutMs,
      ...(signal ? { signal } : {}),
    });
    req.on('connect', (res, socket) => {
      if (res.statusCode === 200) resolve(socket);
      else {
        socket.destroy();
        reject(
          new ModelsError(
            'E_DOWNLOAD',
            `the proxy ${proxyName(proxy)} refused a tunnel to ${authority}: HTTP ${res.statusCode}`,
            { retriable: (res.statusCode ?? 0) >= 500 },
          ),
        );
      }
    });
    req.on('timeout', () =>
      req.destroy(new Error(`no answer from the proxy ${proxyName(proxy)} for ${timeoutMs / 1000} s`)),
    );
    req.on('error', reject);
    req.end();
  });
}

export interface GetOptions {
  headers: Record<string, string>;
  /** Idle time after which the request fails. */
  timeoutMs: number;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

/** GET `url` (http or https), directly or through the environment's proxy; resolves with the response head. */
export async function httpGet(url: string, options: GetOptions): Promise<IncomingMessage> {
  const target = new URL(url);
  if (target.protocol !== 'https:' && target.protocol !== 'http:') {
    throw new ModelsError('E_DOWNLOAD', `cannot download ${url}: only http and https URLs are supported`);
  }
  const proxy = proxyFor(target, options.env);
  const base: RequestOptions = {
    headers: options.headers,
    timeout: options.timeoutMs,
    ...(options.signal ? { signal: options.signal } : {}),
  };
  let send: (done: (res: IncomingMessage) => void) => http.ClientRequest;
  if (!proxy) {
    const client = target.protocol === 'https:' ? https : http;
    send = (done) => client.get(target, base, done);
  } else if (target.protocol === 'http:') {
    // Absolute-form request to the proxy.
    send = (done) =>
      http.get(
        {
          ...base,
          host: proxy.hostname,
          port: proxy.port || 80,
          path: target.toString(),
          headers: { ...options.headers, host: target.host, ...proxyAuthorization(proxy) },
        },
        done,
      );
  } else {
    const socket = await tunnel(proxy, target, options.timeoutMs, options.signal);
    send = (done) =>
      https.get(
        target,
        { ...base, createConnection: () => tls.connect({ socket, servername: target.hostname }) },
        done,
      );
  }
  return new Promise((resolve, reject) => {
    const req = send((res) => {
      // Errors of a body that is discarded (redirects, refusals) are of no interest; a reader adds its own listener.
      res.on('error', () => {});
      resolve(res);
    });
    req.on('timeout', () => req.destroy(new Error(`no data for ${options.timeoutMs / 1000} s`)));
    req.on('error', reject);
  });
}

/** A whole response body as text (small bodies: the Hub listing). */
export async function readBody(res: IncomingMessage, limit: number): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const piece of res as AsyncIterable<Buffer>) {
    size += piece.length;
    if (size > limit) {
      res.destroy();
      throw new ModelsError('E_HF_API', `the answer of ${res.url ?? 'the server'} is larger than ${limit} bytes`);
    }
    parts.push(piece);
  }
  return Buffer.concat(parts).toString('utf8');
}
