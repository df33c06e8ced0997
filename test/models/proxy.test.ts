// Downloads through the proxy the environment names: which URLs go through it (HTTPS_PROXY, HTTP_PROXY,
// NO_PROXY), `models pull` through a real forwarding proxy and around it, and an https download through a
// CONNECT tunnel to a local TLS server.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import { WORLD_VOCAB } from '../../services/models/index.ts';
import { bypassed, proxyFor } from '../../services/models/http-get.ts';
import { cliEntry, repoRoot, worldVocab } from '../helpers/paths.ts';
import { FakeHub } from './fake-hub.ts';

const run = promisify(execFile);

test('which requests go through a proxy', () => {
  const env = {
    HTTPS_PROXY: 'http://proxy:3128',
    http_proxy: 'proxy:8080',
    NO_PROXY: 'localhost,.internal.example, 10.0.0.1,mirror.example:8443',
  };
  assert.equal(proxyFor(new URL('https://huggingface.co/x'), env)?.host, 'proxy:3128');
  assert.equal(
    proxyFor(new URL('http://cdn.example/x'), env)?.host,
    'proxy:8080',
    'lowercase names and a bare host:port are taken',
  );
  assert.equal(proxyFor(new URL('https://localhost:9000/x'), env), undefined);
  assert.equal(proxyFor(new URL('https://a.b.internal.example/x'), env), undefined, 'a domain covers its subdomains');
  assert.equal(proxyFor(new URL('http://10.0.0.1/x'), env), undefined);
  assert.equal(proxyFor(new URL('https://mirror.example:8443/x'), env), undefined);
  assert.equal(
    proxyFor(new URL('https://mirror.example/x'), env)?.host,
    'proxy:3128',
    'another port of a listed host:port is proxied',
  );
  assert.equal(proxyFor(new URL('https://huggingface.co/x'), {}), undefined);
  assert.equal(proxyFor(new URL('https://huggingface.co/x'), { HTTPS_PROXY: 'http://p:1', NO_PROXY: '*' }), undefined);
  assert.ok(bypassed(new URL('http://[::1]:80/'), '::1'));
  assert.ok(bypassed(new URL('http://[::1]:8080/'), '[::1]:8080'));
  assert.ok(!bypassed(new URL('http://[::1]:8080/'), '[::1]:9090'));
  assert.throws(() => proxyFor(new URL('https://x/'), { HTTPS_PROXY: 'socks5://p:1' }), /only http:\/\/ proxies/);
});

/** A forwarding proxy that records what it was asked: absolute-form GETs and CONNECT tunnels. */
class RecordingProxy {
  readonly seen: string[] = [];
  readonly auth: (string | undefined)[] = [];
  readonly #server: Server;

  constructor() {
    this.#server = createServer((req, res) => {
      this.seen.push(`${req.method} ${req.url}`);
      this.auth.push(req.headers['proxy-authorization']);
      const target = new URL(req.url!);
      const upstream = request(
        target,
        { method: req.method, headers: { ...req.headers, host: target.host } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    this.#server.on('connect', (req, client, head) => {
      this.seen.push(`CONNECT ${req.url}`);
      this.auth.push(req.headers['proxy-authorization']);
      const [host, port] = req.url!.split(':');
      const upstream = net.connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

const FILE = 'RWKV-x070-World-0.1B-v2.8-20241210-ctx4096.pth';
const content = randomBytes(120_000);
const hub = new FakeHub([
  { repo: 'BlinkDL/rwkv-7-world', path: FILE, content },
  { repo: 'BlinkDL/rwkv-7-world', path: WORLD_VOCAB.file, content: readFileSync(worldVocab) },
]);
const proxy = new RecordingProxy();
let proxyAddress = '';

before(async () => {
  await hub.start();
  proxyAddress = await proxy.start();
});
after(async () => {
  await hub.close();
  await proxy.close();
});

function pull(env: Record<string, string>) {
  const home = mkdtempSync(path.join(tmpdir(), 'rwkvstream-proxy-'));
  return run(process.execPath, [cliEntry, 'models', 'pull', `BlinkDL/rwkv-7-world:${FILE}`, '--json', '--quiet'], {
    env: { PATH: process.env.PATH ?? '', HOME: home, RWKVSTREAM_HOME: home, RWKVSTREAM_HF_ENDPOINT: hub.url, ...env },
  });
}

test('models pull goes through HTTP_PROXY with its credentials, and around it for a NO_PROXY host', async () => {
  const before = proxy.seen.length;
  const { stdout, stderr } = await pull({ HTTP_PROXY: `http://user:s3cret@${proxyAddress}` });
  const out = JSON.parse(stdout);
  assert.deepEqual(readFileSync(out.model.path), content);
  const asked = proxy.seen.slice(before);
  assert.ok(
    asked.some((r) => r.startsWith(`GET ${hub.url}/api/models/BlinkDL/rwkv-7-world/tree/main`)),
    asked.join('\n'),
  );
  assert.ok(
    asked.some((r) => r.includes(`/resolve/main/${FILE}`)),
    'the file came through the proxy',
  );
  assert.ok(proxy.auth.slice(before).every((a) => a === `Basic ${Buffer.from('user:s3cret').toString('base64')}`));
  assert.ok(!stderr.includes('s3cret'));

  const direct = proxy.seen.length;
  await pull({ HTTP_PROXY: `http://${proxyAddress}`, NO_PROXY: '127.0.0.1' });
  assert.equal(proxy.seen.length, direct, 'a NO_PROXY host is reached directly');
});

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version']);
    return true;
  } catch {
    return false;
  }
})();

test('an https download goes through a CONNECT tunnel of HTTPS_PROXY', {
  skip: !hasOpenssl && 'no openssl to make a test certificate',
}, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rwkvstream-tls-'));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
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
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  const body = randomBytes(50_000);
  const server = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_, res) => res.end(body));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const out = path.join(dir, 'body.bin');
  const script = path.join(dir, 'get.mts');
  writeFileSync(
    script,
    `import { writeFileSync } from 'node:fs';
import { httpGet } from ${JSON.stringify(path.join(repoRoot, 'services/models/http-get.ts'))};
const res = await httpGet('https://localhost:${port}/file', { headers: {}, timeoutMs: 10000 });
const chunks = [];
for await (const c of res) chunks.push(c);
writeFileSync(${JSON.stringify(out)}, Buffer.concat(chunks));
`,
  );
  const before = proxy.seen.length;
  try {
    await run(process.execPath, ['--import', 'tsx', script], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', HTTPS_PROXY: `http://${proxyAddress}`, NODE_EXTRA_CA_CERTS: cert },
    });
  } finally {
    server.close();
  }
  assert.deepEqual(readFileSync(out), body);
  assert.deepEqual(proxy.seen.slice(before), [`CONNECT localhost:${port}`]);
});
