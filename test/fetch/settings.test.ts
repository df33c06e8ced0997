// The fetch settings through the one configuration path: flag > environment > config file > defaults, and a
// bad allow entry named with where it came from.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { ConfigError, loadConfig } from '../../services/config/index.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'rwkvstream-fetch-config-'));
const file = path.join(dir, 'rw.json');
writeFileSync(file, JSON.stringify({ fetch: { allow: ['docs.example.com'], deadlineMs: 60_000, pool: 2 } }));

test('defaults: nothing allowed, a 10-minute deadline, 1 GiB on the wire, 4 at once', async () => {
  const { config } = await loadConfig({ env: { HOME: '/home/u' }, cwd: dir });
  assert.deepEqual(config.fetch, { allow: [], deadlineMs: 600_000, maxBytes: 1 << 30, maxRedirects: 5, pool: 4 });
});

test('file, then environment, then flag; objects merged key by key', async () => {
  const fromFile = await loadConfig({ env: { HOME: '/home/u', RWKVSTREAM_CONFIG: file }, cwd: dir });
  assert.deepEqual(fromFile.config.fetch.allow, ['docs.example.com']);
  assert.equal(fromFile.config.fetch.pool, 2);

  const env = {
    HOME: '/home/u',
    RWKVSTREAM_CONFIG: file,
    RWKVSTREAM_FETCH_ALLOW: 'a.example, 10.0.0.1:8080 ,[fd00::1]:443',
    RWKVSTREAM_FETCH_MAX_BYTES: '1000',
  };
  const fromEnv = await loadConfig({ env, cwd: dir });
  assert.deepEqual(fromEnv.config.fetch, {
    allow: ['a.example', '10.0.0.1:8080', '[fd00::1]:443'],
    deadlineMs: 60_000,
    maxBytes: 1000,
    maxRedirects: 5,
    pool: 2,
  });
  assert.equal(fromEnv.origin('fetch.allow'), 'environment RWKVSTREAM_FETCH_ALLOW');

  const fromFlag = await loadConfig({ env, cwd: dir, flags: { fetchAllow: 'b.example:8443' } });
  assert.deepEqual(fromFlag.config.fetch.allow, ['b.example:8443']);
  assert.equal(fromFlag.origin('fetch.allow'), 'flag --fetch-allow');
});

test('an entry that is not HOST[:PORT] is refused, naming the flag', async () => {
  const err = await loadConfig({
    env: { HOME: '/home/u' },
    cwd: dir,
    flags: { fetchAllow: 'http://evil.example/' },
  }).then(
    () => assert.fail('expected a ConfigError'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConfigError);
  assert.match(err.message, /flag --fetch-allow: fetch\.allow\.0: expected HOST or HOST:PORT/);
  const port = await loadConfig({
    env: { HOME: '/home/u', RWKVSTREAM_FETCH_ALLOW: 'a.example:70000' },
    cwd: dir,
  }).catch((e: unknown) => e);
  assert.ok(
    port instanceof ConfigError && /environment RWKVSTREAM_FETCH_ALLOW: .*port between 1 and 65535/.test(port.message),
    String(port),
  );
});
