// Logs people can read (one line per entry on a terminal, JSON otherwise), kafkajs's reports of a broker's
// normal start-up states kept out of the error level, and the metrics port: the next free one when the
// default is taken, an error saying what to do when a chosen one is.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';

import kafkajs from 'kafkajs';
import { Registry } from 'prom-client';

import type { Log } from '../../pipelines/ports.ts';
import { isTransient, logCreator } from '../../services/adapters/kafka/client.ts';
import { createLogger, prettyLine } from '../../services/log.ts';
import { MetricsPortError, startMetricsServer } from '../../services/metrics/server.ts';

function capture(isTTY: boolean): { stream: PassThrough & { isTTY?: boolean }; text: () => string } {
  const stream = Object.assign(new PassThrough(), { isTTY });
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

test('logs: readable lines on a terminal, JSON elsewhere, and whatever the format setting says', () => {
  const tty = capture(true);
  createLogger('t', { stream: tty.stream }).warn({ doc: 'd-1', chunk: 3, note: 'two words' }, 'chunk taken over');
  assert.match(tty.text(), /^\d\d:\d\d:\d\d WARN {2}chunk taken over {2}doc=d-1 chunk=3 note="two words"\n$/);

  const file = capture(false);
  createLogger('t', { stream: file.stream }).info({ doc: 'd-1' }, 'ready');
  const entry = JSON.parse(file.text()) as Record<string, unknown>;
  assert.equal(entry.msg, 'ready');
  assert.equal(entry.doc, 'd-1');

  const forcedJson = capture(true);
  createLogger('t', { stream: forcedJson.stream, format: 'json' }).info({}, 'x');
  assert.equal(JSON.parse(forcedJson.text()).msg, 'x');
  const forcedPretty = capture(false);
  createLogger('t', { stream: forcedPretty.stream, format: 'pretty', level: 'debug' }).debug({}, 'y');
  assert.match(forcedPretty.text(), /DEBUG y\n$/);

  assert.equal(prettyLine('not json'), 'not json', 'a line that is not an entry passes through');
});

test("kafkajs: a fresh broker's normal states are info, real errors stay errors", () => {
  const seen: [string, string][] = [];
  const log: Log = {
    debug: (_o, m) => void seen.push(['debug', m!]),
    info: (_o, m) => void seen.push(['info', m!]),
    warn: (_o, m) => void seen.push(['warn', m!]),
    error: (_o, m) => void seen.push(['error', m!]),
    child: () => log,
  };
  const write = logCreator(log)();
  const entry = (level: number, message: string, error?: string) =>
    write({
      namespace: 'Connection',
      level,
      label: 'ERROR',
      log: { timestamp: '', message, ...(error ? { error } : {}) },
    });
  entry(
    kafkajs.logLevel.ERROR,
    'Response GroupCoordinator(key: 10, version: 2)',
    'The group coordinator is not available',
  );
  entry(
    kafkajs.logLevel.ERROR,
    'Response Metadata(key: 3, version: 6)',
    'There is no leader for this topic-partition as we are in the middle of a leadership election',
  );
  entry(
    kafkajs.logLevel.ERROR,
    'Response JoinGroup(key: 11, version: 5)',
    "The coordinator is loading and hence can't process requests",
  );
  entry(kafkajs.logLevel.ERROR, 'Connection error: connect ECONNREFUSED 127.0.0.1:9');
  entry(
    kafkajs.logLevel.ERROR,
    'Response Produce(key: 0, version: 7)',
    'The request included a message larger than the max message size the server will accept',
  );
  assert.deepEqual(
    seen.map(([level]) => level),
    ['info', 'info', 'info', 'error', 'error'],
  );
  assert.ok(isTransient({ error: 'This server does not host this topic-partition' }));
  assert.ok(!isTransient({ message: 'Crash: KafkaJSNumberOfRetriesExceeded' }));
});

async function occupy(port: number): Promise<http.Server | null> {
  const server = http.createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(null));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

test('metrics port: the next free port when the default is busy (logged); a chosen busy port is an error with the fix', async () => {
  // A free port to start from, held so it is busy.
  const holder = await occupy(0);
  const busy = (holder!.address() as AddressInfo).port;
  const messages: string[] = [];
  const log: Log = { debug() {}, info: (_o, m) => void messages.push(m!), warn() {}, error() {}, child: () => log };
  const options = { host: '127.0.0.1', port: busy, registry: new Registry(), health: async () => ({ ok: true }), log };
  try {
    const moved = await startMetricsServer({ ...options, fallbackPorts: 32 });
    try {
      assert.ok(moved.port > busy && moved.port <= busy + 32, `port ${moved.port}`);
      assert.equal((await fetch(`http://127.0.0.1:${moved.port}/metrics`)).status, 200);
      assert.ok(
        messages.some((m) => m.includes(`metrics port ${busy} is in use`) && m.includes(`127.0.0.1:${moved.port}`)),
        messages.join('\n'),
      );
    } finally {
      await moved.close();
    }
    await assert.rejects(startMetricsServer({ ...options, fallbackPorts: 0 }), (err: unknown) => {
      assert.ok(err instanceof MetricsPortError);
      assert.match(
        err.message,
        new RegExp(
          `the metrics port ${busy} on 127\\.0\\.0\\.1 is in use: choose another with --metrics-port N or RWKVSTREAM_METRICS_PORT`,
        ),
      );
      return true;
    });
  } finally {
    holder!.close();
  }
});
