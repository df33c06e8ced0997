// A fault-suite run cut off by a signal (a timeout's SIGTERM, Ctrl-C) stops the services it started: here a
// scenario Redis, started through the real infra script, is gone after SIGTERM, and the run exits 143.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { repoRoot } from '../helpers/paths.ts';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};

test('SIGTERM to a run stops the scenario Redis it started, then exits 143', { timeout: 120_000 }, async () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'rwkvstream-interrupt-'));
  const port = await freePort();
  let pid: number | null = null;
  try {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'test', 'faults', 'interrupt-probe.ts'), String(port), tmp],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('up') && resolve());
      void exited.then((code) => reject(new Error(`the probe exited with ${code}: ${stderr}`)));
    });
    pid = Number(readFileSync(path.join(tmp, `redis-${port}`, 'redis.pid'), 'utf8').trim());
    assert.ok(alive(pid), 'the scenario Redis runs');
    child.kill('SIGTERM');
    assert.equal(await exited, 143, stderr);
    assert.ok(!alive(pid), `the scenario Redis (pid ${pid}) was stopped: ${stderr}`);
    assert.match(stderr, new RegExp(`stopping the scenario Redis on port ${port}`));
  } finally {
    if (pid !== null && alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  }
});
