// Shared by the embedded-mode tests: temporary directories, a disk that fails on demand, a process that "dies"
// at a chosen write, and running the CLI.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { nodeFileOps, type FileOps, type WritableFile } from '../../services/embedded/index.ts';
import { cliEntry } from '../helpers/paths.ts';

/** The CLI's environment for a test: no downloads and no user configuration; everything a run needs is given. */
export function isolatedEnv(home: string): NodeJS.ProcessEnv {
  return {
    RWKVSTREAM_HOME: home,
    RWKVSTREAM_OFFLINE: '1',
    RWKVSTREAM_MODEL: '',
    RWKVSTREAM_VOCAB: '',
    RWKVSTREAM_CONFIG: '',
    RWKVSTREAM_CHECKPOINT_DIR: '',
    RWKVSTREAM_CHUNK_TOKENS: '',
  };
}

export function tempDir(label: string): string {
  return mkdtempSync(path.join(tmpdir(), `rwkvstream-${label}-`));
}

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: simulated`), { code });

export type FailingStep = 'open' | 'write' | 'sync' | 'rename';

/** Node's file operations, except that the steps `fails` picks throw `code` (ENOSPC: a full disk). */
export function failingOps(
  fails: (step: FailingStep, file: string) => boolean,
  code = 'ENOSPC',
): FileOps & { failures: string[] } {
  const failures: string[] = [];
  const check = (step: FailingStep, file: string) => {
    if (!fails(step, file)) return;
    failures.push(`${step} ${path.basename(file)}`);
    throw errno(code);
  };
  return {
    failures,
    open: async (file, flags) => {
      check('open', file);
      const handle = await nodeFileOps.open(file, flags);
      const wrapped: WritableFile = {
        writeFile: async (data) => {
          check('write', file);
          await handle.writeFile(data);
        },
        sync: async () => {
          check('sync', file);
          await handle.sync();
        },
        close: () => handle.close(),
      };
      return wrapped;
    },
    rename: async (from, to) => {
      check('rename', to);
      await nodeFileOps.rename(from, to);
    },
    unlink: (file) => nodeFileOps.unlink(file),
  };
}

/**
 * A process that is killed after `steps` file operations: that one and everything after it (cleanups too)
 * fail, so the disk is left exactly as a kill at that moment would leave it.
 */
export function dyingOps(steps: number): FileOps & { dead: () => boolean } {
  let done = 0;
  const step = () => {
    if (++done > steps) throw errno('EKILLED');
  };
  return {
    dead: () => done > steps,
    open: async (file, flags) => {
      step();
      const handle = await nodeFileOps.open(file, flags);
      return {
        writeFile: async (data) => {
          step();
          await handle.writeFile(data);
        },
        sync: async () => {
          step();
          await handle.sync();
        },
        close: () => handle.close(),
      };
    },
    rename: async (from, to) => {
      step();
      await nodeFileOps.rename(from, to);
    },
    unlink: async (file) => {
      step();
      await nodeFileOps.unlink(file);
    },
  };
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  stdin?: string | Buffer;
  /** Runs the CLI through `sh -c 'ulimit -f BLOCKS; exec ...'` (a file size limit: writes beyond it fail). */
  fileSizeLimitBlocks?: number;
}

function command(args: string[], options: CliOptions): [string, string[]] {
  if (options.fileSizeLimitBlocks === undefined) return [process.execPath, [cliEntry, ...args]];
  const quoted = [process.execPath, cliEntry, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return ['sh', ['-c', `ulimit -f ${options.fileSizeLimitBlocks} && exec ${quoted}`]];
}

/** Runs the CLI to its end, whatever its exit status. */
export function cli(args: string[], options: CliOptions = {}): Promise<CliRun> {
  const [file, argv] = command(args, options);
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      argv,
      { env: { ...process.env, ...options.env }, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const failure = err as (Error & { code?: unknown; signal?: NodeJS.Signals | null }) | null;
        if (failure && typeof failure.code !== 'number' && !failure.signal) {
          reject(err);
          return;
        }
        resolve({ code: child.exitCode, signal: child.signalCode, stdout, stderr });
      },
    );
    if (options.stdin !== undefined) child.stdin!.end(options.stdin);
    else child.stdin!.end();
  });
}

export interface Started {
  child: ChildProcess;
  done: Promise<CliRun>;
}

/** Starts the CLI and returns at once; `done` settles when it exits. */
export function startCli(args: string[], options: CliOptions = {}): Started {
  const child = spawn(process.execPath, [cliEntry, ...args], { env: { ...process.env, ...options.env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(options.stdin ?? '');
  const done = new Promise<CliRun>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

/** The job directories under a checkpoint directory. */
export function jobDirs(checkpointDir: string): string[] {
  try {
    return readdirSync(checkpointDir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => path.join(checkpointDir, d.name));
  } catch {
    return [];
  }
}

/** The committed head of the (only) state in a checkpoint directory, or null when there is none yet. */
export function committedHead(
  checkpointDir: string,
): { chunk: number; cursor: number; version: number; blob: string; dir: string } | null {
  for (const dir of jobDirs(checkpointDir)) {
    const head = readdirSync(dir).find((name) => name.endsWith('.head.json'));
    if (!head) continue;
    try {
      return { ...JSON.parse(readFileSync(path.join(dir, head), 'utf8')), dir };
    } catch {
      // Being replaced right now (rename is atomic, but the listing may be stale): look again.
    }
  }
  return null;
}

/**
 * Waits until the running CLI has committed at least `chunks` checkpoints (polling the directory), and fails if
 * it exits first: the caller then knows the process is in the middle of its work when it interrupts it.
 */
export async function waitForCheckpoint(started: Started, checkpointDir: string, chunks: number): Promise<void> {
  let exited = false;
  void started.done.then(() => (exited = true));
  for (;;) {
    const head = committedHead(checkpointDir);
    if (head && head.chunk >= chunks) return;
    if (exited) {
      const run = await started.done;
      throw new Error(
        `the CLI exited (${run.code ?? run.signal}) before committing ${chunks} checkpoints: ${run.stderr}`,
      );
    }
    await sleep(10);
  }
}
