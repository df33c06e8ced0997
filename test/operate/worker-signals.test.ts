// A worker and the signals that stop it: a signal that comes while it still waits for Redis ends the wait and
// the command at once (143 for SIGTERM), and one that comes the moment it says it is ready stops it cleanly
// (status 0, after "stopped"), never by the signal's default action.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { test } from 'node:test';

import { tinyModel } from '../helpers/fixtures.ts';
import { cliEntry } from '../helpers/paths.ts';
import { freePort } from '../integration/helpers/own-redis.ts';
import { clearPrefix, uniqueName } from '../integration/helpers/services.ts';
import { spawnWorker } from '../integration/helpers/worker-process.ts';

test('SIGTERM while the worker waits for an unreachable Redis ends the wait: exit 143 in moments, not after the retries', {
  timeout: 120_000,
}, async () => {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      cliEntry,
      'worker',
      '--model',
      tinyModel,
      '--redis',
      `redis://127.0.0.1:${port}`,
      '--connect-attempts',
      '6',
      '--metrics-port',
      'off',
      '--log-level',
      'info',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, KAFKA_BROKERS: undefined } },
  );
  const lines: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let signalledAt = 0;
  createInterface({ input: child.stderr! }).on('line', (line) => {
    lines.push(line);
    // The first refused attempt: the worker now sleeps 1 s, then 2, 4, 8 and 15 before it would give up.
    if (signalledAt === 0 && /retrying in/.test(line)) {
      signalledAt = Date.now();
      child.kill('SIGTERM');
    }
  });
  const { code, signal } = await exited;
  assert.ok(signalledAt > 0, `the worker logged a retry: ${lines.join('\n')}`);
  assert.deepEqual({ code, signal }, { code: 143, signal: null }, lines.join('\n'));
  assert.ok(Date.now() - signalledAt < 10_000, 'it stopped before the remaining retries (29 s of waits)');
  assert.ok(
    lines.some((l) => l.includes('stopped before it was ready')),
    lines.join('\n'),
  );
});

test('SIGTERM the moment the worker says it is ready stops it cleanly', { timeout: 120_000 }, async () => {
  const prefix = uniqueName('signals');
  const worker = await spawnWorker({
    name: `${prefix}-w`,
    brokers: [],
    prefix,
    topicPrefix: prefix,
    groupId: prefix,
    env: { KAFKA_BROKERS: undefined },
  });
  try {
    assert.equal(await worker.stop(), 0, JSON.stringify(worker.logs.slice(-5)));
    assert.ok(
      worker.logs.some((l) => l.msg === 'stopped'),
      JSON.stringify(worker.logs.slice(-5)),
    );
  } finally {
    await clearPrefix(prefix);
  }
});
