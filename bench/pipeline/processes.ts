// Child processes of the benchmark: the worker (ready once it logs "worker ready"; its per-chunk debug lines
// are kept), one-shot commands, and memory readings from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface Memory {
  rssBytes: number;
  peakBytes: number;
}

/** Current and peak resident memory of a live process (Linux); null once it is gone. */
export function memoryOf(pid: number): Memory | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rssBytes: kb('VmRSS'), peakBytes: kb('VmHWM') };
  } catch {
    return null;
  }
}

export interface Worker {
  child: ChildProcess;
  logs: Record<string, unknown>[];
  metricsPort: number;
  stop(): Promise<void>;
}

export async function startWorker(entry: string, args: string[]): Promise<Worker> {
  const child = spawn(process.execPath, [entry, 'worker', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const metricsPort = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        entry = { msg: line };
      }
      logs.push(entry);
      if (entry.msg === 'worker ready') resolve(entry.metricsPort as number);
    });
    void exited.then(() =>
      reject(new Error(`the worker exited before it was ready: ${JSON.stringify(logs.slice(-5))}`)),
    );
  });
  return {
    child,
    logs,
    metricsPort,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Runs `node ARGS` to completion, sampling its peak memory; returns stdout. */
export async function runSampled(args: string[]): Promise<{ stdout: string; peakBytes: number }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  let peakBytes = 0;
  const timer = setInterval(() => {
    peakBytes = Math.max(peakBytes, memoryOf(child.pid!)?.peakBytes ?? 0);
  }, 50);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearInterval(timer);
  if (code !== 0) throw new Error(`node ${args.join(' ')} exited with ${code}`);
  return { stdout, peakBytes };
}
