// A redis-server of a test's own on a free loopback port, for what must never be done to the shared one:
// restarting it without persistence, renaming CONFIG, filling it to maxmemory. Its data directory is a fresh
// temporary one; `stop` ends the server and removes it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { Redis } from 'ioredis';

/** A loopback port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export class OwnRedis {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'rwkvstream-own-redis-'));
  #child: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    readonly args: string[],
  ) {}

  /** Starts one; `args` are redis-server options (default: no persistence at all). */
  static async start(args: string[] = ['--save', '', '--appendonly', 'no']): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort(), args);
    await redis.#spawn();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async #spawn(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, ...this.args],
      { stdio: 'ignore' },
    );
    this.#child = child;
    for (let i = 0; i < 100; i++) {
      const probe = new Redis(this.url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      probe.on('error', () => {});
      const up = await probe
        .connect()
        .then(() => probe.ping())
        .then(
          () => true,
          () => false,
        );
      probe.disconnect();
      if (up) return;
      if (child.exitCode !== null) throw new Error(`redis-server on port ${this.port} exited with ${child.exitCode}`);
      await sleep(50);
    }
    throw new Error(`redis-server on port ${this.port} did not answer PING in 5 s`);
  }

  /** Kills it (SIGKILL: nothing is saved on the way out) and starts it again on the same port and directory. */
  async restart(): Promise<void> {
    await this.#kill();
    await this.#spawn();
  }

  async stop(): Promise<void> {
    await this.#kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  async #kill(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}
