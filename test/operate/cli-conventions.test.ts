// The command line's conventions: every command offers the configuration flags the settings table lists
// (and the README shows that table), usage errors exit 2 with a short message and a pointer to --help,
// --version, a closed stdout ends quietly, and an unreachable Redis or Kafka is one line that names the
// address, the setting that chose it and what to do (exit 5) — for worker, submit, result and status alike.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';

import type { Command } from 'commander';

import { COMMANDS, SETTINGS, settingsTable } from '../../services/config/index.ts';
import { buildProgram, VERSION } from '../../services/cli/program.ts';
import { tinyModel } from '../helpers/fixtures.ts';
import { cliEntry, repoRoot } from '../helpers/paths.ts';
import { assertReadmeHasTable, readme } from '../helpers/readme.ts';

const exec = promisify(execFile);
const dir = mkdtempSync(path.join(tmpdir(), 'rwkvstream-cli-conventions-'));
/** A port nothing listens on (the discard service is never run on test machines). */
const DEAD_REDIS = 'redis://127.0.0.1:9';
const DEAD_KAFKA = '127.0.0.1:9';

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with only the given environment (plus PATH and HOME), so the test runner's settings stay out. */
async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [cliEntry, ...args], {
      env: { PATH: process.env.PATH, HOME: dir, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

function find(program: Command, name: string): Command {
  const path = name.split(' ');
  let cmd: Command | undefined = program;
  for (const part of path) cmd = cmd?.commands.find((c) => c.name() === part);
  assert.ok(cmd, `no command ${name}`);
  return cmd;
}

test('each command offers exactly the configuration flags the settings table gives it, plus --config', () => {
  const program = buildProgram();
  // A configuration flag is the registry's flag with the registry's description and default (scan has task
  // flags of its own under some of the same names).
  const configFlags = new Set(
    SETTINGS.flatMap((s) => (s.flag ? [`${s.flag.split(' ')[0]!} ${s.description} (default: ${s.default})`] : [])),
  );
  for (const name of COMMANDS) {
    const cmd = find(program, name === 'models' ? 'models pull' : name);
    const offered = cmd.options
      .filter((o) => configFlags.has(`${o.long} ${o.description}`))
      .map((o) => o.long!)
      .sort();
    const listed = SETTINGS.filter((s) => s.flag && s.commands.includes(name))
      .map((s) => s.flag!.split(' ')[0]!)
      .sort();
    assert.deepEqual(offered, listed, `${name}: offered configuration flags`);
    assert.ok(
      cmd.options.some((o) => o.long === '--config'),
      `${name} takes --config`,
    );
  }
});

test('the README lists every setting: the table is the one the settings registry makes', () => {
  assertReadmeHasTable(settingsTable(), 'services/config/index.ts', 'settingsTable');
  const text = readme();
  for (const s of SETTINGS) if (s.env) assert.ok(text.includes(`\`${s.env}\``), `${s.env} in the README`);
});

test("usage errors exit 2 with a short message and a pointer to the command's --help", async () => {
  const unknown = await cli(['worker', '--no-such-flag']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown option '--no-such-flag'/);
  assert.match(unknown.stderr, /rwkvstream worker --help/);
  assert.ok(unknown.stderr.split('\n').length <= 4, `short: ${unknown.stderr}`);

  const missing = await cli(['status']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /missing required argument 'id'/);

  // Bad values of settings are usage errors whichever command reads them, naming the flag and the value.
  for (const [args, pattern] of [
    [
      ['summarize', '--model', tinyModel, '--chunk-tokens', 'lots', 'x.txt'],
      /flag --chunk-tokens: chunkTokens: .*"lots"/,
    ],
    [['summarize', '--model', tinyModel, '--threads', '-3', 'x.txt'], /flag --threads/],
    [['summarize', '--model', tinyModel, '--device', 'gpu', 'x.txt'], /flag --device/],
    [
      ['worker', '--model', tinyModel, '--redis', 'http://x', '--kafka', DEAD_KAFKA],
      /flag --redis: redisUrl: expected a redis:\/\//,
    ],
    [
      ['worker', '--model', tinyModel, '--redis', DEAD_REDIS, '--kafka', DEAD_KAFKA, '--roles', 'ingest,cook'],
      /flag --roles: worker\.roles/,
    ],
  ] as const) {
    const out = await cli([...args]);
    assert.equal(out.code, 2, `${args.join(' ')}: ${out.stderr}`);
    assert.match(out.stderr, pattern);
  }

  const unknownCommand = await cli(['summarise']);
  assert.equal(unknownCommand.code, 2);
});

test('--version prints the package version; --help exits 0', async () => {
  const version = await cli(['--version']);
  assert.equal(version.code, 0);
  assert.equal(version.stdout.trim(), VERSION);
  assert.equal(JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version, VERSION);
  assert.equal((await cli(['status', '--help'])).code, 0);
});

test('a reader that closes stdout early (| head) ends the command quietly with status 0', async () => {
  // About 4 MB of JSON on stdout, far more than a pipe holds.
  const child = spawn(process.execPath, [cliEntry, 'tokenize', '--vocab', 'bytes'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(Buffer.alloc(1 << 20, 'a'));
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.stdout.destroy();
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  assert.equal(code, 0);
  assert.equal(stderr, '', 'no EPIPE trace');
});

test('a distributed command without Redis or Kafka configured says which setting to give (exit 2)', async () => {
  const status = await cli(['status', 'doc-1']);
  assert.equal(status.code, 2);
  assert.match(status.stderr, /no Redis configured: give --redis URL or set REDIS_URL/);
  const submit = await cli(['submit', '--task', 'summarize', '--file', path.join(repoRoot, 'README.md')]);
  assert.equal(submit.code, 2);
  assert.match(
    submit.stderr,
    /no Kafka brokers or Redis configured: give --kafka HOST:PORT \(KAFKA_BROKERS\) for the documents topic, or --redis URL \(REDIS_URL\) for the Redis inbox queue/,
  );
});

test('REDIS_URL, --redis and the config file reach result and status; a dead Redis is one line naming the setting (exit 5)', async () => {
  const file = path.join(dir, 'dead-redis.json');
  writeFileSync(file, JSON.stringify({ redisUrl: DEAD_REDIS }));
  const cases: [string[], Record<string, string>, string][] = [
    [['status', 'doc-1'], { REDIS_URL: DEAD_REDIS }, 'environment REDIS_URL'],
    [['result', 'doc-1'], { REDIS_URL: DEAD_REDIS }, 'environment REDIS_URL'],
    [['status', 'doc-1', '--config', file], {}, `config file ${file}`],
    [['result', 'doc-1', '--wait', '1'], { RWKVSTREAM_CONFIG: file }, `config file ${file}`],
    [['status', 'doc-1', '--redis', DEAD_REDIS], { REDIS_URL: 'redis://127.0.0.1:6379' }, 'flag --redis'],
  ];
  for (const [args, env, origin] of cases) {
    const out = await cli(args, env);
    assert.equal(out.code, 5, `${args.join(' ')}: ${out.stderr}`);
    const lines = out.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line: ${out.stderr}`);
    assert.ok(lines[0]!.includes(`E_REDIS_UNREACHABLE: no answer from Redis at ${DEAD_REDIS}`), lines[0]!);
    assert.ok(lines[0]!.includes(`(${origin})`), `${lines[0]} names ${origin}`);
    assert.match(
      lines[0]!,
      /start Redis \(infra\/redis\/start\.sh\), or point --redis \/ REDIS_URL at a running server/,
    );
  }
});

test('KAFKA_BROKERS and the config file reach submit; a dead broker is one line naming the setting (exit 5)', async () => {
  const doc = path.join(repoRoot, 'README.md');
  const file = path.join(dir, 'dead-kafka.json');
  writeFileSync(file, JSON.stringify({ kafkaBrokers: [DEAD_KAFKA] }));
  const cases: [string[], Record<string, string>, string][] = [
    [[], { KAFKA_BROKERS: DEAD_KAFKA }, 'environment KAFKA_BROKERS'],
    [['--config', file], {}, `config file ${file}`],
  ];
  for (const [args, env, origin] of cases) {
    const out = await cli(['submit', '--task', 'summarize', '--file', doc, ...args], env);
    assert.equal(out.code, 5, out.stderr);
    const lines = out.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line: ${out.stderr}`);
    assert.ok(lines[0]!.includes(`E_KAFKA_UNREACHABLE: no answer from Kafka at ${DEAD_KAFKA} (${origin})`), lines[0]!);
    assert.match(lines[0]!, /start Kafka \(infra\/kafka\/start\.sh prints the brokers\)/);
  }
});

test('a worker whose Redis does not answer tries a bounded number of times, one line each, then exits 5', async () => {
  const out = await cli(['worker', '--log-format', 'json'], {
    REDIS_URL: DEAD_REDIS,
    KAFKA_BROKERS: DEAD_KAFKA,
    RWKVSTREAM_MODEL: tinyModel,
    RWKVSTREAM_CONNECT_ATTEMPTS: '3',
  });
  assert.equal(out.code, 5, out.stderr);
  const lines = out.stderr.trim().split('\n');
  const retries = lines.filter((l) => l.includes('retrying in'));
  assert.equal(retries.length, 2, out.stderr);
  for (const line of retries)
    assert.match(JSON.parse(line).msg, /no answer from Redis at redis:\/\/127\.0\.0\.1:9 \(environment REDIS_URL\)/);
  assert.match(
    lines.at(-1)!,
    /^rwkvstream: E_REDIS_UNREACHABLE: .*\(environment REDIS_URL\).*\(3 attempts\); start Redis/,
  );
  assert.equal(lines.length, 3, `nothing else, no stack traces: ${out.stderr}`);
});
