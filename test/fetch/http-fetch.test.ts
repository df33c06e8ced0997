// http(s) references against real servers on 127.0.0.1: what the allow list lets through, addresses checked
// after DNS (names resolving inward through the system resolver and through an injected one) and on every
// redirect, the total deadline against a server that drips, and the byte cap against a gzip bomb.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import zlib from 'node:zlib';

import { PipelineError } from '../../pipelines/errors.ts';
import { FetchSettingsSchema, type FetchSettingsInput } from '../../schemas/fetch.ts';
import type { Lookup } from '../../services/adapters/fetch/http-fetch.ts';
import { UrlBodyReader } from '../../services/adapters/fetch/body-reader.ts';

interface TestServer {
  port: number;
  /** Requests it received, by path. */
  requests: string[];
  close(): void;
}

async function serve(handler: http.RequestListener): Promise<TestServer> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

const TEXT = 'The river keeps its pace and the boats go by.\n'.repeat(200);
const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024));
let main: TestServer;
let other: TestServer;

before(async () => {
  main = await serve((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    switch (url.pathname) {
      case '/doc.txt':
        return void res.writeHead(200, { 'content-type': 'text/plain' }).end(TEXT);
      case '/doc.gz':
        return void res.writeHead(200, { 'content-encoding': 'gzip' }).end(zlib.gzipSync(TEXT));
      case '/bomb':
        // Chunked: no length to refuse up front, so the cap must count the compressed bytes as they come.
        res.writeHead(200, { 'content-encoding': 'gzip' });
        return void res.end(bomb);
      case '/bomb-declared':
        return void res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': bomb.length }).end(bomb);
      case '/redirect':
        return void res.writeHead(302, { location: url.searchParams.get('to')! }).end();
      case '/drip': {
        // A byte every 20 ms, for ever: never idle long enough for an idle timeout.
        res.writeHead(200, { 'content-type': 'text/plain' });
        const timer = setInterval(() => res.write('a'), 20);
        res.on('close', () => clearInterval(timer));
        return;
      }
      default:
        return void res.writeHead(404).end();
    }
  });
  other = await serve((_req, res) => void res.writeHead(200).end('internal secret\n'));
});

after(() => {
  main.close();
  other.close();
});

function reader(fetch: FetchSettingsInput, lookup?: Lookup): UrlBodyReader {
  return new UrlBodyReader({
    fileRoots: [],
    timeoutMs: 10_000,
    fetch: FetchSettingsSchema.parse(fetch),
    ...(lookup ? { lookup } : {}),
  });
}

async function read(r: UrlBodyReader, url: string): Promise<{ body: string } | { error: PipelineError }> {
  const pieces: Buffer[] = [];
  try {
    for await (const piece of r.open(url)) pieces.push(Buffer.from(piece));
    return { body: Buffer.concat(pieces).toString('utf8') };
  } catch (err) {
    assert.ok(err instanceof PipelineError, `a pipeline error, not ${String(err)}`);
    return { error: err };
  }
}

async function refused(r: UrlBodyReader, url: string, code = 'E_REF_FORBIDDEN'): Promise<PipelineError> {
  const outcome = await read(r, url);
  assert.ok('error' in outcome, `${url} was read: ${'body' in outcome ? outcome.body.slice(0, 40) : ''}`);
  assert.equal(outcome.error.code, code, outcome.error.message);
  return outcome.error;
}

const names =
  (map: Record<string, string[]>): Lookup =>
  async (host) => {
    const addresses = map[host];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

test('no allow list: every http(s) reference is refused, and nothing is connected to', async () => {
  const before = main.requests.length;
  const err = await refused(reader({}), `http://127.0.0.1:${main.port}/doc.txt`);
  assert.match(err.message, /--fetch-allow/);
  assert.equal(main.requests.length, before);
});

test('an allowed loopback IP:port is read; the same IP on another port is refused without a connection', async () => {
  const r = reader({ allow: [`127.0.0.1:${main.port}`] });
  const outcome = await read(r, `http://127.0.0.1:${main.port}/doc.txt`);
  assert.deepEqual(outcome, { body: TEXT });
  const before = other.requests.length;
  await refused(r, `http://127.0.0.1:${other.port}/`);
  assert.equal(other.requests.length, before, 'the other port was never asked');
});

test('an allowed name that resolves to loopback (localhost) is refused unless its exact IP:port is allowed too', async () => {
  const before = main.requests.length;
  await refused(reader({ allow: [`localhost:${main.port}`] }), `http://localhost:${main.port}/doc.txt`);
  assert.equal(main.requests.length, before);
  const both = reader({ allow: [`localhost:${main.port}`, `127.0.0.1:${main.port}`, `[::1]:${main.port}`] });
  assert.deepEqual(await read(both, `http://localhost:${main.port}/doc.txt`), { body: TEXT });
});

test('DNS pointing an allowed name inward (private, link-local metadata, unique-local, mixed) is refused', async () => {
  const lookup = names({
    'private.example': ['10.1.2.3'],
    'metadata.example': ['169.254.169.254'],
    'ula.example': ['fd12:3456::1'],
    'mapped.example': ['::ffff:127.0.0.1'],
    'mixed.example': ['93.184.215.14', '127.0.0.1'],
    'loop.example': ['127.0.0.1'],
  });
  const hosts = [
    'private.example',
    'metadata.example',
    'ula.example',
    'mapped.example',
    'mixed.example',
    'loop.example',
  ];
  const r = reader({ allow: hosts.map((h) => `${h}:${main.port}`) }, lookup);
  const before = main.requests.length;
  const messages = new Set<string>();
  for (const host of hosts) {
    const err = await refused(r, `http://${host}:${main.port}/doc.txt`);
    messages.add(err.message.replace(host, 'HOST'));
  }
  assert.equal(main.requests.length, before, 'no request reached the server');
  assert.equal(messages.size, 1, `one refusal, whatever the address: ${[...messages].join(' | ')}`);
  // The metadata address itself, listed on another port: the port is part of what is allowed.
  await refused(reader({ allow: ['169.254.169.254:8080'] }), 'http://169.254.169.254/latest/meta-data/');
  // The exact IP:port listed lets the name through, and the connection goes to the checked address.
  const exact = reader({ allow: [`loop.example:${main.port}`, `127.0.0.1:${main.port}`] }, lookup);
  assert.deepEqual(await read(exact, `http://loop.example:${main.port}/doc.txt`), { body: TEXT });
});

test('redirects are checked at every hop: to a port, a name or an address not allowed is refused', async () => {
  const lookup = names({ 'inward.example': ['127.0.0.1'] });
  const r = reader({ allow: [`127.0.0.1:${main.port}`, `inward.example:${other.port}`] }, lookup);
  const hop = (to: string) => `http://127.0.0.1:${main.port}/redirect?to=${encodeURIComponent(to)}`;
  const before = other.requests.length;
  await refused(r, hop(`http://127.0.0.1:${other.port}/`));
  await refused(r, hop(`http://inward.example:${other.port}/`));
  await refused(r, hop('http://169.254.169.254/latest/meta-data/'));
  await refused(r, hop(`ftp://127.0.0.1:${other.port}/`));
  assert.equal(other.requests.length, before, 'no redirect reached the internal server');
  // A redirect within what is allowed is followed.
  assert.deepEqual(await read(r, hop(`http://127.0.0.1:${main.port}/doc.txt`)), { body: TEXT });
  // A loop ends at the redirect limit.
  const loop = reader({ allow: [`127.0.0.1:${main.port}`], maxRedirects: 3 });
  const err = await refused(
    loop,
    `http://127.0.0.1:${main.port}/redirect?to=${encodeURIComponent('/redirect?to=%2Fredirect%3Fto%3D%252Fredirect%253Fto%253D%25252Fredirect%25253Fto%25253D%2525252Fdoc.txt')}`,
    'E_REF_STATUS',
  );
  assert.match(err.message, /more than 3 times/);
});

test('a server dripping a byte at a time is cut off by the total deadline, not held for ever', {
  timeout: 20_000,
}, async () => {
  const r = reader({ allow: [`127.0.0.1:${main.port}`], deadlineMs: 500 });
  const err = await refused(r, `http://127.0.0.1:${main.port}/drip`, 'E_REF_TIMEOUT');
  assert.equal(err.retriable, false);
  assert.doesNotMatch(err.message, /\d+ ?(ms|s|bytes)\b/, 'no figure from the target in the message');
});

test('a gzip bomb stops at the byte cap on what was sent, before it is inflated', async () => {
  const r = reader({ allow: [`127.0.0.1:${main.port}`], maxBytes: 16 * 1024 });
  assert.ok(bomb.length > 16 * 1024, 'the bomb is larger than the cap compressed');
  let inflated = 0;
  let failure: unknown;
  try {
    for await (const piece of r.open(`http://127.0.0.1:${main.port}/bomb`)) inflated += piece.length;
  } catch (err) {
    failure = err;
  }
  assert.ok(failure instanceof PipelineError && failure.code === 'E_TOO_LARGE', String(failure));
  // What got through was inflated from at most the cap's compressed bytes (gzip inflates zeros ~1000×).
  assert.ok(inflated <= 16 * 1024 * 1100, `inflated ${inflated} bytes`);
  await refused(r, `http://127.0.0.1:${main.port}/bomb-declared`, 'E_TOO_LARGE');
  // Within the cap, a compressed body arrives decompressed.
  assert.deepEqual(await read(r, `http://127.0.0.1:${main.port}/doc.gz`), { body: TEXT });
});

test('errors carry no secrets and no detail from the target', async () => {
  const r = reader({ allow: [`127.0.0.1:${main.port}`, '127.0.0.1:1'] });
  const err = await refused(r, `http://127.0.0.1:${main.port}/missing?token=s3cret`, 'E_REF_STATUS');
  assert.doesNotMatch(err.message, /s3cret/);
  assert.match(err.message, /404/);
  const unreachable = await refused(r, 'http://127.0.0.1:1/x', 'E_REF_UNREACHABLE');
  assert.doesNotMatch(unreachable.message, /ECONNREFUSED|refused/i, unreachable.message);
  await refused(r, `http://user:pass@127.0.0.1:${main.port}/doc.txt`, 'E_REF');
});
