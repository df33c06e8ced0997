// https references: the connection goes to the checked address while the certificate is verified against
// the URL's host name (SNI and identity), with a certificate authority made for the test by openssl.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { PipelineError } from '../../pipelines/errors.ts';
import { FetchSettingsSchema } from '../../schemas/fetch.ts';
import type { Lookup } from '../../services/adapters/fetch/http-fetch.ts';
import { UrlBodyReader } from '../../services/adapters/fetch/body-reader.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'rwkvstream-https-'));
let server: https.Server;
let port: number;
let cert: Buffer;

before(async () => {
  const key = path.join(dir, 'key.pem');
  const crt = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      crt,
      '-days',
      '1',
      '-subj',
      '/CN=docs.test',
      '-addext',
      'subjectAltName=DNS:docs.test',
    ],
    { stdio: 'ignore' },
  );
  cert = readFileSync(crt);
  server = https.createServer({ key: readFileSync(key), cert }, (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`served to ${req.headers.host}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(() => {
  server.closeAllConnections();
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

const lookup: Lookup = async (host) => {
  if (host === 'docs.test' || host === 'other.test') return [{ address: '127.0.0.1', family: 4 }];
  throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
};

const reader = (allow: string[]) =>
  new UrlBodyReader({
    fileRoots: [],
    timeoutMs: 10_000,
    fetch: FetchSettingsSchema.parse({ allow }),
    lookup,
    ca: cert,
  });

async function read(r: UrlBodyReader, url: string): Promise<string | PipelineError> {
  const pieces: Buffer[] = [];
  try {
    for await (const piece of r.open(url)) pieces.push(Buffer.from(piece));
    return Buffer.concat(pieces).toString('utf8');
  } catch (err) {
    assert.ok(err instanceof PipelineError, String(err));
    return err;
  }
}

test('an allowed https name is read from the checked address, its certificate verified for the name', async () => {
  const body = await read(reader([`docs.test:${port}`, `127.0.0.1:${port}`]), `https://docs.test:${port}/doc.txt`);
  assert.equal(body, `served to docs.test:${port}\n`);
});

test('a certificate for another name is refused', async () => {
  const err = await read(reader([`other.test:${port}`, `127.0.0.1:${port}`]), `https://other.test:${port}/doc.txt`);
  assert.ok(err instanceof PipelineError && err.code === 'E_REF_UNREACHABLE', String(err));
});
