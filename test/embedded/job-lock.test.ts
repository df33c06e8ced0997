// The job directory's lock and privacy: processes racing for one job (with no lock, a stale one, one of a
// reused pid) — exactly one gets it; a lock is broken only when its owner is verifiably gone; directories
// are 0700 and files 0600; a checkpoint directory that cannot exist (/proc) fails at once with E_CHECKPOINT_DIR.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { EMBEDDED_FORMAT, type DocumentJob } from '../../schemas/embedded.ts';
import { SummarizeTaskSchema } from '../../schemas/tasks.ts';
import { nodeFileOps } from '../../services/adapters/files/atomic-file.ts';
import { JobDir, jobKey } from '../../services/adapters/files/job-dir.ts';
import { processStart } from '../../services/adapters/files/job-lock.ts';
import { makePrivateDir } from '../../services/adapters/files/private-dir.ts';
import { FileStateStore } from '../../services/adapters/files/state-store.ts';
import { tinyModel } from '../helpers/fixtures.ts';
import { cli, isolatedEnv, tempDir } from './helpers.ts';

const racer = fileURLToPath(new URL('./lock-racer.ts', import.meta.url));

/** The description lock-racer.ts uses: the racers and this test name the same directory. */
const description: DocumentJob = {
  format: EMBEDDED_FORMAT,
  command: 'summarize',
  id: 'doc.txt',
  source: 'doc.txt',
  sha256: 'b'.repeat(64),
  bytes: 100,
  task: SummarizeTaskSchema.parse({ kind: 'summarize' }),
  chunkTokens: 4096,
  model: { version: 'x070', fingerprint: '1111111111111111' },
  tokenizer: { kind: 'bytes', fingerprint: '2222222222222222' },
  weights: 'f32',
  device: 'cpu',
};

const mode = (file: string) => statSync(file).mode & 0o777;
const deadPid = () =>
  Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());

interface Outcome {
  took: boolean;
  tried: number;
  from?: number;
  until?: number;
  code?: string;
}

function race(root: string, contenders: number): Promise<Outcome[]> {
  const startAt = Date.now() + 6000;
  return Promise.all(
    Array.from(
      { length: contenders },
      () =>
        new Promise<Outcome>((resolve, reject) => {
          execFile(
            process.execPath,
            ['--import', 'tsx', racer, root, String(startAt), '4000'],
            (err, stdout, stderr) => {
              if (err) reject(new Error(`${err.message}\n${stderr}`));
              else resolve(JSON.parse(stdout) as Outcome);
            },
          );
        }),
    ),
  );
}

test('processes racing for one job: never two hold it at once, whatever lock was left before', {
  timeout: 300_000,
}, async () => {
  const root = tempDir('lock-race');
  const dir = path.join(root, jobKey(description));
  const lock = path.join(dir, 'lock');
  const leftovers: [string, () => void][] = [
    ['no lock', () => {}],
    [
      'a lock of a dead process',
      () => writeFileSync(lock, `${JSON.stringify({ pid: deadPid(), start: null, host: os.hostname() })}\n`),
    ],
    ['an older-format lock of a dead process', () => writeFileSync(lock, `${deadPid()} ${os.hostname()}\n`)],
    [
      'a lock whose pid now belongs to another process',
      () =>
        writeFileSync(lock, `${JSON.stringify({ pid: process.pid, start: 'another-boot/1', host: os.hostname() })}\n`),
    ],
    ['an empty lock', () => writeFileSync(lock, '')],
  ];
  let contested = 0;
  for (const [label, leave] of leftovers) {
    mkdirSync(dir, { recursive: true });
    leave();
    const outcomes = await race(root, 5);
    const holders = outcomes.filter((o) => o.took).sort((a, b) => a.from! - b.from!);
    assert.ok(holders.length >= 1, `${label}: someone took it (${JSON.stringify(outcomes)})`);
    for (let i = 1; i < holders.length; i++) {
      assert.ok(
        holders[i]!.from! >= holders[i - 1]!.until!,
        `${label}: two held the lock at once: ${JSON.stringify(holders)}`,
      );
    }
    for (const o of outcomes.filter((o) => !o.took)) assert.equal(o.code, 'E_JOB_BUSY', label);
    // Tries made while the first holder held it: those are the race (a process that started late may
    // legitimately take the lock after it was given back).
    const first = holders[0]!;
    contested += outcomes.filter((o) => o !== first && o.tried < first.until!).length;
    assert.deepEqual(
      readdirSync(dir).filter((name) => name.startsWith('lock')),
      [],
      `${label}: the lock and its helpers are gone`,
    );
  }
  assert.ok(contested >= leftovers.length, `the lock was contested (${contested} tries against a holder)`);
});

test('a lock is broken only when its owner is verifiably gone', async () => {
  const root = tempDir('lock-owner');
  const dir = path.join(root, jobKey(description));
  mkdirSync(dir, { recursive: true });
  const lock = path.join(dir, 'lock');
  const parent = { pid: process.ppid, start: processStart(process.ppid), host: os.hostname() };
  assert.ok(parent.start !== null, 'the system tells when a process started');

  writeFileSync(lock, `${JSON.stringify(parent)}\n`);
  await assert.rejects(
    JobDir.open(root, description),
    (err: Error & { code?: string }) => err.code === 'E_JOB_BUSY' && err.message.includes(`pid ${process.ppid}`),
  );
  writeFileSync(lock, `${JSON.stringify({ ...parent, host: 'another-host' })}\n`);
  await assert.rejects(JobDir.open(root, description), /locked by process \d+ on another-host/);

  // The same pid, started at another time: the pid was reused, the owner is gone.
  writeFileSync(lock, `${JSON.stringify({ ...parent, start: `${parent.start}0` })}\n`);
  const job = await JobDir.open(root, description);
  const owner = JSON.parse(readFileSync(lock, 'utf8'));
  assert.deepEqual(owner, { pid: process.pid, start: processStart(process.pid), host: os.hostname() });
  await job.release();
  assert.ok(!existsSync(lock));

  // Release gives back only its own lock.
  const again = await JobDir.open(root, description);
  writeFileSync(lock, `${JSON.stringify(parent)}\n`);
  await again.release();
  assert.ok(existsSync(lock), 'a lock that is no longer ours is left alone');
});

test('checkpoint directories are 0700 and their files 0600', async () => {
  const base = tempDir('private');
  const root = path.join(base, 'a', 'checkpoints');
  const job = await JobDir.open(root, description);
  for (const dir of [path.join(base, 'a'), root, job.path]) assert.equal(mode(dir), 0o700, dir);
  for (const name of readdirSync(job.path)) assert.equal(mode(path.join(job.path, name)), 0o600, name);
  // A state checkpoint written through the store is private too.
  const states = await FileStateStore.open(job.path, nodeFileOps);
  const key = { kind: 'document', id: 'doc.txt' } as const;
  await states.commit(key, 0, {
    blob: new Uint8Array([1, 2, 3]),
    chunk: 1,
    tokens: 3,
    cursor: 0,
    result: null,
    writer: 'test',
  });
  const files = readdirSync(job.path);
  assert.ok(files.length > 2, files.join(', '));
  for (const name of files) assert.equal(mode(path.join(job.path, name)), 0o600, name);
  await job.release();

  // A job directory an older version made readable by others becomes private when it is opened again.
  chmodSync(job.path, 0o755);
  const reopened = await JobDir.open(root, description);
  assert.equal(mode(reopened.path), 0o700);
  await reopened.release();
});

test('a checkpoint directory under /proc fails at once with E_CHECKPOINT_DIR', { timeout: 60_000 }, async () => {
  await assert.rejects(makePrivateDir('/proc/rwkvstream-x/y'), (err: NodeJS.ErrnoException) => err.code === 'ENOENT');
  await assert.rejects(
    JobDir.open('/proc/rwkvstream-x', description),
    (err: Error & { code?: string }) => err.code === 'E_CHECKPOINT_DIR',
  );

  const home = tempDir('home');
  const doc = path.join(home, 'doc.txt');
  writeFileSync(doc, 'The river rose after three days of rain.\n');
  const run = await cli(['summarize', doc, '--model', tinyModel, '--checkpoint-dir', '/proc/x', '--quiet'], {
    env: isolatedEnv(home),
  });
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /E_CHECKPOINT_DIR: cannot use the checkpoint directory \/proc\/x/);
});
