// Worker processes for the tests that need real processes (crash, sharing): `rwkvstream worker` on the tiny
// model, ready once it logs "worker ready".
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

import { tinyModel } from '../../helpers/fixtures.ts';
import { cliEntry } from '../../helpers/paths.ts';
import { redisUrl } from './services.ts';

export interface WorkerProcess {
  name: string;
  pid: number;
  metricsPort: number;
  /** Parsed log lines so far. */
  logs: Record<string, unknown>[];
  exited: Promise<number | null>;
  /** Whether the process has not exited yet. */
  running(): boolean;
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM and wait for a clean exit. */
  stop(): Promise<number | null>;
}

export interface WorkerProcessOptions {
  name: string;
  brokers: string[];
  prefix: string;
  topicPrefix: string;
  groupId: string;
  args?: string[];
  /** The Redis the worker uses (default: the shared test Redis). */
  redis?: string;
  /** Extra environment variables of the worker process. */
  env?: NodeJS.ProcessEnv;
  /** Called as soon as the process exists, before it is ready (a worker takes jobs before its Kafka consumer joins). */
  onSpawn?: (worker: StartingWorker) => void;
}

export type StartingWorker = Pick<WorkerProcess, 'name' | 'pid' | 'logs' | 'exited' | 'running' | 'kill'>;

export async function spawnWorker(options: WorkerProcessOptions): Promise<WorkerProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      cliEntry,
      'worker',
      '--model',
      tinyModel,
      '--redis',
      options.redis ?? redisUrl,
      // No brokers: a worker without Kafka, reading the Redis inbox queue.
      ...(options.brokers.length > 0 ? ['--kafka', options.brokers.join(',')] : []),
      '--prefix',
      options.prefix,
      '--topic-prefix',
      options.topicPrefix,
      '--group-id',
      options.groupId,
      '--name',
      options.name,
      '--metrics-port',
      '0',
      '--threads',
      '1',
      '--log-level',
      'info',
      // The shared test Redis runs without persistence (README, "Reliability").
      '--allow-volatile-redis',
      ...(options.args ?? []),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], ...(options.env ? { env: { ...process.env, ...options.env } } : {}) },
  );
  const logs: Record<string, unknown>[] = [];
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      // Last in the log, so a test that finds a worker gone can say how it ended.
      logs.push({ msg: 'process exited', code, signal });
      resolve(code);
    }),
  );
  const running = () => child.exitCode === null && child.signalCode === null;
  const starting: StartingWorker = {
    name: options.name,
    pid: child.pid!,
    logs,
    exited,
    running,
    kill: (signal) => void child.kill(signal),
  };
  options.onSpawn?.(starting);
  const ready = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`worker ${options.name} not ready in 60 s: ${JSON.stringify(logs.slice(-5))}`)),
      60_000,
    );
    createInterface({ input: child.stderr! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        entry = { msg: line };
      }
      logs.push(entry);
      if (entry.msg === 'worker ready') {
        clearTimeout(timer);
        resolve(entry.metricsPort as number);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(
        new Error(`worker ${options.name} exited with ${code} before it was ready: ${JSON.stringify(logs.slice(-5))}`),
      );
    });
  });
  const metricsPort = await ready;
  // The same object onSpawn saw, so a ready worker can be found among the starting ones it was tracked as.
  return Object.assign(starting, {
    metricsPort,
    stop: async () => {
      if (running()) child.kill('SIGTERM');
      return exited;
    },
  });
}
